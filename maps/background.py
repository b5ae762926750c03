"""The map background: a configured tile server, or land polygons on water drawn from local data.

With no ``settings.tile_url`` (the default: the service runs with no internet), the background is the county's
municipalities (Lantmäteriet 1:1M) on a water-blue page, with the neighbouring counties' municipalities in light
grey. The land layer is built once from the raw file and cached (simplified) in ``settings.cache_dir``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import folium
import geopandas as gpd

from core.settings import COUNTY_CODE, METRIC_CRS, WGS84, Settings, get_settings
from maps import style
from maps.elements import Attribution, page_css

NEIGHBOUR_MARGIN_M = 40_000
"""How far beyond the county the neighbouring municipalities are drawn."""

SIMPLIFY_M = 60.0
"""Simplification of the background land; the 1:1M source is itself ~100 m accurate."""


def load_land(settings: Settings | None = None) -> gpd.GeoDataFrame:
    """Land polygons for the local background.

    Parameters
    ----------
    settings
        Defaults to ``get_settings()``; reads ``settings.municipalities_file`` from ``settings.data_dir``.

    Returns
    -------
    GeoDataFrame
        Columns ``code``, ``name``, ``county`` (True for the county's own municipalities), geometry in EPSG:3006.
    """
    settings = settings or get_settings()
    source = settings.raw(settings.municipalities_file)
    if not source.exists():
        raise FileNotFoundError(f"Municipality polygons for the map background not found: {source}")
    cache = _cache_path(settings, source)
    if cache.exists():
        return gpd.read_file(cache, engine="pyogrio")
    raw = gpd.read_file(source, engine="pyogrio").to_crs(METRIC_CRS)
    in_county = raw["LAN_KOD"].astype(str).str.zfill(2) == COUNTY_CODE
    county = raw[in_county]
    near = raw.intersects(county.union_all().buffer(NEIGHBOUR_MARGIN_M).envelope)
    land = raw[in_county | near].copy()
    land = gpd.GeoDataFrame(
        {
            "code": land["KOM_KOD"].astype(str).str.zfill(4),
            "name": land["KOMMUNNAMN"].astype(str),
            "county": in_county[land.index].to_numpy(),
        },
        geometry=land.geometry.simplify(SIMPLIFY_M, preserve_topology=True).to_numpy(),
        crs=METRIC_CRS,
    )
    land = land.dissolve(by=["code", "name", "county"], as_index=False)
    cache.parent.mkdir(parents=True, exist_ok=True)
    land.to_file(cache, layer="land", driver="GPKG", engine="pyogrio")
    return land


def county_bounds(land: gpd.GeoDataFrame) -> list[list[float]]:
    """``[[south, west], [north, east]]`` of the county part of ``land`` (for ``Map.fit_bounds``)."""
    part = land[land["county"]] if "county" in land and land["county"].any() else land
    return bounds_latlon(part)


def bounds_latlon(gdf: gpd.GeoDataFrame) -> list[list[float]]:
    """``[[south, west], [north, east]]`` in WGS84 of any GeoDataFrame."""
    west, south, east, north = gdf.to_crs(WGS84).total_bounds
    return [[float(south), float(west)], [float(north), float(east)]]


def add_background(m: folium.Map, land: gpd.GeoDataFrame | None = None, settings: Settings | None = None) -> None:
    """Add the background and the attribution of all data sources to ``m``.

    Parameters
    ----------
    m
        A map from ``maps.offline.offline_map``.
    land
        Land polygons as from ``load_land``; loaded when None and no tile server is configured.
    settings
        Defaults to ``get_settings()``: ``tile_url`` and ``tile_attribution`` choose the background.
    """
    settings = settings or get_settings()
    root = m.get_root()
    if settings.tile_url:
        root.header.add_child(page_css(), name="asih_css")
        folium.TileLayer(
            tiles=settings.tile_url,
            attr=settings.tile_attribution or style.ATTRIBUTION,
            name="Bakgrundskarta",
            control=False,
        ).add_to(m)
    else:
        root.header.add_child(page_css(background=style.WATER), name="asih_css")
        land = land if land is not None else load_land(settings)
        _land_layer(land).add_to(m)
    Attribution(style.ATTRIBUTION).add_to(m)


def _land_layer(land: gpd.GeoDataFrame) -> folium.GeoJson:
    data = land.to_crs(WGS84)[["county", "geometry"]].copy()
    data["county"] = data["county"].astype(bool)
    return folium.GeoJson(
        data,
        name="Land",
        control=False,
        interactive=False,
        style_function=lambda f: {
            "fillColor": style.LAND if f["properties"]["county"] else style.LAND_NEIGHBOUR,
            "color": style.LAND_EDGE,
            "weight": 0.5,
            "fillOpacity": 1.0,
        },
    )


def _cache_path(settings: Settings, source: Path) -> Path:
    stat = source.stat()
    key = hashlib.sha1(f"{source.resolve()}:{stat.st_size}:{stat.st_mtime_ns}:{SIMPLIFY_M}".encode()).hexdigest()[:12]
    return settings.cache_dir / "maps" / f"background-{key}.gpkg"
