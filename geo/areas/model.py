"""The prepared area model: definitions, reconciled polygons, districts and population, cached once.

``prepare_area_model`` builds and validates everything from the raw boundary files and ``data/areas.yaml``;
``load_area_model`` reads the cache (rebuilding it when an input changed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from geo import boundaries
from geo.areas.build import (
    AreaGeometryReport,
    build_units,
    check_area_geometry,
    dissolve_areas,
    population_by_area,
    verify_area_geometry,
)
from geo.areas.definitions import (
    AreaDefinitions,
    read_area_definitions,
    validate_definitions,
)
from geo.cache import (
    CacheError,
    entry_is_fresh,
    inputs_checksum,
    read_entry,
    write_entry,
)
from geo.settings import Settings

ENTRY = "areas"
_OBJECTS = ["model"]


@dataclass
class AreaModel:
    """Everything the service knows about areas, in EPSG:3006.

    Attributes
    ----------
    defs : the validated definitions from the areas file.
    units : one disjoint polygon per municipality / Stockholm borough, with ``area_id``.
    areas : the eight area polygons (``id, name, provenance, geometry``).
    land : area land (area ∩ DeSO land) per area id, a GeoDataFrame like ``areas``.
    districts : Stockholm's 117 stadsdelar with ``borough``.
    deso : DeSO polygons with ``area_id``, ``municipality_code``, ``borough``, ``population``.
    county : the union of all units (EPSG:3006).
    all_municipalities : Sweden's municipalities (``code, name, county_code``) for out-of-county answers.
    report : overlap and land-coverage figures.
    district_table_mismatches : stadsdelar whose borough differs from the raw derived table.
    """

    defs: AreaDefinitions
    units: gpd.GeoDataFrame
    areas: gpd.GeoDataFrame
    land: gpd.GeoDataFrame
    districts: gpd.GeoDataFrame
    deso: gpd.GeoDataFrame
    county: shapely.Geometry
    all_municipalities: gpd.GeoDataFrame
    report: AreaGeometryReport
    district_table_mismatches: list[str] = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        """Per area: ``id, name, municipalities, districts, area_km2, land_km2, population, provenance``."""
        pop = self.deso.groupby("area_id")["population"].sum()
        land = dict(zip(self.land["id"], self.land.geometry.area / 1e6))
        rows = []
        for a, geom in zip(self.defs.areas, self.areas.geometry):
            rows.append(
                {
                    "id": a.id,
                    "name": a.name,
                    "municipalities": list(a.municipalities),
                    "districts": list(a.districts),
                    "area_km2": round(geom.area / 1e6, 2),
                    "land_km2": round(land.get(a.id, 0.0), 2),
                    "population": int(pop.get(a.id, 0)),
                    "provenance": a.provenance,
                    "provenance_note": a.provenance_note,
                }
            )
        return pd.DataFrame(rows)


def _inputs(settings: Settings) -> list[Path]:
    return [
        settings.areas_file,
        settings.raw(settings.municipalities_file),
        settings.raw(settings.boroughs_file),
        settings.raw(settings.districts_file),
        settings.raw(settings.deso_file),
        settings.raw(settings.district_table_file),
    ]


def build_area_model(settings: Settings, areas_file: Path | None = None) -> AreaModel:
    """Build and validate the area model from raw files (no cache). Raises ``AreaDataError`` when invalid."""
    defs = read_area_definitions(areas_file or settings.areas_file)
    all_munis = boundaries.load_all_municipalities(settings)
    munis = boundaries.load_municipalities(settings)
    boroughs = boundaries.load_boroughs(settings)
    deso = boundaries.load_deso(settings)
    validate_definitions(defs, dict(zip(munis["code"], munis["name"])), list(boroughs["name"]))

    units = build_units(defs, munis, boroughs, deso)
    areas = dissolve_areas(defs, units)
    report = check_area_geometry(areas, deso)
    verify_area_geometry(report, settings.area_overlap_tolerance_km2, settings.area_min_land_coverage)

    land_union = shapely.union_all(deso.geometry.values)
    land = areas.set_geometry(shapely.intersection(areas.geometry.values, land_union))
    deso_areas = population_by_area(units, deso)
    deso = deso.merge(deso_areas[["deso", "area_id", "borough"]], on="deso", how="left")
    districts, mismatches = _districts_with_boroughs(settings, boroughs)
    return AreaModel(
        defs=defs,
        units=units,
        areas=areas,
        land=land,
        districts=districts,
        deso=deso,
        county=shapely.union_all(units.geometry.values),
        all_municipalities=all_munis,
        report=report,
        district_table_mismatches=mismatches,
    )


def _districts_with_boroughs(settings: Settings, boroughs: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Assign each stadsdel to the borough it overlaps most; list disagreements with the raw derived table."""
    districts = boundaries.load_districts(settings)
    pairs = gpd.overlay(districts[["name", "geometry"]], boroughs.rename(columns={"name": "borough"}), how="intersection")
    pairs["_m2"] = pairs.geometry.area
    best = pairs.sort_values("_m2", ascending=False).drop_duplicates("name").set_index("name")["borough"]
    districts["borough"] = districts["name"].map(best)
    table = boundaries.load_district_table(settings)
    derived = dict(zip(table["stadsdel"].str.upper(), table["stadsdelsomrade"]))
    mismatches = [
        f"{n}: geometry says {b}, table says {derived.get(u)}"
        for n, u, b in zip(districts["name"], districts["name_upper"], districts["borough"])
        if u in derived and derived[u] != b
    ]
    return districts, mismatches


def prepare_area_model(settings: Settings, force: bool = False) -> AreaModel:
    """Build the area model and cache it under ``settings.cache_dir / 'areas'`` (skipped when fresh)."""
    entry = settings.cache_dir / ENTRY
    checksum = inputs_checksum(_inputs(settings), {"tol": settings.area_overlap_tolerance_km2})
    if not force and entry_is_fresh(entry, checksum):
        return read_entry(entry, _OBJECTS)["model"]
    model = build_area_model(settings)
    write_entry(entry, checksum, {"model": model}, {"areas": len(model.areas), "units": len(model.units)})
    return model


def load_area_model(settings: Settings, rebuild: bool = True) -> AreaModel:
    """The cached area model; rebuilt when missing or stale unless ``rebuild`` is False (then ``CacheError``)."""
    entry = settings.cache_dir / ENTRY
    checksum = inputs_checksum(_inputs(settings), {"tol": settings.area_overlap_tolerance_km2})
    if entry_is_fresh(entry, checksum):
        return read_entry(entry, _OBJECTS)["model"]
    if not rebuild:
        raise CacheError(f"The area cache in {entry} is missing or was built from other data; run `asih prepare`.")
    return prepare_area_model(settings, force=True)
