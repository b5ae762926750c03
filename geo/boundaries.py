"""Boundary loaders: municipalities, Stockholm's stadsdelsområden and stadsdelar, DeSO population polygons.

Every loader returns a GeoDataFrame in EPSG:3006 with 2-D, valid geometries.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from core.settings import COUNTY_CODE, METRIC_CRS, STOCKHOLM_CODE, Settings


class DataFileError(RuntimeError):
    """A raw or domain data file is missing or does not have the expected content."""


def _read(path: Path, **kwargs) -> gpd.GeoDataFrame:
    if not path.exists():
        raise DataFileError(f"Data file not found: {path}. Set ASIH_DATA_DIR to the raw data directory.")
    try:
        with warnings.catch_warnings():
            # The boroughs shapefile carries Z/M values; they are dropped in _clean.
            warnings.filterwarnings("ignore", message="Measured \\(M\\) geometry types")
            gdf = gpd.read_file(path, engine="pyogrio", **kwargs)
    except Exception as exc:  # pyogrio raises several types for broken files
        raise DataFileError(f"Cannot read {path.name}: {exc}") from exc
    if gdf.crs is None:
        raise DataFileError(f"{path.name} has no CRS.")
    missing = int((gdf.geometry.isna() | gdf.geometry.is_empty).sum())
    if missing:
        raise DataFileError(
            f"{path.name}: {missing} of {len(gdf)} features have no geometry; the file is truncated or damaged."
        )
    if gdf.empty:
        raise DataFileError(f"{path.name} has no features.")
    return gdf


def _clean(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    gdf = gdf.to_crs(METRIC_CRS)
    geoms = shapely.force_2d(gdf.geometry.values)
    geoms = shapely.make_valid(geoms)
    return gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=METRIC_CRS))


def _require(gdf: gpd.GeoDataFrame, columns: list[str], name: str) -> None:
    missing = [c for c in columns if c not in gdf.columns]
    if missing:
        raise DataFileError(f"{name} lacks the column(s) {', '.join(missing)}.")


def load_all_municipalities(settings: Settings) -> gpd.GeoDataFrame:
    """All of Sweden's municipalities: columns ``code`` (4 digits), ``name``, ``county_code``, geometry (EPSG:3006)."""
    raw = _read(settings.raw(settings.municipalities_file))
    _require(raw, ["KOMMUNNAMN", "KOM_KOD", "LAN_KOD"], settings.municipalities_file)
    gdf = gpd.GeoDataFrame(
        {
            "code": raw["KOM_KOD"].astype(str).str.zfill(4),
            "name": raw["KOMMUNNAMN"].astype(str),
            "county_code": raw["LAN_KOD"].astype(str).str.zfill(2),
        },
        geometry=raw.geometry,
        crs=raw.crs,
    )
    return _clean(gdf)


def load_municipalities(settings: Settings) -> gpd.GeoDataFrame:
    """The county's municipalities (26 for Stockholm County): ``code``, ``name``, geometry (EPSG:3006)."""
    gdf = load_all_municipalities(settings)
    county = gdf[gdf["county_code"] == COUNTY_CODE].drop(columns="county_code")
    if county.empty:
        raise DataFileError(f"No municipality with LAN_KOD == '{COUNTY_CODE}' in {settings.municipalities_file}.")
    return county.dissolve(by="code", aggfunc="first", as_index=False)[["code", "name", "geometry"]]


def load_boroughs(settings: Settings) -> gpd.GeoDataFrame:
    """Stockholm city's stadsdelsområden (13 since 2020): ``name``, geometry (EPSG:3006)."""
    raw = _read(settings.raw(settings.boroughs_file))
    _require(raw, ["Sdn_omarde"], settings.boroughs_file)
    gdf = gpd.GeoDataFrame({"name": raw["Sdn_omarde"].astype(str).str.strip()}, geometry=raw.geometry, crs=raw.crs)
    return _clean(gdf).dissolve(by="name", as_index=False)[["name", "geometry"]]


def load_districts(settings: Settings) -> gpd.GeoDataFrame:
    """Stockholm city's stadsdelar (117): ``name`` (title case), ``name_upper``, geometry (EPSG:3006, with water)."""
    raw = _read(settings.raw(settings.districts_file))
    _require(raw, ["name"], settings.districts_file)
    upper = raw["name"].astype(str).str.strip()
    gdf = gpd.GeoDataFrame(
        {"name": upper.map(_title), "name_upper": upper}, geometry=raw.geometry, crs=raw.crs
    )
    return _clean(gdf)


def load_district_table(settings: Settings) -> pd.DataFrame:
    """The raw stadsdel → stadsdelsområde table (``stadsdel`` upper case, ``stadsdelsomrade``), for cross-checks."""
    path = settings.raw(settings.district_table_file)
    if not path.exists():
        return pd.DataFrame(columns=["stadsdel", "stadsdelsomrade"])
    return pd.read_csv(path, dtype=str)


def load_deso(settings: Settings) -> gpd.GeoDataFrame:
    """DeSO statistical areas: ``deso``, ``municipality_code``, ``population`` (2023), geometry (EPSG:3006, land)."""
    raw = _read(settings.raw(settings.deso_file))
    _require(raw, ["id", "kommun", "pop_2023"], settings.deso_file)
    gdf = gpd.GeoDataFrame(
        {
            "deso": raw["id"].astype(str),
            "municipality_code": raw["kommun"].astype(str).str.zfill(4),
            "population": pd.to_numeric(raw["pop_2023"], errors="coerce").fillna(0).astype("int64"),
        },
        geometry=raw.geometry,
        crs=raw.crs,
    )
    return _clean(gdf)


def _title(name: str) -> str:
    """'HÄSSELBY GÅRD' → 'Hässelby Gård'; 'SÖDRA HAMMARBYHAMNEN' → 'Södra Hammarbyhamnen'."""
    return "-".join(" ".join(w.capitalize() for w in part.split(" ")) for part in name.split("-"))


__all__ = [
    "DataFileError",
    "STOCKHOLM_CODE",
    "load_all_municipalities",
    "load_boroughs",
    "load_deso",
    "load_district_table",
    "load_districts",
    "load_municipalities",
]
