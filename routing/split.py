"""The county divided by nearest unit (drive time), per area: which unit gets to each place first.

Within each area, the units approved for it (or every unit) compete. A place goes to the unit whose nearest base
reaches it first (outbound; inbound: the unit whose base the place reaches first), and to no unit when none
reaches it within ``limit_s`` (when given). The places are the cells of the contour grid (:mod:`routing.time_grid`,
each taking the time of its nearest road), so the split agrees with the isochrones and the point lookup.

Polygons come from contouring, per unit, its lead over its best rival (its time minus the best rival's, with "no
unit" as a rival at the limit) at zero: two neighbouring units interpolate the same boundary, so their polygons
meet without overlap; they are clipped to the area. Population comes from the DeSO points
(:mod:`routing.population`), each given to the unit with the smallest lookup time, so it adds up to the area's
population exactly, and matches the audit's "reached" count when a limit is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geo.areas.model import AreaModel
from geo.providers import Registry
from core.settings import Settings
from routing.basetrees import BaseTrees
from routing.contours import contour_below
from routing.isochrones import population_points, subset_snaps, to_geojson
from routing.network import RoadNetwork
from routing.population import SamplePoints
from routing.snapping import SnapArray
from routing.time_grid import BEYOND_S, Direction, TimeField, contour_grid, field_from_samples, sample_times
from routing.trees import drive_time_trees, times_to_snaps

NO_LIMIT_S = 6 * 3600.0
"""Without a limit, places farther than this from every base count as reached by no unit (s)."""


@dataclass(frozen=True)
class SplitPart:
    """One unit's share of one area (``unit_id`` None: the rest of the area — places no competing unit reaches
    within the limit, and water and land farther than ``reach_m`` from a road).

    Attributes
    ----------
    area_id : int
    unit_id : str or None
    geometry : shapely Polygon / MultiPolygon, EPSG:3006
    population : float
        People of the area whose nearest unit (by lookup time) this is.
    area_km2 : float
    """

    area_id: int
    unit_id: str | None
    geometry: BaseGeometry
    population: float
    area_km2: float


def split_by_unit(
    net: RoadNetwork,
    trees: BaseTrees,
    registry: Registry,
    model: AreaModel,
    population: SamplePoints | None = None,
    limit_s: float | None = None,
    approved_only: bool = True,
    direction: Direction = "outbound",
) -> list[SplitPart]:
    """Each area divided among its competing units by drive time (see the module docstring).

    Parameters
    ----------
    net : RoadNetwork
    trees : BaseTrees
        The prepared (outbound) base trees; inbound trees are grown here.
    registry : Registry
    model : AreaModel
        Area polygons (EPSG:3006).
    population : routing.population.SamplePoints, optional
        DeSO population points; population is 0 when not given.
    limit_s : float, optional
        Places beyond this time from every competing unit go to no unit.
    approved_only : bool
        True: only the units approved for an area compete there. False: every unit.
    direction : "outbound" or "inbound"

    Returns
    -------
    list of SplitPart, by area then unit (file order), then the unreached part of the area when a limit is given.
    """
    if direction not in ("outbound", "inbound"):
        raise ValueError(f"direction must be 'outbound' or 'inbound', not {direction!r}.")
    if limit_s is not None and not (0 < limit_s < NO_LIMIT_S):
        raise ValueError(f"limit_s must be between 0 and {NO_LIMIT_S:.0f} s.")
    max_s = NO_LIMIT_S if limit_s is None else float(limit_s)
    units = [u.id for u in registry.units]
    unit_rows = {uid: trees.rows_of(uid) for uid in units}
    per_base = trees.times if direction == "outbound" else drive_time_trees(
        net, trees.snaps, max_s + BEYOND_S, direction="inbound")
    grid = contour_grid(net)
    # Each unit's road samples once; every area it competes in cuts its own window of them.
    unit_samples = {
        uid: sample_times(net, grid, per_base[r].min(axis=0), max_s + BEYOND_S, direction, subset_snaps(trees.snaps, r))
        for uid, r in unit_rows.items() if len(r)
    }
    point_times = _point_times(net, trees.snaps, per_base, unit_rows, population, direction)
    parts = []
    for area_id, geom in zip(model.areas["id"].astype(int), model.areas.geometry):
        competing = [uid for uid in units if uid in unit_samples
                     and (not approved_only or area_id in registry.get(uid).areas)]
        parts.extend(_split_area(grid, int(area_id), geom, competing, unit_samples, max_s, limit_s is not None,
                                 population, point_times))
    return parts


def _point_times(net, snaps: SnapArray, per_base, unit_rows, population, direction) -> dict[str, np.ndarray]:
    """Lookup time (s) of every population point from each unit's nearest base."""
    if population is None or len(population) == 0:
        return {}
    t = times_to_snaps(net, per_base, population.snaps, sources=snaps, direction=direction)
    return {uid: t[rows].min(axis=0) for uid, rows in unit_rows.items() if len(rows)}


def _split_area(grid, area_id, geom, competing, unit_samples, max_s, limited, population,
                point_times) -> list[SplitPart]:
    """The parts of one area (see the module docstring)."""
    if not competing:
        return []
    beyond = max_s + BEYOND_S
    fields = [field_from_samples(grid, unit_samples[uid], beyond, geom.bounds) for uid in competing]
    times = np.stack([np.minimum(f.z, max_s + 1.0) for f in fields])  # unreached: just past the limit
    order = np.sort(times, axis=0)
    best, second = order[0], (order[1] if len(competing) > 1 else np.full_like(order[0], max_s + 1.0))
    second = np.minimum(second, max_s)  # "no unit" competes at the limit
    parts, drawn = [], []
    in_area = None if population is None else population.area_id == area_id
    owner = _owners(competing, point_times, in_area, max_s) if point_times else None
    for k, uid in enumerate(competing):
        rival = np.where(times[k] <= best, second, best)
        lead = np.where(times[k] > max_s, 1.0, times[k] - rival)  # below 0 where this unit is first
        poly = contour_below(TimeField(fields[k].x, fields[k].y, lead, beyond, fields[k].cell_m), -1e-6)
        poly = shapely.intersection(poly, geom) if not poly.is_empty else poly
        people = 0.0 if owner is None else float(population.weight[in_area & (owner == k)].sum())
        if poly.is_empty and people == 0:
            continue
        drawn.append(poly)
        parts.append(SplitPart(area_id, uid, poly, people, float(poly.area / 1e6)))
    if limited:
        rest = shapely.difference(geom, shapely.union_all(drawn)) if drawn else geom
        people = 0.0 if owner is None else float(population.weight[in_area & (owner < 0)].sum())
        parts.append(SplitPart(area_id, None, rest, people, float(rest.area / 1e6)))
    return parts


def _owners(competing, point_times, in_area, max_s) -> np.ndarray:
    """Index (in ``competing``) of each population point's first unit; -1 when none reaches it within ``max_s``."""
    t = np.stack([point_times[uid] for uid in competing])
    owner = np.argmin(t, axis=0)
    owner[t[owner, np.arange(t.shape[1])] > max_s] = -1
    owner[~in_area] = -2
    return owner


def split_geojson(parts: list[SplitPart], registry: Registry, model: AreaModel) -> dict[str, Any]:
    """A GeoJSON FeatureCollection (EPSG:4326): one feature per (area, unit) with ``area_id``, ``area``,
    ``unit_id``, ``unit``, ``population``, ``population_share`` (of the area) and ``area_km2``."""
    names = dict(zip(model.areas["id"].astype(int), model.areas["name"]))
    totals: dict[int, float] = {}
    for p in parts:
        totals[p.area_id] = totals.get(p.area_id, 0.0) + p.population
    features = []
    for p in parts:
        unit = registry.get(p.unit_id) if p.unit_id else None
        features.append({"type": "Feature", "properties": {
            "area_id": p.area_id, "area": names.get(p.area_id), "unit_id": p.unit_id,
            "unit": unit.unit if unit else None, "population": int(round(p.population)),
            "population_share": round(p.population / totals[p.area_id], 4) if totals[p.area_id] else 0.0,
            "area_km2": round(p.area_km2, 2),
        }, "geometry": None if p.geometry is None or p.geometry.is_empty else to_geojson(p.geometry)})
    return {"type": "FeatureCollection", "features": features}


def split_collection(
    settings: Settings,
    net: RoadNetwork,
    model: AreaModel,
    trees: BaseTrees,
    registry: Registry,
    minutes: float | None = None,
    approved_only: bool = True,
    direction: Direction = "outbound",
) -> dict[str, Any]:
    """The split as a GeoJSON FeatureCollection (EPSG:4326), population from the prepared DeSO points: the API's
    and the CLI's one call. ``minutes`` None: no limit (every place goes to its first unit)."""
    parts = split_by_unit(net, trees, registry, model, population_points(settings, net, model),
                          None if minutes is None else float(minutes) * 60.0, approved_only, direction)
    out = split_geojson(parts, registry, model)
    for f in out["features"]:
        f["properties"].update({"minutes": minutes, "direction": direction, "profile": net.profile,
                                "units": "approved" if approved_only else "all"})
    return out
