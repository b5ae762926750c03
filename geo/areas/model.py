"""The prepared area model: definitions, reconciled polygons, districts and population, cached once.

``prepare_area_model`` builds and validates everything from the raw boundary files and ``data/areas.yaml``;
``load_area_model`` reads the cache (rebuilding it when an input changed or a stored file is damaged). The cache
holds a GeoPackage (one layer per GeoDataFrame) and JSON, hashed and checked on load.
"""

from __future__ import annotations

import tempfile
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
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
    AreaDefinition,
    AreaDefinitions,
    read_area_definitions,
    validate_definitions,
)
from core.cache import EntryDamaged, inputs_checksum, load_or_build, require
from core.encoding import json_bytes, json_value
from core.settings import Settings

ENTRY = "areas"


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
    """Build the area model and cache it under ``settings.cache_dir / 'areas'`` (skipped when fresh and intact)."""
    return _load_or_build(settings, rebuild=True, force=force)


def load_area_model(settings: Settings, rebuild: bool = True) -> AreaModel:
    """The cached area model; rebuilt when missing, stale or damaged unless ``rebuild`` is False (then
    :class:`~core.cache.CacheError`, one sentence naming the entry or file and the fix)."""
    return _load_or_build(settings, rebuild=rebuild, force=False)


def _load_or_build(settings: Settings, rebuild: bool, force: bool) -> AreaModel:
    entry = settings.cache_dir / ENTRY
    checksum = inputs_checksum(_inputs(settings), {"tol": settings.area_overlap_tolerance_km2})
    return load_or_build(
        entry, checksum, what="The area cache", names=[GPKG, META],
        decode=lambda files: _model_from_files(files, entry),
        build=lambda: build_area_model(settings),
        encode=_model_files,
        info=lambda m: {"areas": len(m.areas), "units": len(m.units)},
        rebuild=rebuild, force=force,
    )


# -- cache files: one GeoPackage with a layer per GeoDataFrame, JSON for the rest (nothing that runs code) --------

GPKG = "model.gpkg"
META = "model.json"
_LAYERS = ("units", "areas", "land", "districts", "deso", "all_municipalities")


def _model_files(model: AreaModel) -> dict[str, bytes]:
    with tempfile.TemporaryDirectory(prefix="asih-areas-") as tmp:
        path = Path(tmp) / GPKG
        for layer in _LAYERS:
            pyogrio.write_dataframe(getattr(model, layer), path, layer=layer, driver="GPKG",
                                    promote_to_multi=False, geometry_type="Unknown")
        county = gpd.GeoDataFrame({"name": ["county"]}, geometry=[model.county], crs=model.areas.crs)
        pyogrio.write_dataframe(county, path, layer="county", driver="GPKG", promote_to_multi=False,
                                geometry_type="Unknown")
        gpkg = path.read_bytes()
    defs = model.defs
    meta = {
        "defs": {"areas": [asdict(a) for a in defs.areas], "source_note": defs.source_note, "version": defs.version,
                 "path": str(defs.path) if defs.path else None},
        "report": asdict(model.report),
        "district_table_mismatches": list(model.district_table_mismatches),
        "columns": {layer: list(getattr(model, layer).columns) for layer in _LAYERS},
    }
    return {GPKG: gpkg, META: json_bytes(meta)}


def _model_from_files(files: dict[str, bytes], entry: Path) -> AreaModel:
    """The model from verified files, checked: every layer in EPSG:3006 with its columns, no empty geometry, the
    areas those of the definitions, population ≥ 0."""
    meta = json_value(files[META])
    path = entry / GPKG
    layers = {}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*non conformant file extension.*")
        for layer in (*_LAYERS, "county"):
            try:
                gdf = pyogrio.read_dataframe(files[GPKG], layer=layer)
            except Exception as exc:  # noqa: BLE001 - GDAL raises several types for an unreadable layer
                raise EntryDamaged(
                    f"The cache file {path} is damaged (layer {layer}: {type(exc).__name__}); run `asih prepare` "
                    "to rebuild it."
                ) from None
            require(gdf.crs is not None and gdf.crs.to_epsg() == 3006, path, f"layer {layer} is not in EPSG:3006")
            require(not bool(gdf.geometry.isna().any() or gdf.geometry.is_empty.any()) or layer == "land", path,
                    f"layer {layer} has empty geometries")
            if layer != "county":
                require(list(gdf.columns) == meta["columns"][layer] or set(gdf.columns) == set(meta["columns"][layer]),
                        path, f"layer {layer} lacks columns")
                gdf = gdf[meta["columns"][layer]]
            layers[layer] = gdf
    d = meta["defs"]
    defs = AreaDefinitions(
        areas=tuple(AreaDefinition(**{**a, "municipalities": tuple(a["municipalities"]),
                                      "districts": tuple(a["districts"])}) for a in d["areas"]),
        source_note=d["source_note"], version=d["version"], path=Path(d["path"]) if d["path"] else None,
    )
    areas, deso = layers["areas"], layers["deso"]
    require(list(areas["id"]) == defs.ids, path, f"areas {list(areas['id'])} where the definitions have {defs.ids}")
    require(bool((deso["population"] >= 0).all()) and bool(deso["area_id"].isin(defs.ids).all()), path,
            "DeSO population below 0 or in unknown areas")
    r = meta["report"]
    report = AreaGeometryReport(r["max_overlap_km2"], [tuple(o) for o in r["overlaps"]], r["land_km2"],
                                r["covered_land_km2"])
    return AreaModel(
        defs=defs, units=layers["units"], areas=areas, land=layers["land"], districts=layers["districts"], deso=deso,
        county=layers["county"].geometry.iloc[0], all_municipalities=layers["all_municipalities"], report=report,
        district_table_mismatches=list(meta["district_table_mismatches"]),
    )
