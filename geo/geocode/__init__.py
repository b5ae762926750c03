"""Geocoding: a patient's address, postcode, place name or coordinates → a WGS84 point with a precision.

Offline by default, from an index built once at prepare time (:func:`build_index`) and loaded at start
(:func:`get_geocoder`). Queries are personal data: nothing in this package logs, caches or writes them, and error
messages never echo them.

>>> geocoder = get_geocoder(get_settings())          # doctest: +SKIP
>>> geocoder.geocode("Fjällgatan 44, 116 28 Stockholm")  # doctest: +SKIP
GeocodeResult(lat=59.317..., lon=18.085..., precision='street', matched='Fjällgatan, Stockholm', ...)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from core.cache import CacheError
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

if TYPE_CHECKING:
    from core.settings import Settings
    from geo.geocode.offline import OfflineGeocoder
    from geo.geocode.index_io import load_index
    from geo.geocode.prepare import build_index

_LAZY = {"build_index": "geo.geocode.prepare", "load_index": "geo.geocode.index_io",
         "OfflineGeocoder": "geo.geocode.offline"}
"""Names imported on first access: building the index pulls in geopandas and scipy (≈ 0.5 s), loading it and the
offline geocoder pandas and rapidfuzz, which a caller that needs only the result types and errors (the lookup's
answer, the CLI) should not wait for. Loading never imports the builder (:mod:`geo.geocode.index_io`)."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    from geo.geocode.offline import OfflineGeocoder
    from geo.geocode.postal_towns import load_postal_towns
    from geo.geocode.index_io import load_index

    if units is None:
        from geo.areas.model import load_area_model
        from geo.areas.units import AdminUnits

        units = AdminUnits(load_area_model(settings, rebuild=build_if_missing))
    index = load_index(settings, build=(lambda: _built_index(settings)) if build_if_missing else None)
    return OfflineGeocoder(index, settings.query_max_chars, load_postal_towns(settings.postal_towns_file), units)


def _built_index(settings: Settings):
    """The index built from the raw sources (the builder is imported only when an index must be built)."""
    from geo.geocode.prepare import build_index_data

    return build_index_data(settings, progress=False)


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
