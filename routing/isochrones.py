"""Isochrone polygons (EPSG:3006) from drive-time trees, and bands of several limits with their population.

:func:`isochrone` and :func:`unit_bands` contour a time grid (:mod:`routing.contours`): one tree gives any list
of limits as disks that nest or rings that never overlap, in tens of milliseconds, outbound (from the bases) or
inbound (to them). Each band carries the population whose lookup time falls in it — DeSO population spread over
the road nodes, as in the audit (:mod:`routing.population`) — so rings add up to the largest disk — and its area.

The corridor polygons used until issue 12 (reached roads buffered and merged) are kept in ``bench/corridor.py``, as
the reference the benchmark measures these against.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from core.geojson import COORD_DECIMALS, geometry_dict, geometry_text
from core.settings import Settings
from routing.contours import Shape, isochrone_bands
from routing.network import RoadNetwork
from routing.snapping import Snap, SnapArray
from routing.time_grid import BEYOND_S, ContourGrid, Direction
from routing.trees import drive_time_trees, times_to_snaps

if TYPE_CHECKING:
    from geo.areas.model import AreaModel
    from geo.providers import Unit
    from routing.basetrees import BaseTrees
    from routing.population import SamplePoints

MAX_BANDS = 6
"""Most limits in one request (each band is one more contour of the same field, ~4 ms each)."""



def isochrone(
    net: RoadNetwork,
    tree: np.ndarray,
    limit_s: float,
    max_hole_m2: float | None = None,
    origin: Snap | SnapArray | None = None,
    *,
    direction: Direction = "outbound",
    grid: ContourGrid | None = None,
) -> BaseGeometry:
    """The area reached within ``limit_s`` as a (Multi)Polygon in EPSG:3006, contoured from a time grid.

    Parameters
    ----------
    net : RoadNetwork
    tree : ndarray, shape (n_nodes,)
        Travel times (s) from the source (inbound: to it); bounded or not.
    limit_s : float
        Time budget (s).
    max_hole_m2 : float, optional
        Holes smaller than this (m²) are filled; default from ``speeds.yaml``.
    origin : Snap or SnapArray, optional
        The source point(s); times along their own road are then exact, and the polygon contains them.
    direction : "outbound" or "inbound"
    grid : ContourGrid, optional
        Another cell size or reach than the defaults (:func:`routing.time_grid.contour_grid`).

    Returns
    -------
    shapely Polygon or MultiPolygon
        Empty when nothing is reached. See :mod:`routing.contours` for what is inside.
    """
    max_hole_m2 = net.isochrone.get("max_hole_m2", 0.0) if max_hole_m2 is None else max_hole_m2
    return isochrone_bands(net, tree, [limit_s], "disks", direction, origin, max_hole_m2, grid)[0]


@dataclass(frozen=True)
class Band:
    """One band of an isochrone.

    Attributes
    ----------
    minutes : float
        Upper limit (min).
    lower_minutes : float or None
        Lower limit of a ring (min); None for a disk (everything from 0).
    geometry : shapely Polygon / MultiPolygon, EPSG:3006
    population : float
        People whose lookup time (from the unit's nearest base, or to it inbound) is within the band.
    area_km2 : float
    """

    minutes: float
    lower_minutes: float | None
    geometry: BaseGeometry
    population: float
    area_km2: float


def unit_bands(
    net: RoadNetwork,
    trees: BaseTrees,
    unit_id: str,
    minutes: Sequence[float],
    shape: Shape = "disks",
    direction: Direction = "outbound",
    population: SamplePoints | None = None,
    max_hole_m2: float | None = None,
) -> list[Band]:
    """A unit's bands from all its bases (each place counts from its nearest base).

    Parameters
    ----------
    net : RoadNetwork
    trees : routing.basetrees.BaseTrees
        The prepared base trees (outbound); inbound trees are grown here, bounded at the largest limit.
    unit_id : str
    minutes : sequence of float
        Band limits (min), any order; duplicates are dropped.
    shape : "disks" (each contains the smaller) or "rings" (disjoint)
    direction : "outbound" (from the base to the place) or "inbound" (from the place to the base)
    population : routing.population.SamplePoints, optional
        DeSO population points (``Samples.population``); population is 0 when not given.
    max_hole_m2 : float, optional
        Holes smaller than this (m²) are filled in disks; default from ``speeds.yaml``.

    Returns
    -------
    list of Band, by increasing limit.
    """
    limits = verify_minutes(minutes) * 60.0
    rows = trees.rows_of(unit_id)
    if len(rows) == 0:
        raise ValueError(f"Unit {unit_id!r} has no base in the prepared trees.")
    snaps = subset_snaps(trees.snaps, rows)
    if direction == "outbound":
        per_base = trees.times[rows]
    elif direction == "inbound":
        per_base = drive_time_trees(net, snaps, float(limits[-1]) + BEYOND_S, direction="inbound")
    else:
        raise ValueError(f"direction must be 'outbound' or 'inbound', not {direction!r}.")
    max_hole_m2 = net.isochrone.get("max_hole_m2", 0.0) if max_hole_m2 is None else max_hole_m2
    geoms = isochrone_bands(net, per_base.min(axis=0), limits, shape, direction, snaps, max_hole_m2)
    people = band_population(net, per_base, snaps, limits, shape, direction, population)
    lowers = [None] * len(limits) if shape == "disks" else [0.0, *(limits[:-1] / 60.0)]
    return [
        Band(float(m), None if lo is None else float(lo), g, float(p), float(g.area / 1e6))
        for m, lo, g, p in zip(limits / 60.0, lowers, geoms, people)
    ]


def band_population(
    net: RoadNetwork,
    per_base: np.ndarray,
    snaps: SnapArray,
    limits_s: np.ndarray,
    shape: Shape,
    direction: Direction,
    population: SamplePoints | None = None,
) -> np.ndarray:
    """People per band (see :class:`Band`): disks count everyone within the limit, rings those between limits."""
    if population is None or len(population) == 0:
        return np.zeros(len(limits_s))
    t = times_to_snaps(net, per_base, population.snaps, sources=snaps, direction=direction).min(axis=0)
    within = np.array([population.weight[t <= lim].sum() for lim in limits_s])
    if shape == "rings":
        within = np.diff(np.concatenate([[0.0], within]))
    return within


def verify_minutes(minutes: Sequence[float]) -> np.ndarray:
    """Band limits (min) sorted and unique; raises ``ValueError`` with a sentence for anything else."""
    try:
        values = np.unique(np.asarray([float(m) for m in minutes], dtype=np.float64))
    except (TypeError, ValueError):
        raise ValueError("minutes must be numbers, e.g. 10,20,30.") from None
    if len(values) == 0:
        raise ValueError("Give at least one limit in minutes, e.g. 30.")
    if len(values) > MAX_BANDS:
        raise ValueError(f"At most {MAX_BANDS} limits per isochrone.")
    if not np.isfinite(values).all() or values.min() <= 0 or values.max() > 240:
        raise ValueError("Each limit must be more than 0 and at most 240 minutes.")
    return values


def bands_geojson(bands: Sequence[Band], properties: dict[str, Any] | None = None, *,
                  serialised: bool = False, simplify_m: float = 0.0) -> dict[str, Any]:
    """A GeoJSON FeatureCollection (EPSG:4326), one feature per band with ``minutes``, ``population``,
    ``area_km2`` (and ``lower_minutes`` for rings), plus ``properties`` copied into every feature.

    Coordinates are rounded to :data:`core.geojson.COORD_DECIMALS` (6) decimals of a degree, about 0.1 m: far below
    the accuracy of the contoured polygons (:mod:`routing.contours`). With ``serialised``, each geometry is GeoJSON
    text written by GEOS (:class:`core.geojson.GeoJSONText`, for :func:`core.geojson.dumps`), not a dict of
    coordinate lists: the same content, ~20× faster to put on the wire. ``simplify_m`` > 0 simplifies each polygon
    to that tolerance (m, in EPSG:3006, topology kept: no edge moves farther) before writing, and says so in every
    feature's ``simplified_m``.
    """
    extra = dict(properties or {})
    if simplify_m < 0:
        raise ValueError("simplify_m must not be negative (m).")
    if simplify_m > 0:
        extra["simplified_m"] = float(simplify_m)
    people = np.array([b.population for b in bands])
    if any(b.lower_minutes is not None for b in bands):
        # Round the running total, so rounded rings still add up to the rounded largest disk.
        people = np.diff(np.concatenate([[0.0], np.round(np.cumsum(people))]))
    features = []
    for b, n in zip(bands, people):
        props = {"minutes": b.minutes, "lower_minutes": b.lower_minutes, "population": int(round(n)),
                 "area_km2": round(b.area_km2, 2), **extra}
        geom = shapely.simplify(b.geometry, simplify_m, preserve_topology=True) if simplify_m > 0 else b.geometry
        geometry = geometry_text(geom) if serialised else to_geojson(geom)
        features.append({"type": "Feature", "properties": props, "geometry": geometry})
    return {"type": "FeatureCollection", "features": features}


def unit_isochrones(
    settings: Settings,
    net: RoadNetwork,
    model: AreaModel,
    trees: BaseTrees,
    unit: Unit,
    minutes: Sequence[float],
    shape: Shape = "disks",
    direction: Direction = "outbound",
    *,
    serialised: bool = False,
    simplify_m: float = 0.0,
) -> dict[str, Any]:
    """A unit's isochrone bands as a GeoJSON FeatureCollection (EPSG:4326, coordinates rounded to 6 decimals of a
    degree, ≈ 0.1 m): the API's and the CLI's one call.

    Parameters
    ----------
    settings : Settings
    net : RoadNetwork
    model : geo.areas.model.AreaModel
        Its DeSO population, spread over road nodes as in the audit (read from the prepared cache).
    trees : routing.basetrees.BaseTrees
    unit : geo.providers.Unit
    minutes : sequence of float
    shape, direction : see :func:`unit_bands`.
    serialised : bool
        Geometries as GeoJSON text (:class:`core.geojson.GeoJSONText`) for :func:`core.geojson.dumps` (the API), not
        dicts (see :func:`bands_geojson`).
    simplify_m : float
        Simplification tolerance (m) of the polygons sent; 0 = as computed (see :func:`bands_geojson`).

    Returns
    -------
    dict
        FeatureCollection; every feature has ``minutes``, ``lower_minutes``, ``population``, ``area_km2``, the unit,
        ``direction``, ``shape``, ``profile`` and the bases' precision.
    """
    bands = unit_bands(net, trees, unit.id, minutes, shape, direction, population_points(settings, net, model))
    return bands_geojson(bands, {
        "unit": unit.unit, "unit_id": unit.id, "direction": direction, "shape": shape, "profile": net.profile,
        "base_precision": unit.precision,
        "bases": [{"name": b.name, "precision": b.precision} for b in unit.bases],
    }, serialised=serialised, simplify_m=simplify_m)


def population_points(settings: Settings, net: RoadNetwork, model: AreaModel) -> SamplePoints:
    """The prepared DeSO population points (``Samples.population``), read once per network and area model."""
    from routing.population import load_samples

    key = ("population_points", str(settings.cache_dir), id(model))
    if key not in net._cache:
        net._cache[key] = (load_samples(settings, net, model).population, model)  # the model pins the id
    return net._cache[key][0]


def subset_snaps(snaps: SnapArray, rows: np.ndarray) -> SnapArray:
    """The snaps at ``rows`` (e.g. one unit's bases of the base trees)."""
    return SnapArray(snaps.edge[rows], snaps.fraction[rows], snaps.distance_m[rows], snaps.x[rows], snaps.y[rows],
                     snaps.far[rows])


def to_geojson(geom: BaseGeometry, decimals: int = COORD_DECIMALS) -> dict[str, Any]:
    """A GeoJSON geometry dict in EPSG:4326 (lon, lat; 6 decimals, ≈ 0.1 m) from a geometry in EPSG:3006."""
    return geometry_dict(geom, decimals)
