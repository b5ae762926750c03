"""The what-if answer as JSON text: its polygons simplified for drawing and serialised once, by shapely.

Polygons are sent simplified by :data:`SIMPLIFY_M` (for drawing; the audit figures come from the sample points, not
from the polygon) with WGS84 coordinates rounded to :data:`COORD_DECIMALS` decimals (about 1 m).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from core.crs import geometry_to_wgs84

SIMPLIFY_M = 20.0
"""Polygons are simplified by this (m) before they are sent: a fifth of the contour grid's cell, invisible at the
zoom levels a county map uses, and it halves the answer."""

COORD_DECIMALS = 5
"""WGS84 decimals of the polygons sent (1e-5° ≈ 1.1 m north–south, 0.6 m east–west at 59° N)."""


class GeoJSONText(str):
    """A GeoJSON geometry already serialised (shapely's ``to_geojson``, ~10× faster than building dicts):
    :func:`dumps` embeds it as is; ``json.loads`` reads it back."""


def geojson_geometry(geom: BaseGeometry, simplify_m: float = SIMPLIFY_M, decimals: int = COORD_DECIMALS) -> GeoJSONText:
    """A polygon in EPSG:3006 as a GeoJSON geometry in EPSG:4326, simplified by ``simplify_m`` (m; Douglas–Peucker:
    3 ms where the topology-preserving variant takes 30 ms — the polygon is for drawing) and rounded to ``decimals``
    degrees."""
    if simplify_m > 0 and not geom.is_empty:
        geom = shapely.simplify(geom, simplify_m, preserve_topology=False)
    wgs = geometry_to_wgs84(geom)
    return GeoJSONText(shapely.to_geojson(shapely.transform(wgs, lambda xy: np.round(xy, decimals))))


def dumps(answer: dict[str, Any]) -> str:
    """An answer of :meth:`LiveWhatIf.answer` as JSON text, its polygons' geometries embedded as serialised."""
    raw: list[str] = []
    out = dict(answer)
    for key in ("polygon", "before_polygon"):
        feature = out.get(key)
        if feature is not None and isinstance(feature.get("geometry"), GeoJSONText):
            raw.append(feature["geometry"])
            out[key] = {**feature, "geometry": f"\0geometry-{len(raw) - 1}\0"}
    text = json.dumps(out, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for i, geometry in enumerate(raw):
        text = text.replace(json.dumps(f"\0geometry-{i}\0"), geometry, 1)
    return text
