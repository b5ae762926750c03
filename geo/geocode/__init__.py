"""Geocoding: a patient's address, postcode, place name or coordinates → a WGS84 point with a precision.

Offline by default, from an index built once at prepare time (:func:`build_index`) and loaded at start
(:func:`get_geocoder`). Queries are personal data: nothing in this package logs, caches or writes them, and error
messages never echo them.

>>> geocoder = get_geocoder(get_settings())          # doctest: +SKIP
>>> geocoder.geocode("Fjällgatan 44, 116 28 Stockholm")  # doctest: +SKIP
GeocodeResult(lat=59.317..., lon=18.085..., precision='street', matched='Fjällgatan, Stockholm', ...)
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from core.cache import CacheError
from geo.geocode.prepare import build_index, load_index
from geo.geocode.offline import OfflineGeocoder
from geo.geocode.parse import ParsedQuery, clean_query, parse_query
from geo.geocode.result import (
    MAX_CANDIDATES,
    PRECISIONS,
    SEVERITIES,
    Note,
    Refusal,
    Region,
    Ambiguous,
    EmptyQuery,
    GeocodeError,
    GeocodeResult,
    GeocoderUnavailable,
    InvalidQuery,
    NotFound,
    QueryTooLong,
)
from core.settings import Settings


@runtime_checkable
class Geocoder(Protocol):
    """Anything that turns a query into a :class:`GeocodeResult` or raises a :class:`GeocodeError`."""

    def geocode(self, query: str) -> GeocodeResult: ...


def load_geocoder(settings: Settings, build_if_missing: bool = False, units=None) -> OfflineGeocoder:
    """The offline geocoder over the index in ``settings.cache_dir / "geocoder"``, the postal towns
    (``settings.postal_towns_file``) and the county's units (:class:`geo.areas.units.AdminUnits`; loaded from the
    area cache when not given).

    Raises :class:`~core.cache.CacheError` when the index is missing or stale, unless ``build_if_missing``.
    """
    from geo.geocode.postal_towns import load_postal_towns

    if units is None:
        from geo.areas.model import load_area_model
        from geo.areas.units import AdminUnits

        units = AdminUnits(load_area_model(settings, rebuild=build_if_missing))
    index = load_index(settings, build_if_missing=build_if_missing)
    return OfflineGeocoder(index, settings.query_max_chars, load_postal_towns(settings.postal_towns_file), units)


def get_geocoder(settings: Settings, build_if_missing: bool = False, units=None) -> Geocoder:
    """The geocoder selected by ``settings.geocoder``: "offline" (default) or "nominatim" (needs
    ``settings.nominatim_url`` and the optional package geopy; raises :class:`GeocoderUnavailable` otherwise)."""
    if settings.geocoder == "nominatim":
        from geo.geocode.online import NominatimGeocoder

        return NominatimGeocoder(settings)
    return load_geocoder(settings, build_if_missing=build_if_missing, units=units)


__all__ = [
    "MAX_CANDIDATES",
    "PRECISIONS",
    "Ambiguous",
    "CacheError",
    "EmptyQuery",
    "GeocodeError",
    "GeocodeResult",
    "Geocoder",
    "GeocoderUnavailable",
    "InvalidQuery",
    "Note",
    "Refusal",
    "NotFound",
    "Region",
    "SEVERITIES",
    "OfflineGeocoder",
    "ParsedQuery",
    "QueryTooLong",
    "build_index",
    "clean_query",
    "get_geocoder",
    "load_geocoder",
    "parse_query",
]
