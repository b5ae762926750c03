"""CRS helpers: WGS84 (lat/lon, degrees) for input and output, SWEREF 99 TM (EPSG:3006, metres) for maths."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import shapely
from pyproj import Transformer

from core.settings import METRIC_CRS, WGS84


@lru_cache(maxsize=None)
def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def to_metric(lat: float | np.ndarray, lon: float | np.ndarray) -> tuple:
    """Project WGS84 latitude/longitude (degrees) to EPSG:3006 ``(x, y)`` in metres."""
    return _transformer(WGS84, METRIC_CRS).transform(lon, lat)


def to_wgs84(x: float | np.ndarray, y: float | np.ndarray) -> tuple:
    """Project EPSG:3006 ``(x, y)`` in metres to WGS84 ``(lat, lon)`` in degrees."""
    lon, lat = _transformer(METRIC_CRS, WGS84).transform(x, y)
    return lat, lon


def verify_lat_lon(lat: float, lon: float) -> None:
    """Raise ``ValueError`` with a readable sentence when ``lat``/``lon`` are not valid WGS84 degrees."""
    if not (np.isfinite(lat) and np.isfinite(lon)):
        raise ValueError("Latitude and longitude must be finite numbers.")
    if not -90 <= lat <= 90:
        raise ValueError(f"Latitude {lat} is outside -90..90 degrees.")
    if not -180 <= lon <= 180:
        raise ValueError(f"Longitude {lon} is outside -180..180 degrees.")


def geometry_to_wgs84(geom: shapely.Geometry) -> shapely.Geometry:
    """Reproject a shapely geometry from EPSG:3006 to WGS84 (x = lon, y = lat)."""
    tr = _transformer(METRIC_CRS, WGS84)
    return shapely.transform(geom, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
