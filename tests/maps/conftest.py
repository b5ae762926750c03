"""Real inputs for the map tests, built from the raw files and data/*.yaml.

The areas are a rough stand-in for ``geo.areas``: municipalities from Lantmäteriet (LAN_KOD 01) and Stockholm's
stadsdelsområden (clipped to Stockholm city) dissolved by the mapping in data/areas.yaml.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import yaml
from shapely import force_2d

from geo.settings import METRIC_CRS, WGS84, get_settings
from maps.background import load_land
from maps.interactive import flatten_bases


def _raw(name: str) -> Path:
    path = get_settings().raw(name)
    if not path.exists():
        pytest.skip(f"raw data file missing: {path}")
    return path


@pytest.fixture(scope="session")
def settings():
    return get_settings()


@pytest.fixture(scope="session")
def municipalities() -> gpd.GeoDataFrame:
    raw = gpd.read_file(_raw(get_settings().municipalities_file), engine="pyogrio")
    county = raw[raw["LAN_KOD"] == "01"]
    out = gpd.GeoDataFrame(
        {"code": county["KOM_KOD"].astype(str), "name": county["KOMMUNNAMN"]}, geometry=county.geometry, crs=raw.crs
    ).dissolve(by=["code", "name"], as_index=False)
    return out.to_crs(METRIC_CRS)


@pytest.fixture(scope="session")
def boroughs(municipalities) -> gpd.GeoDataFrame:
    with warnings.catch_warnings():  # the shapefile has Z/M; only 2D is used
        warnings.filterwarnings("ignore", message="Measured", category=UserWarning)
        raw = gpd.read_file(_raw(get_settings().boroughs_file), engine="pyogrio")
    raw = raw.set_geometry(force_2d(raw.geometry.to_numpy()), crs=raw.crs).to_crs(METRIC_CRS)
    city = municipalities.loc[municipalities["code"] == "0180"].geometry.iloc[0]
    out = gpd.GeoDataFrame({"name": raw["Sdn_omarde"]}, geometry=raw.geometry.buffer(0), crs=METRIC_CRS)
    out = out.dissolve(by="name", as_index=False)
    out["geometry"] = out.geometry.intersection(city)
    return out


@pytest.fixture(scope="session")
def areas(municipalities, boroughs) -> gpd.GeoDataFrame:
    spec = yaml.safe_load(get_settings().areas_file.read_text(encoding="utf-8"))["areas"]
    rows = []
    for area in spec:
        parts = list(municipalities.loc[municipalities["code"].isin(area["municipalities"])].geometry)
        parts += list(boroughs.loc[boroughs["name"].isin(area["districts"])].geometry)
        rows.append({"id": int(area["id"]), "name": area["name"], "provenance": area["provenance"],
                     "geometry": gpd.GeoSeries(parts, crs=METRIC_CRS).union_all()})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=METRIC_CRS)


@pytest.fixture(scope="session")
def units() -> list[dict]:
    return yaml.safe_load(get_settings().providers_file.read_text(encoding="utf-8"))["units"]


@pytest.fixture(scope="session")
def bases(units) -> list[dict]:
    return flatten_bases(units)


@pytest.fixture(scope="session")
def land(settings) -> gpd.GeoDataFrame:
    _raw(settings.municipalities_file)
    return load_land(settings)


def _base_points(unit: dict) -> gpd.GeoSeries:
    return gpd.GeoSeries.from_xy([b["lon"] for b in unit["bases"]], [b["lat"] for b in unit["bases"]],
                                 crs=WGS84).to_crs(METRIC_CRS)


@pytest.fixture(scope="session")
def sodertalje(units) -> dict:
    return next(u for u in units if u["id"] == "sodertalje-sjukhus")


@pytest.fixture(scope="session")
def reach(sodertalje):
    """A stand-in reach polygon (20 km around the base) until routing's isochrones land."""
    return _base_points(sodertalje).buffer(20_000).union_all()


@pytest.fixture(scope="session")
def gaps(areas, sodertalje, reach) -> gpd.GeoDataFrame:
    approved = areas[areas["id"].isin(sodertalje["areas"])]
    diff = approved.geometry.difference(reach)
    return gpd.GeoDataFrame({"area_id": approved["id"].to_numpy(), "population": [12345.0] * len(approved)},
                            geometry=diff.to_numpy(), crs=METRIC_CRS)


@pytest.fixture(scope="session")
def deso(units) -> gpd.GeoDataFrame:
    """DeSO with a straight-line stand-in for 'choices': approved units with a base within 20 km."""
    raw = gpd.read_file(_raw(get_settings().deso_file), engine="pyogrio").to_crs(METRIC_CRS)
    bases = pd.concat([
        gpd.GeoDataFrame({"unit": [u["id"]] * len(u["bases"])}, geometry=_base_points(u).to_numpy(), crs=METRIC_CRS) for u in units
    ])
    centroids = raw.geometry.representative_point()
    choices = [int(bases[bases.distance(pt) <= 20_000]["unit"].nunique()) for pt in centroids]
    return gpd.GeoDataFrame({"deso": raw["id"], "population": raw["pop_2023"], "choices": choices},
                            geometry=raw.geometry, crs=METRIC_CRS)


@pytest.fixture(scope="session")
def lookup_result() -> dict:
    """A lookup answer for a point on Södermalm (the JSON contract of the lookup endpoint)."""
    return {
        "query": {"precision": "postcode", "matched": "118 25 Stockholm", "lat": 59.3170, "lon": 18.0600},
        "area": {"id": 4, "name": "Södermalm / Nacka–Värmdö", "border_warning": False},
        "eligible": [
            {"unit": "ASIH Ersta Diakoni", "organisation": "Ersta Diakonisällskap", "drive_time_s": 300.0,
             "within_limit": True, "base_precision": "place", "capacity_note": None},
            {"unit": "ASIH Syd Aleris", "organisation": "Aleris Närsjukvård AB", "drive_time_s": 1980.0,
             "within_limit": False, "base_precision": "place", "capacity_note": None},
        ],
        "reachable_not_approved": [
            {"unit": "ASIH Rehabhotellet", "organisation": "Rehabhotellet AB", "drive_time_s": 420.0,
             "within_limit": True, "base_precision": "unknown", "capacity_note": None},
        ],
        "warnings": ["Adressen matchades bara på postnummer."],
    }
