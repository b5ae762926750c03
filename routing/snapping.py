"""Snap points (EPSG:3006) to the nearest drivable edge of a :class:`~routing.network.RoadNetwork`.

Motorways and their ramps (``RoadNetwork.snap_exclude``, from ``speeds.yaml``) and ferries are never snap
targets: a home beside Essingeleden is reached from the street it stands on. Of the two directed edges of
a two-way road only one is indexed; :mod:`routing.trees` uses ``edge_rev`` for the other direction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from routing.network import RoadNetwork


@dataclass(frozen=True)
class Snap:
    """A point snapped to an edge.

    Attributes
    ----------
    edge : int
        Directed edge index (``edge_u → edge_v``).
    fraction : float
        Position along the edge geometry from ``edge_u`` (0) to ``edge_v`` (1).
    distance_m : float
        Distance from the input point to the edge (m).
    x, y : float
        The snapped point (EPSG:3006, m).
    far : bool
        True when ``distance_m`` exceeds the warning distance (``settings.snap_warning_m``).
    """

    edge: int
    fraction: float
    distance_m: float
    x: float
    y: float
    far: bool


@dataclass(frozen=True)
class SnapArray:
    """Many snaps as parallel arrays (fields as in :class:`Snap`)."""

    edge: np.ndarray
    fraction: np.ndarray
    distance_m: np.ndarray
    x: np.ndarray
    y: np.ndarray
    far: np.ndarray

    def __len__(self) -> int:
        return int(self.edge.shape[0])

    def __getitem__(self, i: int) -> Snap:
        return Snap(int(self.edge[i]), float(self.fraction[i]), float(self.distance_m[i]),
                    float(self.x[i]), float(self.y[i]), bool(self.far[i]))

    @classmethod
    def from_snaps(cls, snaps: Snap | SnapArray | list[Snap]) -> SnapArray:
        """Wrap one snap, a list of snaps or an existing array."""
        if isinstance(snaps, SnapArray):
            return snaps
        if isinstance(snaps, Snap):
            snaps = [snaps]
        return cls(
            np.array([s.edge for s in snaps], dtype=np.int64), np.array([s.fraction for s in snaps], dtype=float),
            np.array([s.distance_m for s in snaps], dtype=float), np.array([s.x for s in snaps], dtype=float),
            np.array([s.y for s in snaps], dtype=float), np.array([s.far for s in snaps], dtype=bool),
        )


def snap_candidates(net: RoadNetwork) -> np.ndarray:
    """Indices of the edges points may snap to (not excluded, not ferries, one per two-way road)."""
    allowed = ~np.isin(net.edge_class, list(net.snap_exclude)) & ~net.edge_ferry
    first_of_pair = (net.edge_rev < 0) | (np.arange(net.n_edges) < net.edge_rev)
    return np.flatnonzero(allowed & first_of_pair)


def build_snap_index(net: RoadNetwork) -> tuple[shapely.STRtree, np.ndarray]:
    """The STRtree over snap candidates and the candidate edge indices (cached on the network)."""
    if "strtree" not in net._cache:
        candidates = snap_candidates(net)
        if len(candidates) == 0:
            raise ValueError("The network has no edge a point may snap to (all excluded by snap_exclude).")
        net._cache["strtree"] = (shapely.STRtree(net.edge_geometries()[candidates]), candidates)
    return net._cache["strtree"]


def snap_many(net: RoadNetwork, xs: np.ndarray, ys: np.ndarray, far_m: float | None = None) -> SnapArray:
    """Snap points to their nearest allowed edge.

    Parameters
    ----------
    net : RoadNetwork
    xs, ys : array-like of float
        Point coordinates in EPSG:3006 (m).
    far_m : float, optional
        Distance (m) above which a snap is flagged ``far``; defaults to ``net.snap_warning_m`` (the setting).

    Returns
    -------
    SnapArray
    """
    far_m = net.snap_warning_m if far_m is None else far_m
    xs = np.atleast_1d(np.asarray(xs, dtype=np.float64))
    ys = np.atleast_1d(np.asarray(ys, dtype=np.float64))
    if xs.shape != ys.shape or not np.isfinite(xs).all() or not np.isfinite(ys).all():
        raise ValueError("xs and ys must be finite coordinate arrays of the same shape (EPSG:3006, m).")
    tree, candidates = build_snap_index(net)
    points = shapely.points(xs, ys)
    (src, hit), distance = tree.query_nearest(points, return_distance=True, all_matches=False)
    order = np.argsort(src)
    edge = candidates[hit[order]]
    lines = net.edge_geometries()[edge]
    fraction = np.nan_to_num(shapely.line_locate_point(lines, points, normalized=True), nan=0.0)
    fraction = np.clip(fraction, 0.0, 1.0)
    snapped = shapely.get_coordinates(shapely.line_interpolate_point(lines, fraction, normalized=True))
    distance = distance[order]
    return SnapArray(edge.astype(np.int64), fraction, distance, snapped[:, 0], snapped[:, 1], distance > far_m)


def snap(net: RoadNetwork, x: float, y: float, far_m: float | None = None) -> Snap:
    """Snap one point (EPSG:3006, m) to its nearest allowed edge; see :func:`snap_many`."""
    return snap_many(net, [x], [y], far_m)[0]


def nearest_node(net: RoadNetwork, x: float, y: float) -> int:
    """Index of the network node nearest to a point (EPSG:3006, m); any node, including motorway ones."""
    return int(np.argmin((net.node_x - x) ** 2 + (net.node_y - y) ** 2))
