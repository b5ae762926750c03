"""GIS exports for the region's analysts: GeoJSON (WGS84, as RFC 7946 requires) and GeoPackage (SWEREF 99 TM)."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd

from core.settings import METRIC_CRS, WGS84

FORMATS = {".geojson": "GeoJSON", ".gpkg": "GPKG"}
"""Output extension -> GDAL driver."""

_LAYER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def export_layer(gdf: gpd.GeoDataFrame, path: str | Path, layer: str | None = None) -> Path:
    """Write a layer as GeoJSON (EPSG:4326) or GeoPackage (EPSG:3006), chosen by the file extension.

    Parameters
    ----------
    gdf
        The layer; any CRS (it must have one).
    path
        ``.geojson`` or ``.gpkg``. An existing GeoJSON file is replaced; a GeoPackage gets the layer added or
        replaced, so several layers can share one file.
    layer
        GeoPackage layer name (letters, digits, underscore); defaults to the file's stem. Ignored for GeoJSON.

    Returns
    -------
    Path
        The written file.
    """
    path = Path(path)
    driver = FORMATS.get(path.suffix.lower())
    if driver is None:
        raise ValueError(
            f"Cannot export to {path.name!r}: the extension must be one of {', '.join(FORMATS)} "
            "(GeoJSON in WGS84, GeoPackage in SWEREF 99 TM)."
        )
    _verify_layer(gdf)
    path.parent.mkdir(parents=True, exist_ok=True)
    if driver == "GeoJSON":
        if path.exists():
            path.unlink()
        gdf.to_crs(WGS84).to_file(path, driver=driver, engine="pyogrio")
        return path
    name = layer or re.sub(r"\W", "_", path.stem, flags=re.ASCII)
    if not _LAYER_NAME.match(name):
        raise ValueError(f"GeoPackage layer name {name!r} must start with a letter and hold only letters, digits, _.")
    gdf.to_crs(METRIC_CRS).to_file(path, driver=driver, layer=name, engine="pyogrio")
    return path


def _verify_layer(gdf: gpd.GeoDataFrame) -> None:
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise TypeError(f"Only a GeoDataFrame can be exported, got {type(gdf).__name__}.")
    if gdf.crs is None:
        raise ValueError("The layer has no CRS; set it (EPSG:3006 for the project's layers) before exporting.")
