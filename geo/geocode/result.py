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
# Notes are typed (code, severity, params) and worded from one catalogue at the edge: core/words.py.
from core.words import SEVERITIES, Note, Refusal  # noqa: E402,F401 - re-exported


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
    basis : tuple of Note
        What the region rests on, as notes (code ``region``) worded at the edge (:func:`render_basis`): one, and a
        second when a choice narrowed it.
    reach_m : tuple of float
        Per point of ``points``: how far (m) the patient may be from it — half its piece's length for a street's
        piece midpoint, 0 for an address point; empty means 0 everywhere. Added to the border margin where the
        border is precise (:meth:`geo.areas.locate.AreaLocator.near_areas`).
    within : tuple of str
        Units the whole region is known to lie in by another source (a postcode's municipality from the postcode
        table): an area outside them is not possible, even near a border, unless one of ``points`` lies there.

    The region of a town or postcode the query gave, as :class:`geo.geocode.context.ContextReader` reads it (before
    it is answered), also carries:

    point : (float, float) or None
        A checked point of the place (EPSG:3006 m): a GeoNames point inside its own units, or the out-of-county
        place's point.
    outside : Note or None
        Why the place lies outside Stockholm County.
    notes : tuple of Note
        Caveats that come with the place ("postcode not in data", "place conflict").
    postcode : str or None
        The five-digit key of the postcode the region was read from.
    """

    kind: str
    label: str
    units: tuple[str, ...] = ()
    points: tuple[tuple[float, float], ...] = ()
    width_m: float = 0.0
    basis: tuple[Note, ...] = ()
    reach_m: tuple[float, ...] = ()
    within: tuple[str, ...] = ()
    point: tuple[float, float] | None = None
    outside: Note | None = None
    notes: tuple[Note, ...] = ()
    postcode: str | None = None

    @property
    def empty(self) -> bool:
        """True when the region says nothing about where: no units, no points, not outside the county."""
        return not self.units and not self.points and not self.outside

    def render_basis(self, lang: str = "en") -> str:
        """What the region rests on, in ``lang``."""
        return " ".join(n.render(lang) for n in self.basis)


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
    outside : Note or None
        Why the query names a place outside Stockholm County (the answer is out of county).
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
    outside: Note | None = None
    context: Region | None = None

    @property
    def note(self) -> str | None:
        """All notes' messages joined (for plain-text consumers)."""
        return " ".join(n.message for n in self.notes) or None


class GeocodeError(Refusal):
    """Base of every geocoding error: a catalogue text and params (:class:`core.words.Refusal`). ``user_message`` is
    safe to show and to log (it never echoes the query)."""

    default_text = "error_not_geocoded"


class EmptyQuery(GeocodeError):
    default_text = "error_empty"


class QueryTooLong(GeocodeError):
    default_text = "error_too_long"


class InvalidQuery(GeocodeError):
    """Control characters, binary data, or coordinates out of range."""

    default_text = "error_characters"


class NotFound(GeocodeError):
    default_text = "error_not_found"


class GeocoderUnavailable(GeocodeError):
    """The configured geocoder cannot run (index not built, optional package missing, service not configured)."""

    default_text = "error_unavailable"


class Ambiguous(GeocodeError):
    """Several matches fit equally well; ``candidates`` (at most :data:`MAX_CANDIDATES`) carry labels to choose from."""

    default_text = "error_ambiguous"

    def __init__(self, candidates: list[GeocodeResult], text: str | None = None, **params):
        self.candidates = list(candidates)[:MAX_CANDIDATES]
        super().__init__(text, **params)


MAX_CANDIDATES = 5
"""Most candidates returned with :class:`Ambiguous`."""
