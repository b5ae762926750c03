"""Drive-time trees: shortest travel times (s) from snapped points over a :class:`RoadNetwork`.

A source point on edge ``u → v`` at fraction ``f`` becomes a virtual node with two outgoing arcs: to ``v``
costing ``(1 - f) · t(u→v)`` and, on a two-way road, to ``u`` costing ``f · t(v→u)``. One Dijkstra run
(scipy ``csgraph``) from all virtual nodes at once gives exact times to every node. Times to a target
point add the partial edge from the node before it, in whichever direction the road allows.

Inbound trees (time from every node *to* the point: a patient driven to a base) run the same Dijkstra on the
transposed matrix (every arc reversed, cached per profile); the virtual node then has arcs to ``u`` costing
``f · t(u→v)`` (from ``u`` one drives forward onto the point) and, on a two-way road, to ``v`` costing
``(1 - f) · t(v→u)``. One-way streets make the two directions differ; on a symmetric network they are equal.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import scipy.sparse as sp

from routing.network import RoadNetwork
from routing.snapping import Snap, SnapArray, snap_many

Direction = Literal["outbound", "inbound"]
"""Outbound: time from the source to every place (the provider drives out). Inbound: time from every place to
the source (towards a base)."""


def _verify_direction(direction: str) -> None:
    if direction not in ("outbound", "inbound"):
        raise ValueError(f"direction must be 'outbound' (from the source) or 'inbound' (to it), not {direction!r}.")


def reverse_csr(net: RoadNetwork) -> sp.csr_matrix:
    """The transposed travel-time matrix of ``net``'s profile (row node ← column node), cached on the network."""
    key = ("reverse_csr", net.profile)
    if key not in net._cache:
        net._cache[key] = net.csr.T.tocsr()
    return net._cache[key]


def _with_virtual_sources(net: RoadNetwork, sources: SnapArray, direction: Direction = "outbound") -> sp.csr_matrix:
    """The CSR with one extra row/column per source point (arcs from the point to its edge's ends).

    Inbound, the matrix is the transposed one and the arcs are the reversed arcs into the point.
    """
    n, k = net.n_nodes, len(sources)
    e = sources.edge
    f = sources.fraction
    rev = net.edge_rev[e]
    has_rev = rev >= 0
    rev_time = np.where(has_rev, net.edge_time_s[np.maximum(rev, 0)], np.inf)
    with np.errstate(invalid="ignore"):  # 0 · inf at f == 0 or 1 on a one-way road: NaN, made inf below
        if direction == "outbound":
            to_v = (1.0 - f) * net.edge_time_s[e]
            to_u = f * rev_time
            base = net.csr
        else:
            to_v = (1.0 - f) * rev_time  # from v back along the reverse edge onto the point
            to_u = f * net.edge_time_s[e]  # from u forward onto the point
            base = reverse_csr(net)
    to_v = np.where(np.isnan(to_v), np.inf, to_v)  # 0 · inf at f == 1 on a one-way road
    to_u = np.where(np.isnan(to_u), np.inf, to_u)
    cols = np.stack([net.edge_v[e], net.edge_u[e]], axis=1)
    vals = np.stack([to_v, to_u], axis=1)
    keep = np.isfinite(vals)
    counts = keep.sum(axis=1)
    indptr = np.concatenate([base.indptr, base.indptr[-1] + np.cumsum(counts)]).astype(np.int64)
    indices = np.concatenate([base.indices, cols[keep]]).astype(np.int64)
    data = np.concatenate([base.data, vals[keep]])
    return sp.csr_matrix((data, indices, indptr), shape=(n + k, n + k))


def drive_time_trees(
    net: RoadNetwork, sources: SnapArray | list[Snap], limit_s: float | None = None, direction: Direction = "outbound"
) -> np.ndarray:
    """Travel times (s) from each source point to every node (outbound: the provider drives out), or from every
    node to each source point (inbound).

    Parameters
    ----------
    net : RoadNetwork
    sources : SnapArray or list of Snap
        Snapped source points (e.g. provider bases).
    limit_s : float, optional
        Stop searching beyond this time (s); nodes farther away are ``inf``.
    direction : "outbound" or "inbound"

    Returns
    -------
    ndarray of float64, shape (k, n_nodes)
    """
    _verify_direction(direction)
    sources = SnapArray.from_snaps(sources)
    graph = _with_virtual_sources(net, sources, direction)
    starts = np.arange(net.n_nodes, net.n_nodes + len(sources))
    limit = np.inf if limit_s is None else float(limit_s)
    return _dijkstra()(graph, directed=True, indices=starts, limit=limit)[:, : net.n_nodes]


def drive_time_tree(
    net: RoadNetwork, snap: Snap, limit_s: float | None = None, direction: Direction = "outbound"
) -> np.ndarray:
    """Travel times (s), shape ``(n_nodes,)``, from (or, inbound, to) one snapped point; see
    :func:`drive_time_trees`."""
    return drive_time_trees(net, [snap], limit_s, direction)[0]


def node_tree(
    net: RoadNetwork, node_index: int, limit_s: float | None = None, direction: Direction = "outbound"
) -> np.ndarray:
    """Travel times (s), shape ``(n_nodes,)``, from (inbound: to) a network node (``inf`` beyond ``limit_s``)."""
    _verify_direction(direction)
    limit = np.inf if limit_s is None else float(limit_s)
    graph = net.csr if direction == "outbound" else reverse_csr(net)
    return _dijkstra()(graph, directed=True, indices=int(node_index), limit=limit)


def _dijkstra():
    """scipy's Dijkstra, imported when a tree is grown: ``scipy.sparse.csgraph`` pulls in ``scipy.sparse.linalg``
    (≈ 0.2 s), which reading the prepared trees for a lookup or an audit never needs."""
    from scipy.sparse.csgraph import dijkstra

    return dijkstra


def times_to_snaps(
    net: RoadNetwork,
    trees: np.ndarray,
    snaps: SnapArray | list[Snap],
    sources: SnapArray | list[Snap] | None = None,
    direction: Direction = "outbound",
) -> np.ndarray:
    """Travel times (s) from each tree's source to each snapped target point (inbound: from each target point to
    the source, with trees from ``direction="inbound"``).

    Parameters
    ----------
    net : RoadNetwork
    trees : ndarray, shape (k, n_nodes) or (n_nodes,)
        From :func:`drive_time_trees` / :func:`drive_time_tree`.
    snaps : SnapArray or list of Snap
        The ``m`` targets.
    sources : SnapArray or list of Snap, optional
        The ``k`` sources of the trees; needed to get the exact time when a source and a target lie on the
        same road (otherwise the path must pass through an end node of that road).

    Returns
    -------
    ndarray of float64, shape (k, m) (or (m,) for a 1-D tree); ``inf`` when unreachable within the limit.
    """
    _verify_direction(direction)
    one = np.ndim(trees) == 1
    trees = np.atleast_2d(trees)
    t = SnapArray.from_snaps(snaps)
    e, g = t.edge, t.fraction
    rev = net.edge_rev[e]
    rev_time = net.edge_time_s[np.maximum(rev, 0)]
    if direction == "outbound":
        via_u = trees[:, net.edge_u[e]] + g * net.edge_time_s[e]
        # One-way roads cannot be entered from their far end (and inf * 0 would give NaN at g == 1).
        via_v = np.where(rev >= 0, trees[:, net.edge_v[e]] + (1.0 - g) * rev_time, np.inf)
    else:
        # From the target: forward to v, or (two-way) back along the reverse edge to u.
        via_v = trees[:, net.edge_v[e]] + (1.0 - g) * net.edge_time_s[e]
        via_u = np.where(rev >= 0, trees[:, net.edge_u[e]] + g * rev_time, np.inf)
    best = np.minimum(via_u, via_v)
    if sources is not None:
        cols, direct = _same_road(net, SnapArray.from_snaps(sources), t, direction)
        best[:, cols] = np.minimum(best[:, cols], direct)
    return best[0] if one else best


def _same_road(
    net: RoadNetwork, s: SnapArray, t: SnapArray, direction: Direction = "outbound"
) -> tuple[np.ndarray, np.ndarray]:
    """The targets on some source's road (column indices, shape (c,)) and the direct times (s, k × c) between each
    source and them, ``inf`` where a source is on another road (inbound: from the target to the source).

    Only those few targets are computed, not all ``m``: over the county's 189 000 land cells and 16 bases this
    was most of each audit profile's time."""
    s_rev_1d = net.edge_rev[s.edge]
    cols = np.flatnonzero(np.isin(t.edge, np.concatenate([s.edge, s_rev_1d[s_rev_1d >= 0]])))
    se, f = s.edge[:, None], s.fraction[:, None]
    s_rev = s_rev_1d[:, None]
    te, g = t.edge[cols][None, :], t.fraction[cols][None, :]
    g_in_s = np.where(te == se, g, 1.0 - g)
    same = (te == se) | ((s_rev >= 0) & (te == s_rev))
    rev_time = np.where(s_rev >= 0, net.edge_time_s[np.maximum(s_rev, 0)], np.inf)
    with np.errstate(invalid="ignore"):  # 0 × inf (no way back on a one-way road) is NaN, made inf below
        if direction == "outbound":
            forward = (g_in_s - f) * net.edge_time_s[se]
            backward = (f - g_in_s) * rev_time
            direct = np.where(g_in_s >= f, forward, backward)
        else:
            forward = (f - g_in_s) * net.edge_time_s[se]
            backward = (g_in_s - f) * rev_time
            direct = np.where(g_in_s <= f, forward, backward)
    direct = np.where(np.isnan(direct), np.inf, direct)
    return cols, np.where(same, direct, np.inf)


def drive_time(
    net: RoadNetwork, from_xy: tuple[float, float], to_xy: tuple[float, float]
) -> tuple[float, float, float]:
    """Drive time between two points.

    Parameters
    ----------
    net : RoadNetwork
    from_xy, to_xy : tuple of float
        Points in EPSG:3006 (m).

    Returns
    -------
    seconds, from_snap_m, to_snap_m : float
        Travel time (s; ``inf`` when unreachable) and the snapping distances (m) of both points.
    """
    snaps = snap_many(net, [from_xy[0], to_xy[0]], [from_xy[1], to_xy[1]])
    src, dst = snaps[0], snaps[1]
    tree = drive_time_tree(net, src)
    seconds = times_to_snaps(net, tree, [dst], sources=[src])[0]
    return float(seconds), src.distance_m, dst.distance_m
