"""The geocoder's answer and its errors.

Privacy: a query is a patient's address. No message here contains any part of a query, so an exception may be
logged or shown without leaking it. Raise these errors ``from None`` when they replace a lower-level exception whose
message could echo the query.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Precision = Literal["address", "street", "postcode", "place", "coordinates"]
PRECISIONS: tuple[str, ...] = ("address", "street", "postcode", "place", "coordinates")
"""From most to least exact: a house number, a street, a postcode area, a named place, coordinates given as input."""


@dataclass(frozen=True)
class GeocodeResult:
    """A point for a query.

    Attributes
    ----------
    lat, lon : float
        WGS84 degrees.
    precision : str
        One of :data:`PRECISIONS`: ``address`` (house number found), ``street`` (street found, number not in the
        data, or none given), ``postcode``, ``place`` (municipality, locality or Stockholm district), ``coordinates``.
    matched : str
        Label of what matched, from the reference data (never the query), e.g. "Fjällgatan 44, Stockholm".
    score : float
        Match quality 0–100 (100 = exact name; fuzzy matches score lower).
    note : str or None
        A caveat for the user, e.g. that the house number is not in the offline data.
    """

    lat: float
    lon: float
    precision: str
    matched: str
    score: float = 100.0
    note: str | None = None


class GeocodeError(ValueError):
    """Base of every geocoding error. ``user_message`` is safe to show and to log (it never echoes the query)."""

    default_message = "The address could not be geocoded."

    def __init__(self, user_message: str | None = None):
        self.user_message = user_message or self.default_message
        super().__init__(self.user_message)


class EmptyQuery(GeocodeError):
    default_message = "Enter an address, a postcode, a place name or coordinates."


class QueryTooLong(GeocodeError):
    default_message = "The query is too long."


class InvalidQuery(GeocodeError):
    """Control characters, binary data, or coordinates out of range."""

    default_message = "The query contains characters that cannot be part of an address."


class NotFound(GeocodeError):
    default_message = "No street, postcode or place matched the query. Check the spelling or add a postcode."


class GeocoderUnavailable(GeocodeError):
    """The configured geocoder cannot run (index not built, optional package missing, service not configured)."""

    default_message = "The geocoder is not available."


class Ambiguous(GeocodeError):
    """Several matches fit equally well; ``candidates`` (at most :data:`MAX_CANDIDATES`) carry labels to choose from."""

    default_message = "Several places match the query; choose one of the candidates or add a postcode or town."

    def __init__(self, candidates: list[GeocodeResult], user_message: str | None = None):
        self.candidates = list(candidates)[:MAX_CANDIDATES]
        super().__init__(user_message)


MAX_CANDIDATES = 5
"""Most candidates returned with :class:`Ambiguous`."""
