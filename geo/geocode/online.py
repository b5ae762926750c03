"""Optional online geocoding through a Nominatim server (geopy), used only when ``settings.geocoder == "nominatim"``.

Privacy: this sends the patient's address to the configured server. Configure it only with a server the region
controls (``settings.nominatim_url``); there is no default public server. geopy is imported lazily and is not a
required dependency (``pip install 'asih[geocode-online]'``).
"""

from __future__ import annotations

from geo.geocode.parse import clean_query
from geo.geocode.result import (
    Note,
    GeocodeError,
    GeocodeResult,
    GeocoderUnavailable,
    NotFound,
)
from geo.settings import Settings

TIMEOUT_S = 5.0
"""Longest wait for the server (seconds)."""
_PRECISION = {"house": "address", "building": "address", "road": "street", "postcode": "postcode"}


class NominatimGeocoder:
    """Geocode with a Nominatim server through geopy; answers carry the same precisions as the offline geocoder."""

    def __init__(self, settings: Settings):
        if not settings.nominatim_url:
            raise GeocoderUnavailable("Online geocoding is selected but no Nominatim server is configured.")
        try:
            from geopy.geocoders import Nominatim
        except ImportError:
            raise GeocoderUnavailable(
                "Online geocoding needs the optional package geopy (pip install 'asih[geocode-online]')."
            ) from None
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
            raise GeocoderUnavailable("The online geocoder did not answer.") from None
        if location is None:
            raise NotFound()
        raw = location.raw or {}
        kind = raw.get("addresstype") or raw.get("type") or ""
        precision = _PRECISION.get(kind, "place")
        # Nominatim gives a point, not the region it stands for: anything coarser than an address is a point of
        # a larger place, so the region is that point only for addresses, and the answer must say so otherwise.
        notes = (Note("geocoded_online", "info", "Geocoded online (Nominatim)."),)
        if precision != "address":
            notes += (Note("online_coarse", "caution",
                           "The online geocoder gave a point for a larger place; the area is that point's area."),)
        return GeocodeResult(float(location.latitude), float(location.longitude), precision,
                             str(raw.get("display_name", ""))[:200], 100.0, notes)


__all__ = ["GeocodeError", "NominatimGeocoder"]
