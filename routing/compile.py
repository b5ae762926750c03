"""Compiling a normalised road graph (:mod:`routing.loaders`) into a :class:`routing.network.RoadNetwork`.

Done once at prepare time (:mod:`routing.prepare`): nodes and edges become flat arrays, edge geometries one
coordinate array oriented from ``edge_u`` to ``edge_v``, and the two directions of a two-way road are paired
(``edge_rev``). Everything is in EPSG:3006 metres.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import shapely

from core.settings import METRIC_CRS
from routing.network import RoadNetwork

REVERSE_LENGTH_TOLERANCE_M = 1.0
"""Two opposite edges are one two-way road when their lengths differ by less than this (m) + 1 %."""


def compile_network(
    G: nx.MultiDiGraph, profiles: dict, profile: str = "free_flow", snap_exclude: tuple[str, ...] = (),
    checksum: str = "",
) -> RoadNetwork:
    """Compile a normalised graph (see :mod:`routing.loaders`) into a :class:`RoadNetwork`.

    Parameters
    ----------
    G : nx.MultiDiGraph
        EPSG:3006, edges with ``length`` (m), ``speed_kph``, ``highway``, ``ferry``, ``travel_time`` (s).
    profiles : dict
        Profile name → (default factor, {class: factor}), e.g. ``SpeedModel.profiles``.
    profile : str
        Active profile.
    snap_exclude : tuple of str
        Classes a point may not snap to.
    checksum : str
        Checksum of the inputs, stored for stale-cache detection.

    Returns
    -------
    RoadNetwork
    """
    if str(G.graph.get("crs", "")).upper() != METRIC_CRS:
        raise ValueError(f"compile_network expects a graph in {METRIC_CRS}; got {G.graph.get('crs')!r}.")
    ids = list(G.nodes)
    index = {n: i for i, n in enumerate(ids)}
    node_x = np.array([G.nodes[n]["x"] for n in ids], dtype=np.float64)
    node_y = np.array([G.nodes[n]["y"] for n in ids], dtype=np.float64)
    rows = [
        (index[u], index[v], d["length"], d["speed_kph"], d["highway"], d.get("ferry", False),
         d["travel_time"] if d.get("ferry", False) else 0.0, str(d.get("name", "") or ""), d.get("geometry"))
        for u, v, d in G.edges(data=True)
    ]
    u, v, length, speed, cls, ferry, fixed, name, geoms = (list(c) for c in zip(*rows, strict=True))
    edge_u = np.array(u, dtype=np.int32)
    edge_v = np.array(v, dtype=np.int32)
    geom_xy, offsets = _geometry_arrays(geoms, node_x, node_y, edge_u, edge_v)
    edge_length = np.array(length, dtype=np.float64)
    edge_class = np.array(cls, dtype=str)
    return RoadNetwork(
        node_x=node_x, node_y=node_y, node_id=_id_array(ids), edge_u=edge_u, edge_v=edge_v,
        edge_length_m=edge_length, edge_speed_kph=np.array(speed, dtype=np.float64), edge_class=edge_class,
        edge_ferry=np.array(ferry, dtype=bool), edge_fixed_s=np.array(fixed, dtype=np.float64),
        edge_rev=_reverse_edges(edge_u, edge_v, edge_length, edge_class), edge_name=np.array(name, dtype=str),
        geom_xy=geom_xy, geom_offsets=offsets, profiles={k: list(p) for k, p in profiles.items()},
        profile=profile, source=str(G.graph.get("source", "")), checksum=checksum, snap_exclude=tuple(snap_exclude),
    )


def _id_array(ids: list) -> np.ndarray:
    try:
        return np.array(ids, dtype=np.int64)
    except (ValueError, TypeError, OverflowError):
        return np.array([str(i) for i in ids], dtype=str)


def _geometry_arrays(
    geoms: list, node_x: np.ndarray, node_y: np.ndarray, edge_u: np.ndarray, edge_v: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Flatten edge geometries (straight u→v segment when missing), oriented from u to v."""
    geoms = np.array(geoms, dtype=object)
    missing = np.array([g is None for g in geoms])
    if missing.any():
        pts = np.stack(
            [np.c_[node_x[edge_u[missing]], node_y[edge_u[missing]]], np.c_[node_x[edge_v[missing]], node_y[edge_v[missing]]]],
            axis=1,
        )
        geoms[missing] = shapely.linestrings(pts)
    first = shapely.get_coordinates(shapely.get_point(geoms, 0))
    d_u = np.hypot(first[:, 0] - node_x[edge_u], first[:, 1] - node_y[edge_u])
    d_v = np.hypot(first[:, 0] - node_x[edge_v], first[:, 1] - node_y[edge_v])
    flipped = np.flatnonzero(d_v < d_u)
    if len(flipped):
        geoms[flipped] = shapely.reverse(geoms[flipped])
    coords, idx = shapely.get_coordinates(geoms, return_index=True)
    offsets = np.zeros(len(geoms) + 1, dtype=np.int64)
    np.cumsum(np.bincount(idx, minlength=len(geoms)), out=offsets[1:])
    return coords.astype(np.float64), offsets


def _reverse_edges(u: np.ndarray, v: np.ndarray, length: np.ndarray, cls: np.ndarray) -> np.ndarray:
    """For each edge, the opposite edge of the same road (same class, ~same length), or -1."""
    edges = pd.DataFrame({"e": np.arange(len(u)), "u": u, "v": v, "len": length, "cls": cls})
    pairs = edges.merge(edges, left_on=["u", "v", "cls"], right_on=["v", "u", "cls"], suffixes=("", "_r"))
    pairs = pairs[pairs["e"] < pairs["e_r"]]
    diff = (pairs["len"] - pairs["len_r"]).abs()
    pairs = pairs[diff <= REVERSE_LENGTH_TOLERANCE_M + 0.01 * pairs["len"]].assign(diff=diff)
    pairs = pairs.sort_values(["diff", "e", "e_r"])
    rev = np.full(len(u), -1, dtype=np.int32)
    # Greedy one-to-one matching (closest lengths first) so that rev[rev[e]] == e.
    for a, b in zip(pairs["e"].to_numpy(), pairs["e_r"].to_numpy(), strict=True):
        if rev[a] < 0 and rev[b] < 0:
            rev[a], rev[b] = b, a
    return rev
