"""The corridor isochrone, retired from :mod:`routing.isochrones` in issue 12 and kept here as the reference that
bench/bench_isochrones.py measures the contoured polygon (:func:`routing.isochrones.isochrone`) against.

The reached road network — every edge whose start node is reached, cut where the remaining time runs out — becomes
a set of lines, each buffered (a corridor of ``buffer_m`` each side) and merged with one cascaded ``union_all``.
Measured on inner Stockholm (13 000 lines), GEOS buffers one big MultiLineString ~20× slower (14 s vs 0.6 s) than
this, because it nodes the whole arrangement at once. Holes smaller than ``max_hole_m2`` are filled, islands (e.g.
reached across a bridge) are kept. Defaults come from the ``isochrone`` section of ``data/speeds.yaml``. All
geometry is in EPSG:3006.

Not a benchmark itself: the scripts put the repository root on ``sys.path`` and import this as ``bench.corridor``.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from core.settings import get_settings
from routing.network import RoadNetwork
from routing.snapping import Snap
from routing.speeds import load_speed_model

QUAD_SEGS = 2
"""Segments per quarter circle of the buffer's round ends (shape detail vs speed)."""


def _defaults() -> dict[str, float]:
    return load_speed_model(get_settings().speeds_file).isochrone


def _vertex_distance(net: RoadNetwork) -> np.ndarray:
    """Distance (m) of every geometry vertex from its edge's start, cached on the network."""
    if "vertex_m" not in net._cache:
        xy = net.geom_xy
        seg = np.zeros(len(xy))
        seg[1:] = np.hypot(np.diff(xy[:, 0]), np.diff(xy[:, 1]))
        seg[net.geom_offsets[:-1]] = 0.0  # first vertex of every edge
        cum = np.cumsum(seg)
        starts = net.geom_offsets[:-1]
        cum -= np.repeat(cum[starts], np.diff(net.geom_offsets))
        net._cache["vertex_m"] = cum
    return net._cache["vertex_m"]


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(start, start + count)`` for every pair, without a Python loop."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    shift = np.repeat(starts - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
    return np.arange(total) + shift


def reached_lines(net: RoadNetwork, tree: np.ndarray, limit_s: float) -> BaseGeometry:
    """The road network reached within ``limit_s`` as one MultiLineString (EPSG:3006).

    Parameters
    ----------
    net : RoadNetwork
    tree : ndarray, shape (n_nodes,)
        Travel times (s) from the source (see :func:`routing.trees.drive_time_tree`).
    limit_s : float
        Time budget (s).

    Returns
    -------
    shapely MultiLineString
        Fully reached edges and the reached part of the last edges (ferries excluded).
    """
    start = tree[net.edge_u]
    ok = (start <= limit_s) & ~net.edge_ferry
    time = net.edge_time_s
    full = ok & (start + time <= limit_s)
    partial = ok & ~full
    rev = net.edge_rev
    twin_drawn = (rev >= 0) & full[np.maximum(rev, 0)] & (rev < np.arange(net.n_edges))
    full &= ~twin_drawn  # a two-way road reached both ways is drawn once
    offsets = net.geom_offsets
    counts = np.diff(offsets)

    full_e = np.flatnonzero(full)
    full_v = _ranges(offsets[full_e], counts[full_e])
    full_idx = np.repeat(np.arange(len(full_e)), counts[full_e])

    part_e = np.flatnonzero(partial)
    vertex_m = _vertex_distance(net)
    length = vertex_m[offsets[part_e + 1] - 1]
    cut = np.where(time[part_e] > 0, (limit_s - start[part_e]) / time[part_e], 1.0) * length
    verts = _ranges(offsets[part_e], counts[part_e])
    owner = np.repeat(np.arange(len(part_e)), counts[part_e])
    keep = vertex_m[verts] < cut[owner]
    verts, owner = verts[keep], owner[keep]
    n_kept = np.bincount(owner, minlength=len(part_e))
    last = offsets[part_e] + n_kept - 1
    seg = np.maximum(vertex_m[last + 1] - vertex_m[last], 1e-12)
    w = ((cut - vertex_m[last]) / seg)[:, None]
    end_xy = net.geom_xy[last] * (1 - w) + net.geom_xy[last + 1] * w

    # Partial lines: kept vertices then the cut point, grouped by edge (owner is sorted).
    part_xy = np.concatenate([net.geom_xy[verts], end_xy])
    part_idx = np.concatenate([owner, np.arange(len(part_e))])
    order = np.argsort(part_idx, kind="stable")
    xy = np.concatenate([net.geom_xy[full_v], part_xy[order]])
    idx = np.concatenate([full_idx, part_idx[order] + len(full_e)])
    if len(idx) == 0:
        return shapely.MultiLineString()
    lines = shapely.linestrings(xy, indices=idx)
    return shapely.multilinestrings(lines)


def corridor_isochrone(
    net: RoadNetwork,
    tree: np.ndarray,
    limit_s: float,
    buffer_m: float | None = None,
    max_hole_m2: float | None = None,
    origin: Snap | None = None,
    simplify_m: float | None = None,
) -> BaseGeometry:
    """The corridor polygon (until issue 12): reached roads buffered by ``buffer_m`` and merged, in EPSG:3006.

    Kept as the reference the contoured :func:`routing.isochrones.isochrone` is measured against
    (bench/bench_isochrones.py); about 100× slower.

    Parameters
    ----------
    net : RoadNetwork
    tree : ndarray, shape (n_nodes,)
        Travel times (s) from the source.
    limit_s : float
        Time budget (s).
    buffer_m : float, optional
        Corridor half-width (m) around reached roads; default from ``speeds.yaml``.
    max_hole_m2 : float, optional
        Holes smaller than this (m²) are filled; default from ``speeds.yaml``.
    origin : Snap, optional
        The source point; the polygon then always contains it.
    simplify_m : float, optional
        Line simplification tolerance (m) before buffering; default from ``speeds.yaml``.

    Returns
    -------
    shapely Polygon or MultiPolygon
        Empty when nothing is reached.
    """
    defaults = _defaults()
    buffer_m = defaults.get("buffer_m", 50.0) if buffer_m is None else buffer_m
    max_hole_m2 = defaults.get("max_hole_m2", 0.0) if max_hole_m2 is None else max_hole_m2
    simplify_m = defaults.get("simplify_m", 0.0) if simplify_m is None else simplify_m
    lines = reached_lines(net, tree, limit_s)
    if simplify_m > 0:
        lines = shapely.simplify(lines, simplify_m, preserve_topology=False)
    parts = list(shapely.get_parts(lines))
    # Nodes reached only through the source's virtual arcs are not the end of any reached edge.
    reached = tree <= limit_s
    covered = np.zeros(net.n_nodes, dtype=bool)
    covered[net.edge_v[(tree[net.edge_u] + net.edge_time_s <= limit_s) & ~net.edge_ferry]] = True
    lonely = np.flatnonzero(reached & ~covered)
    extra = list(shapely.points(net.node_x[lonely], net.node_y[lonely]))
    if origin is not None:
        extra.append(shapely.Point(origin.x, origin.y))
    parts.extend(extra)
    if not parts:
        return shapely.Polygon()
    geom = shapely.union_all(shapely.buffer(np.array(parts, dtype=object), buffer_m, quad_segs=QUAD_SEGS))
    return fill_holes(geom, max_hole_m2)


def fill_holes(geom: BaseGeometry, max_hole_m2: float) -> BaseGeometry:
    """Remove interior rings smaller than ``max_hole_m2`` (m²) from a (Multi)Polygon."""
    if geom.is_empty or max_hole_m2 <= 0:
        return geom
    polygons = []
    for poly in shapely.get_parts(geom):
        holes = [r for r in poly.interiors if shapely.Polygon(r).area >= max_hole_m2]
        polygons.append(shapely.Polygon(poly.exterior, holes))
    return polygons[0] if len(polygons) == 1 else shapely.MultiPolygon(polygons)
