"""The geocoder's answer and its errors.

Privacy: a query is a patient's address. No message here contains any part of a query, so an exception may be
logged or shown without leaking it. Raise these errors ``from None`` when they replace a lower-level exception whose
message could echo the query.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Precision = Literal[
    "address", "street", "postcode", "postal_town", "district", "municipality", "place", "coordinates"
]
PRECISIONS: tuple[str, ...] = (
    "address", "street", "postcode", "postal_town", "district", "municipality", "place", "coordinates",
)
"""From most to least exact: a house number, a street, a postcode area, a postal town, a Stockholm district or
borough, a municipality, another named place; coordinates given as input."""

Severity = Literal["decisive", "caution", "info"]
SEVERITIES: tuple[str, ...] = ("decisive", "caution", "info")
"""``decisive``: changes what the answer can be (area uncertain, street not found, out of county);
``caution``: check before acting (spelling corrected, near a border, far from a road); ``info``: routine caveats."""


@dataclass(frozen=True)
class Note:
    """A caveat with a machine-readable ``code``, a :data:`SEVERITIES` ``severity`` and an English ``message``
    (translated at the edge, :mod:`api.i18n`). Never quotes the query."""

    code: str
    severity: str
    message: str


@dataclass(frozen=True)
class Region:
    """Where the patient may be, as the data can tell it.

    Attributes
    ----------
    kind : str
        One of :data:`PRECISIONS`: what the region is (an address point, a street's pieces, a postcode's
        addresses, a postal town, a district, a municipality, coordinates).
    label : str
        What the region is, from reference data ("Drottningholmsvägen, Bromma", "177 xx Järfälla").
    units : tuple of str
        Administrative units the region is the union of, as tokens ``municipality:0123``, ``borough:Bromma``,
        ``district:ÅRSTA``; empty when the region is given by ``points``.
    points : tuple of (float, float)
        EPSG:3006 metres: the known points the patient may be at (street pieces, a postcode's addresses,
        one address point). Empty when the region is given by ``units``.
    width_m : float
        How far (m) from the answer's point the patient may be: 0 for an address or coordinates.
    basis : str
        One sentence saying what the region rests on (English; translated at the edge).
    """

    kind: str
    label: str
    units: tuple[str, ...] = ()
    points: tuple[tuple[float, float], ...] = ()
    width_m: float = 0.0
    basis: str = ""


@dataclass(frozen=True)
class GeocodeResult:
    """The most likely point for a query, the region the patient may be in, and the caveats.

    Attributes
    ----------
    lat, lon : float
        WGS84 degrees of the most likely point (drive times are computed from here).
    precision : str
        One of :data:`PRECISIONS`.
    matched : str
        Label of what matched, from the reference data (never the query), e.g. "Fjällgatan 44, Stockholm".
    score : float
        Match quality 0–100 (100 = exact name; corrected spellings score lower).
    notes : tuple of Note
        Caveats for the user, most important first.
    region : Region or None
        Where the patient may be; None means the point itself (coordinates, an external geocoder).
    corrected_from : str or None
        When a street's spelling was corrected: the name as the reference data would be searched for, i.e. the
        user's own words for the street (shown as "did you mean …?" next to ``matched``). Never logged.
    outside : str or None
        A sentence when the query names a place outside Stockholm County (the answer is out of county).
    context : Region or None
        The region of the town or postcode the query gave (None when it gave neither). A street found without
        one rests on the offline data having no same-named street elsewhere.
    """

    lat: float
    lon: float
    precision: str
    matched: str
    score: float = 100.0
    notes: tuple[Note, ...] = ()
    region: Region | None = None
    corrected_from: str | None = None
    outside: str | None = None
    context: Region | None = None

    @property
    def note(self) -> str | None:
        """All notes' messages joined (for plain-text consumers)."""
        return " ".join(n.message for n in self.notes) or None


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
