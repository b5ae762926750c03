"""Build the area polygons from municipality and stadsdelsområde borders, and check them geometrically.

The Lantmäteriet 1:1M municipality polygons and Stockholm's detailed borough polygons disagree by a few km² along
Stockholm's outer border. We reconcile them so that the result is a partition:

1. Outside Stockholm city, an area's land is its municipalities' Lantmäteriet polygons.
2. Stockholm city's Lantmäteriet polygon is split among its boroughs: each borough is clipped to it, and every
   piece the boroughs leave uncovered goes to the borough it shares the longest border with (nearest as fallback).
   Borough parts outside the Lantmäteriet polygon are dropped (they belong to the neighbouring municipality).
3. DeSO land that the generalised 1:1M coastline leaves out (islands, piers) is added to the unit of the DeSO's
   own municipality (in Stockholm: the borough it touches most).

Units (one polygon per municipality or borough) are thus disjoint by construction; areas are unions of units.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.areas.definitions import AreaDataError, AreaDefinitions
from core.settings import METRIC_CRS, STOCKHOLM_CODE

_SNAP_M = 0.5
"""Shared-border detection width (m) when assigning leftover pieces to a neighbour."""


def build_units(
    defs: AreaDefinitions,
    municipalities: gpd.GeoDataFrame,
    boroughs: gpd.GeoDataFrame,
    deso: gpd.GeoDataFrame,
) -> gpd.GeoDataFrame:
    """Reconciled, disjoint member polygons with their area.

    Returns
    -------
    GeoDataFrame
        One row per municipality (or Stockholm borough): ``unit`` (municipality code or borough name),
        ``municipality_code``, ``municipality_name``, ``borough`` (or None), ``area_id``, geometry (EPSG:3006).
    """
    muni_area = {code: a.id for a in defs.areas for code in a.municipalities}
    borough_area = {name.casefold(): a.id for a in defs.areas for name in a.districts}
    names = dict(zip(municipalities["code"], municipalities["name"]))

    rows = []
    for code, geom in zip(municipalities["code"], municipalities.geometry):
        if code == STOCKHOLM_CODE:
            continue
        rows.append((code, code, names[code], None, muni_area[code], geom))

    stockholm = municipalities.loc[municipalities["code"] == STOCKHOLM_CODE, "geometry"]
    if not stockholm.empty:
        for name, geom in _split_stockholm(stockholm.iloc[0], boroughs).items():
            rows.append((name, STOCKHOLM_CODE, names[STOCKHOLM_CODE], name, borough_area[name.casefold()], geom))

    units = gpd.GeoDataFrame(
        rows, columns=["unit", "municipality_code", "municipality_name", "borough", "area_id", "geometry"], crs=METRIC_CRS
    )
    return _add_uncovered_land(units, deso)


def _split_stockholm(stockholm: shapely.Geometry, boroughs: gpd.GeoDataFrame) -> dict[str, shapely.Geometry]:
    names = list(boroughs["name"])
    pieces: list[shapely.Geometry] = []
    taken = shapely.Polygon()
    for geom in boroughs.geometry:
        piece = shapely.intersection(geom, stockholm).difference(taken)
        pieces.append(piece)
        taken = shapely.union(taken, piece)
    remainder = shapely.get_parts(shapely.difference(stockholm, taken))
    extra: list[list[shapely.Geometry]] = [[] for _ in names]
    for part in remainder:
        if part.area <= 0:
            continue
        extra[_best_neighbour(part, pieces)].append(part)
    return {
        name: _polygonal(shapely.union_all([piece, *more])) for name, piece, more in zip(names, pieces, extra)
    }


def _best_neighbour(part: shapely.Geometry, candidates: list[shapely.Geometry]) -> int:
    """Index of the candidate sharing the longest border with ``part`` (nearest when none touches)."""
    border = part.boundary
    shared = np.array([shapely.intersection(border, c.buffer(_SNAP_M)).length for c in candidates])
    if shared.max() > 0:
        return int(shared.argmax())
    return int(np.argmin([part.distance(c) for c in candidates]))


def _add_uncovered_land(units: gpd.GeoDataFrame, deso: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    covered = shapely.union_all(units.geometry.values)
    land = shapely.union_all(deso.geometry.values)
    leftover = [p for p in shapely.get_parts(shapely.difference(land, covered)) if p.area > 0]
    if not leftover:
        return units
    parts = gpd.GeoDataFrame(geometry=leftover, crs=METRIC_CRS)
    points = gpd.GeoDataFrame(geometry=parts.representative_point(), crs=METRIC_CRS)
    owner = gpd.sjoin_nearest(points, deso[["municipality_code", "geometry"]], how="left")
    owner = owner[~owner.index.duplicated()]
    additions: dict[int, list[shapely.Geometry]] = {}
    geoms = list(units.geometry)
    for idx, part in parts.geometry.items():
        code = owner.loc[idx, "municipality_code"]
        candidates = np.flatnonzero((units["municipality_code"] == code).to_numpy())
        if candidates.size == 0:
            candidates = np.arange(len(units))
        best = candidates[_best_neighbour(part, [geoms[i] for i in candidates])]
        additions.setdefault(int(best), []).append(part)
    for i, more in additions.items():
        geoms[i] = _polygonal(shapely.union_all([geoms[i], *more]))
    return units.set_geometry(gpd.GeoSeries(geoms, index=units.index, crs=METRIC_CRS))


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """Keep only the polygonal parts (set operations can leave lines and points behind)."""
    parts = [p for p in shapely.get_parts(geom) if isinstance(p, (shapely.Polygon, shapely.MultiPolygon))]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def dissolve_areas(defs: AreaDefinitions, units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Area polygons: ``id``, ``name``, ``provenance``, geometry (EPSG:3006), in the file's order."""
    by_id = defs.by_id()
    geoms = units.groupby("area_id").geometry.apply(lambda s: shapely.union_all(s.values))
    rows = [(a.id, a.name, a.provenance, geoms.get(a.id, shapely.Polygon())) for a in by_id.values()]
    return gpd.GeoDataFrame(rows, columns=["id", "name", "provenance", "geometry"], crs=METRIC_CRS)


@dataclass(frozen=True)
class AreaGeometryReport:
    """Geometric checks of a set of area polygons (areas in km², shares as fractions)."""

    max_overlap_km2: float
    overlaps: list[tuple[int, int, float]]
    land_km2: float
    covered_land_km2: float

    @property
    def land_coverage(self) -> float:
        """Share of the DeSO land covered by some area (0..1)."""
        return self.covered_land_km2 / self.land_km2 if self.land_km2 else 0.0

    @property
    def land_gap_km2(self) -> float:
        """Land not in any area (km²)."""
        return self.land_km2 - self.covered_land_km2


def check_area_geometry(areas: gpd.GeoDataFrame, deso: gpd.GeoDataFrame) -> AreaGeometryReport:
    """Measure pairwise overlaps between areas and the share of DeSO land they cover."""
    tree = shapely.STRtree(areas.geometry.values)
    left, right = tree.query(areas.geometry.values, predicate="intersects")
    overlaps = []
    ids = areas["id"].to_numpy()
    for i, j in zip(left, right):
        if i < j:
            km2 = shapely.intersection(areas.geometry.iloc[i], areas.geometry.iloc[j]).area / 1e6
            overlaps.append((int(ids[i]), int(ids[j]), km2))
    land = shapely.union_all(deso.geometry.values)
    covered = shapely.intersection(land, shapely.union_all(areas.geometry.values))
    return AreaGeometryReport(
        max_overlap_km2=max((o[2] for o in overlaps), default=0.0),
        overlaps=overlaps,
        land_km2=land.area / 1e6,
        covered_land_km2=covered.area / 1e6,
    )


def verify_area_geometry(
    report: AreaGeometryReport, overlap_tolerance_km2: float, min_land_coverage: float
) -> None:
    """Raise :class:`AreaDataError` naming the areas that overlap, or the land gap, above the tolerances."""
    problems = [
        f"Areas {a} and {b} overlap by {km2:.3f} km² (tolerance {overlap_tolerance_km2} km²)."
        for a, b, km2 in report.overlaps
        if km2 > overlap_tolerance_km2
    ]
    if report.land_coverage < min_land_coverage:
        problems.append(
            f"The areas cover {report.land_coverage:.4%} of the county's land ({report.land_gap_km2:.2f} km² left out); "
            f"at least {min_land_coverage:.2%} is required."
        )
    if problems:
        raise AreaDataError(problems)


def population_by_area(units: gpd.GeoDataFrame, deso: gpd.GeoDataFrame) -> pd.DataFrame:
    """DeSO 2023 population per area: each DeSO counts whole in the unit it overlaps most.

    Returns
    -------
    DataFrame
        ``deso``, ``area_id``, ``municipality_code``, ``borough``, ``population`` — one row per DeSO.
    """
    pairs = gpd.overlay(
        deso[["deso", "population", "geometry"]],
        units[["area_id", "municipality_code", "borough", "geometry"]],
        how="intersection",
        keep_geom_type=True,
    )
    pairs["_m2"] = pairs.geometry.area
    best = pairs.sort_values("_m2", ascending=False).drop_duplicates("deso")
    missing = set(deso["deso"]) - set(best["deso"])
    if missing:
        raise AreaDataError([f"DeSO {d} lies in no area." for d in sorted(missing)[:10]])
    return best[["deso", "area_id", "municipality_code", "borough", "population"]].reset_index(drop=True)
