"""GeoJSON out: geometries in EPSG:3006 written as WGS84 GeoJSON with rounded coordinates, serialised once.

Why a module of its own: a 30-minute isochrone has 5 000–15 000 vertices. Building nested Python lists of them
(shapely's ``mapping``) and walking those with FastAPI's generic encoder took ~70 ms of a ~125 ms HTTP answer; the
GEOS GeoJSON writer (:func:`shapely.to_geojson`) writes the same coordinates in ~3 ms. :func:`geometry_text` gives
such a written geometry (a :class:`GeoJSONText`), and :func:`dumps` embeds it as is in the JSON of the rest of the
answer, which is small (properties), so the coordinates are serialised exactly once.

Coordinates are rounded to :data:`COORD_DECIMALS` decimals of a degree.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping

from core.crs import geometry_to_wgs84

COORD_DECIMALS = 6
"""Decimals of a degree in GeoJSON output. 1e-6° is 0.11 m north–south and 0.06 m east–west at 59° N: far below the
accuracy of the polygons written (isochrones are contoured on a 100 m grid, routing.contours) and of the data."""


class GeoJSONText(str):
    """A GeoJSON geometry already serialised: :func:`dumps` embeds it as is; ``json.loads`` reads it back."""


def wgs84_rounded(geom: shapely.Geometry, decimals: int = COORD_DECIMALS) -> shapely.Geometry:
    """A geometry in EPSG:3006 reprojected to WGS84 (x = lon, y = lat) with coordinates rounded to ``decimals``."""
    return shapely.transform(geometry_to_wgs84(geom), lambda xy: np.round(xy, decimals))


def geometry_dict(geom: shapely.Geometry, decimals: int = COORD_DECIMALS) -> dict[str, Any]:
    """A geometry in EPSG:3006 as a GeoJSON geometry dict (EPSG:4326, lon/lat, ``decimals`` decimals)."""
    return mapping(wgs84_rounded(geom, decimals))


def geometry_text(geom: shapely.Geometry, decimals: int = COORD_DECIMALS) -> GeoJSONText:
    """A geometry in EPSG:3006 as serialised GeoJSON (EPSG:4326, lon/lat, ``decimals`` decimals): the same content as
    :func:`geometry_dict`, written by GEOS."""
    wgs = wgs84_rounded(geom, decimals)
    if wgs.is_empty:
        # GEOS writes an empty polygon as [[]], shapely's mapping as []: keep one answer for both paths.
        return GeoJSONText(json.dumps(mapping(wgs), separators=(",", ":")))
    return GeoJSONText(shapely.to_geojson(wgs))


def dumps(content: Any, default: Callable[[Any], Any] | None = None) -> str:
    """``content`` (dicts, lists, JSON scalars) as compact JSON text, each :class:`GeoJSONText` in its dicts and
    lists embedded as is.

    Only the structure around the geometries is walked (features and their properties), never coordinate lists.
    ``default`` turns what ``json`` cannot write (dates, models, …) into what it can, as in :func:`json.dumps`.
    Non-finite floats raise ``ValueError``, as the app's JSON answers do.
    """
    texts: list[str] = []
    nonce = secrets.token_hex(8)  # a slot cannot be forged by a string in the content

    def slot(value: Any) -> Any:
        if isinstance(value, GeoJSONText):
            texts.append(value)
            return f"\x00{nonce}-{len(texts) - 1}\x00"
        if isinstance(value, dict):
            return {k: v if k == "coordinates" else slot(v) for k, v in value.items()}
        if isinstance(value, list):
            return [slot(v) for v in value]
        return value

    text = json.dumps(slot(content), ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=default)
    if not texts:
        return text
    return re.sub(rf'"\\u0000{nonce}-(\d+)\\u0000"', lambda m: texts[int(m.group(1))], text)
