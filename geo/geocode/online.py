"""Optional online geocoding through a Nominatim server (geopy), used only when ``settings.geocoder == "nominatim"``.

Privacy: this sends the patient's address to the configured server. Configure it only with a server the region
controls (``settings.nominatim_url``); there is no default public server. geopy is imported lazily and is not a
required dependency (``pip install 'asih[geocode-online]'``).
"""

from __future__ import annotations

import math

import numpy as np

from core.crs import to_metric
from geo.geocode.parse import clean_query
from geo.geocode.result import (
    GeocodeError,
    GeocodeResult,
    GeocoderUnavailable,
    Note,
    NotFound,
    Region,
)
from core.settings import Settings

TIMEOUT_S = 5.0
"""Longest wait for the server (seconds)."""
_PRECISION = {"house": "address", "building": "address", "road": "street", "postcode": "postcode"}
BOX_STEPS = 7
"""A coarse answer's bounding box is sampled on a grid of this many points a side (EPSG:3006), the region the area
is decided for: if the box crosses an area border, the area is uncertain and the user is asked."""


class NominatimGeocoder:
    """Geocode with a Nominatim server through geopy; answers carry the same precisions as the offline geocoder."""

    def __init__(self, settings: Settings):
        if not settings.nominatim_url:
            raise GeocoderUnavailable("error_online_unconfigured")
        try:
            from geopy.geocoders import Nominatim
        except ImportError:
            raise GeocoderUnavailable("error_online_package") from None
        url = str(settings.nominatim_url).rstrip("/")
        scheme, _, domain = url.partition("://")
        self._client = Nominatim(
            domain=domain or url, scheme=scheme if domain else "https", user_agent="asih-coverage", timeout=TIMEOUT_S
        )
        self.max_chars = settings.query_max_chars

    def geocode(self, query: str) -> GeocodeResult:
        """Return the server's best point; raise :class:`NotFound` or :class:`GeocoderUnavailable`."""
        text = clean_query(query, self.max_chars)
        try:
            location = self._client.geocode(text, exactly_one=True, addressdetails=True, country_codes="se")
        except Exception:  # geopy's errors may quote the request URL, i.e. the address: never chain them
            raise GeocoderUnavailable("error_online_no_answer") from None
        if location is None:
            raise NotFound()
        raw = location.raw or {}
        kind = raw.get("addresstype") or raw.get("type") or ""
        precision = _PRECISION.get(kind, "place")
        # Nominatim gives a point and the bounding box of what it found. Anything coarser than an address is a
        # larger place (a road's piece, a postcode, a town): the patient may be anywhere in its box, so the area is
        # decided for the box, never for its point alone.
        notes = (Note("geocoded_online", "info"),)
        label = str(raw.get("display_name", ""))[:200]
        lat, lon = float(location.latitude), float(location.longitude)
        region = None
        if precision != "address":
            region = box_region(raw.get("boundingbox"), precision, label, lat, lon)
            notes += (Note("online_coarse", "caution"),)
        return GeocodeResult(lat, lon, precision, label, 100.0, notes, region=region)


def box_region(box, precision: str, label: str, lat: float, lon: float) -> Region:
    """The region of a Nominatim answer's ``boundingbox`` (``[south, north, west, east]`` as strings, degrees):
    a grid of points over it (EPSG:3006) and the answer's point. Without a usable box, the point with a width of
    :data:`UNKNOWN_WIDTH_M` around it (a circle of points), so the area is still decided for a region."""
    try:
        south, north, west, east = (float(v) for v in box)
        usable = all(math.isfinite(v) for v in (south, north, west, east)) and south <= north and west <= east
    except (TypeError, ValueError):
        usable = False
    if usable:
        lats, lons = np.meshgrid(np.linspace(south, north, BOX_STEPS), np.linspace(west, east, BOX_STEPS))
        lats, lons = np.append(lats.ravel(), lat), np.append(lons.ravel(), lon)
        basis = (Note("region", "info", text="basis_online_box"),)
    else:
        angle = np.linspace(0, 2 * np.pi, 16, endpoint=False)
        x0, y0 = to_metric(lat, lon)
        xs = np.append(x0 + UNKNOWN_WIDTH_M * np.cos(angle), x0)
        ys = np.append(y0 + UNKNOWN_WIDTH_M * np.sin(angle), y0)
        points = tuple((float(x), float(y)) for x, y in zip(xs, ys))
        return Region(precision, label, points=points, width_m=UNKNOWN_WIDTH_M,
                      basis=(Note("region", "info", {"km": UNKNOWN_WIDTH_M / 1000}, "basis_online_circle"),))
    xs, ys = to_metric(lats, lons)
    x0, y0 = to_metric(lat, lon)
    width = float(np.max(np.hypot(np.asarray(xs) - x0, np.asarray(ys) - y0)))
    points = tuple((float(x), float(y)) for x, y in zip(np.atleast_1d(xs), np.atleast_1d(ys)))
    return Region(precision, label, points=points, width_m=round(width, -1), basis=basis)


UNKNOWN_WIDTH_M = 2000.0
"""How far from a coarse online answer's point the patient may be when the server gives no bounding box (m)."""


__all__ = ["GeocodeError", "NominatimGeocoder"]
