"""The drive-time grid (EPSG:3006) that :mod:`routing.contours` contours into isochrone polygons.

Method. Every road is sampled at most ``cell_m`` apart along its geometry, once per network. For a tree, each
sample gets the drive time at that point of its edge — the time at the edge's start plus the share of the edge
driven (outbound), or the share left to drive plus the time from the edge's end (inbound), and directly along the
road for samples on a source's own road — which is what the point lookup (:func:`routing.trees.times_to_snaps`)
answers there. On a square grid of ``cell_m`` cells:

- a *road cell* (of a road a place can lie on: not the ``snap_exclude`` classes, i.e. motorways and their ramps)
  takes the smallest time of its samples and hands it to its eight neighbours (a 3 × 3 minimum), so a reached road
  point lies at least half a cell inside the contour whatever the interpolation;
- every other cell takes that time of its *nearest road cell*, when that lies within ``reach_m`` (precomputed once
  with a Euclidean distance transform); farther cells are unreached. As in the lookup, the nearest road decides: a
  place whose own street is not reached is not reached, even when a reached road passes a little farther away;
- motorway samples mark only their own cell: the motorway is drawn as a reached road, but reaches no place
  beside it (a home beside Essingeleden is reached from its own street, as the lookup says).

Unreached cells hold the largest limit plus :data:`BEYOND_S`; samples up to that time keep their real time, so the
cut at a limit is interpolated along the roads' times.

Water. The project has no water layer: the area model's land polygons (DeSO) contain lakes and sea
(Riddarfjärden, Saltsjön, Mälaren and open sea east of Sandhamn all test as "land"), so they cannot mask water.
Water is left out by distance only: cells farther than ``reach_m`` from a road are unreached.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np
from scipy import ndimage

from routing.network import RoadNetwork
from routing.snapping import Snap, SnapArray, snap_candidates

Direction = Literal["outbound", "inbound"]

CELL_M = 100.0
"""Side of the time grid's cells (m): the polygon's resolution. 100 m keeps a 30-minute county polygon within
the time budget (bench/README.md) and is finer than the 1:1M area borders (±100 m)."""

BEYOND_S = 60.0
"""Unreached cells hold the largest limit plus this (s); samples up to that time keep their real time, so the
contour at the limit runs through the time gradient of the roads instead of against a wall."""


@dataclass(frozen=True)
class ContourGrid:
    """The static part of the contouring, built once per network geometry (see :func:`contour_grid`).

    Attributes
    ----------
    cell_m, reach_m : float
        Cell side and the largest distance (m) from a place to its road.
    x0, y0 : float
        Lower-left corner of cell (0, 0) (EPSG:3006, m).
    nx, ny : int
        Columns and rows.
    sample_edge : ndarray of int64, shape (k,)
        Edge of each road sample, sorted by edge then position.
    sample_frac : ndarray of float64, shape (k,)
        Position of each sample along its edge geometry, 0 at ``edge_u`` and 1 at ``edge_v``.
    sample_cell : ndarray of int64, shape (k,)
        Flat cell index (``row * nx + col``) of each sample.
    edge_samples : ndarray of int64, shape (n_edges + 1,)
        Samples of edge ``e`` are ``edge_samples[e]:edge_samples[e + 1]`` (none for ferries).
    sample_u, sample_v : ndarray of int32, shape (k,)
        Start and end node of each sample's edge.
    nearest : ndarray of int32, shape (ny, nx)
        Flat index of each cell's nearest road cell (roads a place can lie on); ``nx * ny`` beyond ``reach_m``.
    sample_motorway : ndarray of bool, shape (k,)
        Samples of roads no place lies on (``snap_exclude``: motorways, their ramps): they mark their own cell only.
    """

    cell_m: float
    reach_m: float
    x0: float
    y0: float
    nx: int
    ny: int
    sample_edge: np.ndarray
    sample_frac: np.ndarray
    sample_cell: np.ndarray
    edge_samples: np.ndarray
    sample_u: np.ndarray
    sample_v: np.ndarray
    nearest: np.ndarray
    sample_motorway: np.ndarray

    def sample_edge_time(self, net: RoadNetwork) -> np.ndarray:
        """Travel time (s) of each sample's edge under ``net``'s profile (cached on the network)."""
        key = ("contour_sample_time", net.profile, self.cell_m, self.reach_m)
        if key not in net._cache:
            net._cache[key] = net.edge_time_s[self.sample_edge]
        return net._cache[key]


@dataclass
class TimeField:
    """Drive times (s) on a window of the grid.

    Attributes
    ----------
    x, y : ndarray of float64
        Cell-centre coordinates (EPSG:3006, m) of the window's columns and rows.
    z : ndarray of float64, shape (len(y), len(x))
        Time of each cell; ``beyond_s`` where unreached.
    beyond_s : float
        The value of unreached cells (just above the largest limit).
    cell_m : float
    """

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    beyond_s: float
    cell_m: float

    @property
    def empty(self) -> bool:
        """True when no cell is reached."""
        return self.z.size == 0 or not bool((self.z < self.beyond_s).any())


def _verify_direction(direction: str) -> None:
    if direction not in ("outbound", "inbound"):
        raise ValueError(f"direction must be 'outbound' (from the base) or 'inbound' (to the base), not {direction!r}.")



def contour_grid(net: RoadNetwork, cell_m: float | None = None, reach_m: float | None = None) -> ContourGrid:
    """The grid and road samples of ``net`` (cached on the network; geometry only, so shared by all profiles).

    Parameters
    ----------
    net : RoadNetwork
    cell_m : float, optional
        Cell side (m); default :data:`CELL_M` (or ``cell_m`` in the ``isochrone`` section of ``speeds.yaml``).
    reach_m : float, optional
        Largest distance (m) from a reached place to its road; default ``settings.snap_warning_m`` — the distance
        beyond which the lookup itself warns that drive times end at the road (``net.snap_warning_m``).

    Returns
    -------
    ContourGrid
        Built in about 0.3 s for the county at 100 m.
    """
    defaults = net.isochrone
    cell_m = float(defaults.get("cell_m", CELL_M) if cell_m is None else cell_m)
    reach_m = float(defaults.get("reach_m", net.snap_warning_m) if reach_m is None else reach_m)
    if cell_m <= 0 or reach_m < 0:
        raise ValueError("cell_m must be positive and reach_m not negative (m).")
    key = ("contour_grid", cell_m, reach_m)
    if key not in net._cache:
        net._cache[key] = _build_grid(net, cell_m, reach_m)
    return net._cache[key]




def concat_ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(start, start + count)`` for every pair, without a Python loop."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    shift = np.repeat(starts - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
    return np.arange(total, dtype=np.int64) + shift


def _build_grid(net: RoadNetwork, cell_m: float, reach_m: float) -> ContourGrid:
    local = np.zeros(net.n_edges, dtype=bool)
    candidates = snap_candidates(net)
    local[candidates] = True
    rev = net.edge_rev[candidates]
    local[rev[rev >= 0]] = True  # both directions of a two-way road: each has its own times
    edge_ids = np.flatnonzero(~net.edge_ferry & (net.edge_u != net.edge_v))

    # Arc length of every geometry vertex from its edge's start.
    xy, offsets = net.geom_xy, net.geom_offsets
    seg = np.zeros(len(xy))
    seg[1:] = np.hypot(np.diff(xy[:, 0]), np.diff(xy[:, 1]))
    seg[offsets[:-1]] = 0.0
    cum = np.cumsum(seg)
    cum -= np.repeat(cum[offsets[:-1]], np.diff(offsets))
    length = cum[offsets[1:] - 1]

    # n + 1 evenly spaced samples per edge (both ends included), at most cell_m apart along the road.
    n = np.maximum(np.ceil(length[edge_ids] / cell_m).astype(np.int64), 1)
    owner = np.repeat(edge_ids, n + 1)
    k = concat_ranges(np.zeros(len(n), dtype=np.int64), n + 1)
    frac = k / np.repeat(n, n + 1)
    dist = frac * length[owner]
    # Locate each sample on its edge's polyline: the vertex segment it falls in, then interpolate.
    start, count = offsets[owner], np.diff(offsets)[owner]
    seg_idx = _segment_of(cum, offsets, owner, dist, start, count)
    d0, d1 = cum[seg_idx], cum[seg_idx + 1]
    w = np.where(d1 > d0, (dist - d0) / np.maximum(d1 - d0, 1e-12), 0.0)[:, None]
    pts = xy[seg_idx] * (1 - w) + xy[seg_idx + 1] * w

    margin = reach_m + 4 * cell_m  # wider than the window padding of time_field
    x0 = np.floor((pts[:, 0].min() - margin) / cell_m) * cell_m
    y0 = np.floor((pts[:, 1].min() - margin) / cell_m) * cell_m
    nx = int(np.ceil((pts[:, 0].max() + margin - x0) / cell_m))
    ny = int(np.ceil((pts[:, 1].max() + margin - y0) / cell_m))
    col = ((pts[:, 0] - x0) // cell_m).astype(np.int64)
    row = ((pts[:, 1] - y0) // cell_m).astype(np.int64)
    cell = row * nx + col

    motorway = ~local[owner]
    road = np.zeros((ny, nx), dtype=bool)
    road.ravel()[cell[~motorway]] = True  # only roads a place can lie on decide the nearest road
    dist_cells, (nj, ni) = ndimage.distance_transform_edt(~road, return_indices=True)
    nearest = (nj * nx + ni).astype(np.int32)
    nearest[dist_cells * cell_m > reach_m] = nx * ny
    del dist_cells, nj, ni

    edge_samples = np.zeros(net.n_edges + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner, minlength=net.n_edges), out=edge_samples[1:])
    return ContourGrid(cell_m, reach_m, float(x0), float(y0), nx, ny, owner.astype(np.int64), frac, cell,
                       edge_samples, net.edge_u[owner].astype(np.int32), net.edge_v[owner].astype(np.int32), nearest,
                       motorway)


def _segment_of(cum, offsets, owner, dist, start, count) -> np.ndarray:
    """Index of the geometry vertex that starts the segment holding each sample (its edge's last segment at 1)."""
    # Per-edge searchsorted in one call: offset every edge's arc lengths by a large per-edge constant.
    edge_of_vertex = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    big = float(cum.max() + 1.0) * 4
    key = edge_of_vertex * big + cum
    pos = np.searchsorted(key, owner * big + dist, side="right") - 1
    return np.clip(pos, start, start + count - 2)


def sample_times(
    net: RoadNetwork,
    grid: ContourGrid,
    tree: np.ndarray,
    max_s: float,
    direction: Direction = "outbound",
    origins: Snap | SnapArray | Sequence[Snap] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Drive time (s) at every road sample whose time is at most ``max_s``.

    Parameters
    ----------
    net, grid : the network and its :func:`contour_grid`.
    tree : ndarray, shape (n_nodes,)
        Node times (s) from the source(s) (outbound) or to them (inbound); for several sources, their minimum.
    max_s : float
        Samples beyond this time are dropped.
    direction : "outbound" or "inbound"
    origins : Snap(s), optional
        The sources; samples on a source's own road then get the direct time along it.

    Returns
    -------
    (cells, times, motorway) : flat cell index (int64), time (s) and motorway flag of each kept sample.
    """
    _verify_direction(direction)
    edge_time = grid.sample_edge_time(net)
    if direction == "outbound":
        t = tree[grid.sample_u] + grid.sample_frac * edge_time
    else:
        t = tree[grid.sample_v] + (1.0 - grid.sample_frac) * edge_time
    ok = t <= max_s
    cells, t, motorway = grid.sample_cell[ok], t[ok], grid.sample_motorway[ok]
    if origins is not None:
        extra_c, extra_t = _same_road_samples(net, grid, SnapArray.from_snaps(origins), direction)
        cells, t = np.concatenate([cells, extra_c]), np.concatenate([t, extra_t])
        motorway = np.concatenate([motorway, np.zeros(len(extra_c), dtype=bool)])
    keep = t <= max_s
    return cells[keep], t[keep], motorway[keep]


def _same_road_samples(net: RoadNetwork, grid: ContourGrid, origins: SnapArray, direction: Direction):
    """Direct times along each source's own road (both directions of a two-way road)."""
    cells, times = [], []
    for e, f in zip(origins.edge.tolist(), origins.fraction.tolist()):
        rev = int(net.edge_rev[e])
        for edge, pos in ((e, f), (rev, 1.0 - f)):
            if edge < 0:
                continue
            a, b = grid.edge_samples[edge], grid.edge_samples[edge + 1]
            g = grid.sample_frac[a:b]
            # Outbound drives from the source forward along the edge; inbound drives forward to the source.
            ahead = g >= pos if direction == "outbound" else g <= pos
            cells.append(grid.sample_cell[a:b][ahead])
            times.append(np.abs(g[ahead] - pos) * net.edge_time_s[edge])
    if not cells:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    return np.concatenate(cells), np.concatenate(times)


def time_field(
    net: RoadNetwork,
    tree: np.ndarray,
    max_s: float,
    direction: Direction = "outbound",
    origins: Snap | SnapArray | Sequence[Snap] | None = None,
    grid: ContourGrid | None = None,
    bounds: tuple[float, float, float, float] | None = None,
) -> TimeField:
    """The time grid of one tree over the window its reached roads span (see the module docstring).

    Parameters
    ----------
    net : RoadNetwork
    tree : ndarray, shape (n_nodes,)
        Node times (s); see :func:`sample_times`.
    max_s : float
        The largest limit that will be contoured (s).
    direction : "outbound" or "inbound"
    origins : Snap(s), optional
        The tree's sources (exact times along their own roads).
    grid : ContourGrid, optional
        Default :func:`contour_grid` of ``net``.
    bounds : (minx, miny, maxx, maxy), optional
        A fixed window (EPSG:3006, m) instead of the reached roads' span, so that fields of several trees line up
        (:mod:`routing.split`); it is widened by the reach and clipped to the grid.

    Returns
    -------
    TimeField
    """
    grid = contour_grid(net) if grid is None else grid
    beyond = float(max_s) + BEYOND_S
    return field_from_samples(grid, sample_times(net, grid, tree, beyond, direction, origins), beyond, bounds)


def field_from_samples(
    grid: ContourGrid,
    samples: tuple[np.ndarray, np.ndarray, np.ndarray],
    beyond_s: float,
    bounds: tuple[float, float, float, float] | None = None,
) -> TimeField:
    """:func:`time_field` from the output of :func:`sample_times` (kept by callers that need several windows of
    one tree); ``beyond_s`` is the ``max_s`` the samples were taken with."""
    cells, t, motorway = samples
    beyond = float(beyond_s)
    if len(cells) == 0 and bounds is None:
        return TimeField(np.zeros(0), np.zeros(0), np.zeros((0, 0)), beyond, grid.cell_m)
    n_cells = grid.nx * grid.ny
    road = np.full(n_cells + 1, beyond)  # the last slot answers cells with no road within reach
    np.minimum.at(road, cells[~motorway], t[~motorway])
    rows = cells // grid.nx
    cols = cells - rows * grid.nx
    pad = int(np.ceil(grid.reach_m / grid.cell_m)) + 2
    if bounds is None:
        c0, c1, r0, r1 = int(cols.min()), int(cols.max()), int(rows.min()), int(rows.max())
    else:
        c0, r0 = int((bounds[0] - grid.x0) // grid.cell_m), int((bounds[1] - grid.y0) // grid.cell_m)
        c1, r1 = int((bounds[2] - grid.x0) // grid.cell_m), int((bounds[3] - grid.y0) // grid.cell_m)
    i0, i1 = max(c0 - pad, 1), min(c1 + pad + 1, grid.nx - 1)
    j0, j1 = max(r0 - pad, 1), min(r1 + pad + 1, grid.ny - 1)
    # A reached road cell passes its time to its eight neighbours (3 × 3 minimum over a one-cell border), so a
    # road point anywhere in the cell lies inside the contour.
    a = road[:n_cells].reshape(grid.ny, grid.nx)[j0 - 1 : j1 + 1, i0 - 1 : i1 + 1]
    r = np.minimum(np.minimum(a[:-2], a[1:-1]), a[2:])
    z = np.minimum(np.minimum(r[:, :-2], r[:, 1:-1]), r[:, 2:])
    # Every other cell takes the (3 × 3) time of its nearest road cell within reach: a road cell's neighbourhood
    # holds the point the lookup snaps to even when the nearest cell centre is a neighbour of its cell.
    road[:n_cells].reshape(grid.ny, grid.nx)[j0:j1, i0:i1] = z
    np.minimum(z, road[grid.nearest[j0:j1, i0:i1]], out=z)
    # Motorways mark their own cell only: drawn as reached roads, they reach no place beside them.
    w = i1 - i0
    mr, mc = rows[motorway] - j0, cols[motorway] - i0
    ok = (mr >= 0) & (mr < j1 - j0) & (mc >= 0) & (mc < w)
    np.minimum.at(z.ravel(), mr[ok] * w + mc[ok], t[motorway][ok])
    x = grid.x0 + grid.cell_m * (np.arange(i0, i1) + 0.5)
    y = grid.y0 + grid.cell_m * (np.arange(j0, j1) + 0.5)
    return TimeField(x, y, z, beyond, grid.cell_m)
