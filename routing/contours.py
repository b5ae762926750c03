"""Isochrone polygons (EPSG:3006) contoured from a drive-time grid, at router speed.

Method. :mod:`routing.time_grid` samples every road once per network and gives each cell of a square grid the drive
time of one tree at its nearest road within reach (see there for how roads, motorways and water are treated). The
grid is contoured with contourpy at the band limits — one field, so bands of any list of minutes nest and rings
never overlap — and the rings become shapely polygons in one ``from_ragged_array`` call. Unreached cells hold the
largest limit plus :data:`routing.time_grid.BEYOND_S`; samples up to that time keep their real time, so the cut at
a limit is interpolated along the roads' times.

Accuracy (measured in bench/bench_isochrones.py). A reached road point is always inside, except on the last
``cell_m / 2`` of a partial edge; the cut along a road lies between the exact point and two cells beyond it. A place
within ``reach_m`` of its road is inside when the lookup says it is reached, except where two road cells are about
equally near a place a few seconds from the limit (2 in 10 000 of real addresses).
"""

from __future__ import annotations

from typing import Literal, Sequence

import contourpy
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from routing.network import RoadNetwork
from routing.snapping import Snap, SnapArray
from routing.time_grid import ContourGrid, Direction, TimeField, concat_ranges, time_field

Shape = Literal["disks", "rings"]


def _verify_limits(limits_s: Sequence[float]) -> np.ndarray:
    limits = np.asarray(limits_s, dtype=np.float64)
    if limits.ndim != 1 or len(limits) == 0 or not np.isfinite(limits).all() or (limits <= 0).any():
        raise ValueError("Give one or more positive, finite time limits (s).")
    if (np.diff(limits) <= 0).any():
        raise ValueError("Time limits must be strictly increasing (e.g. 600, 1200, 1800 s).")
    return limits


def contour_bands(
    field: TimeField, limits_s: Sequence[float], shape: Shape = "disks", max_hole_m2: float = 0.0
) -> list[BaseGeometry]:
    """Polygons (EPSG:3006) of the field at each limit.

    Parameters
    ----------
    field : TimeField
    limits_s : sequence of float
        Strictly increasing limits (s), each at most the field's ``max_s``.
    shape : "disks" or "rings"
        Disks: band k is everything within ``limits_s[k]`` (each contains the previous). Rings: band k is
        between ``limits_s[k-1]`` and ``limits_s[k]`` (disjoint; their union is the largest disk).
    max_hole_m2 : float
        Holes smaller than this (m²) are filled (disks only; a ring's hole is the next smaller disk).

    Returns
    -------
    list of shapely Polygon / MultiPolygon, one per limit (empty Polygon when nothing is reached).
    """
    limits = _verify_limits(limits_s)
    if shape not in ("disks", "rings"):
        raise ValueError(f"shape must be 'disks' or 'rings', not {shape!r}.")
    if field.empty:
        return [shapely.Polygon() for _ in limits]
    if limits[-1] >= field.beyond_s:
        raise ValueError("The largest limit must be below the field's beyond_s (build the field with it).")
    # Index coordinates (no x, y arrays to build): the few output points are scaled afterwards.
    gen = contourpy.contour_generator(z=field.z, name="serial", fill_type=contourpy.FillType.ChunkCombinedOffsetOffset)
    lowers = np.concatenate([[-1.0], limits[:-1]]) if shape == "rings" else np.full(len(limits), -1.0)
    scale = np.array([field.cell_m, field.cell_m])
    origin = np.array([field.x[0], field.y[0]])
    out = []
    for lower, upper in zip(lowers, limits):
        points, rings, polys = gen.filled(float(lower), float(upper))
        hole_limit = max_hole_m2 if shape == "disks" else 0.0
        pts = None if points[0] is None else points[0] * scale + origin
        out.append(_polygons(pts, rings[0], polys[0], hole_limit))
    return out


def contour_below(field: TimeField, level: float, max_hole_m2: float = 0.0) -> BaseGeometry:
    """The region (EPSG:3006) where a field on the grid is at most ``level``: for fields other than drive times,
    e.g. one unit's lead over its rivals in :mod:`routing.split`."""
    if field.z.size == 0 or not bool((field.z <= level).any()):
        return shapely.Polygon()
    gen = contourpy.contour_generator(z=field.z, name="serial", fill_type=contourpy.FillType.ChunkCombinedOffsetOffset)
    points, rings, polys = gen.filled(float(field.z.min()) - 1.0, float(level))
    pts = None if points[0] is None else points[0] * field.cell_m + np.array([field.x[0], field.y[0]])
    return _polygons(pts, rings[0], polys[0], max_hole_m2)


def _polygons(points, ring_offsets, poly_offsets, max_hole_m2: float) -> BaseGeometry:
    """Shapely (Multi)Polygon from contourpy's ChunkCombinedOffsetOffset arrays, small holes dropped."""
    if points is None or len(points) == 0:
        return shapely.Polygon()
    ring_offsets = ring_offsets.astype(np.int64)
    poly_offsets = poly_offsets.astype(np.int64)
    if max_hole_m2 > 0:
        points, ring_offsets, poly_offsets = _drop_small_holes(points, ring_offsets, poly_offsets, max_hole_m2)
    polys = shapely.from_ragged_array(shapely.GeometryType.POLYGON, np.ascontiguousarray(points),
                                      (ring_offsets, poly_offsets))
    return polys[0] if len(polys) == 1 else shapely.MultiPolygon(list(polys))


def _drop_small_holes(points, ring_offsets, poly_offsets, max_hole_m2: float):
    x, y = points[:, 0], points[:, 1]
    cross = np.concatenate([[0.0], np.cumsum(x[:-1] * y[1:] - x[1:] * y[:-1])])
    # Rings are closed (first point repeated), so the shoelace runs from a ring's first to its last point.
    area = 0.5 * np.abs(cross[ring_offsets[1:] - 1] - cross[ring_offsets[:-1]])
    n_rings = len(ring_offsets) - 1
    is_outer = np.zeros(n_rings, dtype=bool)
    is_outer[poly_offsets[:-1]] = True
    keep = is_outer | (area >= max_hole_m2)
    if keep.all():
        return points, ring_offsets, poly_offsets
    counts = np.diff(ring_offsets)[keep]
    points = points[concat_ranges(ring_offsets[:-1][keep], counts)]
    new_rings = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=new_rings[1:])
    kept_per_poly = np.add.reduceat(keep.astype(np.int64), poly_offsets[:-1])
    new_polys = np.zeros(len(kept_per_poly) + 1, dtype=np.int64)
    np.cumsum(kept_per_poly, out=new_polys[1:])
    return points, new_rings, new_polys


def isochrone_bands(
    net: RoadNetwork,
    tree: np.ndarray,
    limits_s: Sequence[float],
    shape: Shape = "disks",
    direction: Direction = "outbound",
    origins: Snap | SnapArray | Sequence[Snap] | None = None,
    max_hole_m2: float = 0.0,
    grid: ContourGrid | None = None,
) -> list[BaseGeometry]:
    """Band polygons (EPSG:3006) of one tree at each limit: :func:`routing.time_grid.time_field`, then
    :func:`contour_bands`.

    Parameters
    ----------
    net : RoadNetwork
    tree : ndarray, shape (n_nodes,)
        Node times (s) from the source(s) (outbound) or to them (inbound); several sources: their minimum.
    limits_s : sequence of float
        Strictly increasing limits (s).
    shape : "disks" or "rings"
    direction : "outbound" or "inbound"
    origins : Snap(s), optional
        The tree's sources.
    max_hole_m2 : float
        Holes smaller than this (m²) are filled.
    grid : ContourGrid, optional

    Returns
    -------
    list of shapely Polygon / MultiPolygon, one per limit.
    """
    limits = _verify_limits(limits_s)
    field = time_field(net, tree, float(limits[-1]), direction, origins, grid)
    return contour_bands(field, limits, shape, max_hole_m2)
