"""Query parsing: validate the raw text and split it into coordinates, a postcode, a street, a number and places.

Accepted forms (documented for users in the API):

- coordinates as "lat, lon" in decimal degrees, both with decimals: "59.3157, 18.0867", "59.3157 18.0867",
  "59.3157;18.0867", and with Swedish decimal commas "59,3157, 18,0867" / "59,3157 18,0867" / "59,3157;18,0867"
  ("59,3157,18,0867" is not accepted: it cannot be split unambiguously). Latitude comes first.
- a postcode alone: "11628", "116 28", "SE-116 28" (optionally followed by its town: "116 28 Stockholm");
- an address: "Fjällgatan 44, 116 28 Stockholm", "fjällgatan 44 stockholm", "Fjällgatan 44B", "Fjällgatan";
  apartment details ("lgh 1102", "2 tr", "vån 3", a "c/o" part) are ignored;
- a place: municipality, locality (postal town) or Stockholm district ("Täby", "Kista", "Södermalm").

A street typed without a house number may also be read otherwise (:func:`alternatives`, computed here once and tried
by the geocoder in order when the query gives no known town or postcode): as a place ("Täby"), a place's centre or a
named place in a town ("Täby centrum", "Nacka forum"), or a street followed by its town without a comma
("fjällgatan stockholm").

Every failure raises a :class:`~geo.geocode.result.GeocodeError` subclass whose message never echoes the query.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

from geo.geocode.normalize import normalize_housenumber
from geo.geocode.result import EmptyQuery, InvalidQuery, QueryTooLong

_ALLOWED_CONTROL = {"\t", "\n", "\r"}
_COORD_DOT = re.compile(r"^([-+]?\d{1,3}\.\d+)°?\s*(?:[,;]\s*|\s+)([-+]?\d{1,3}\.\d+)°?$")
_COORD_COMMA = re.compile(r"^([-+]?\d{1,3},\d+)°?\s*(?:;\s*|,\s+|\s+)([-+]?\d{1,3},\d+)°?$")
_POSTCODE_ONLY = re.compile(r"^(?:se[\s-]?)?(\d{3})\s?(\d{2})(?:\s+(\D.*))?$", re.IGNORECASE)
_POSTCODE_ANY = re.compile(r"(?<![\d\w])(?:se[\s-]?)?(\d{3})\s?(\d{2})(?![\d\w])", re.IGNORECASE)
_NOISE = [
    re.compile(r"\b(?:lgh|lägenhet|lägenhetsnummer)\.?\s*(?:nr\.?\s*)?\d+\b", re.IGNORECASE),
    re.compile(r"\b\d+\s*(?:tr|trappor|trappa|trp)\b\.?", re.IGNORECASE),
    # Not "plan 3": "Bolinders plan 5" is a street.
    re.compile(r"\b(?:vån|våning)\.?\s*\d+\b", re.IGNORECASE),
]
# Street name, then a number with an optional single-letter entrance ("44", "44B", "44 b"), an optional range end
# ("44-46") and anything after it (a town when the user typed no comma).
_STREET_NUMBER = re.compile(
    r"^(?P<street>.*?[^\W\d_].*?)\s+(?P<num>\d{1,5})(?:\s?(?P<letter>[a-zA-Z])(?![^\W\d_]))?"
    r"(?:\s*-\s*\d{1,5}[a-zA-Z]?)?(?P<rest>(?:\s.*)?)$"
)
CENTRE = re.compile(r"(.+?)\s+(?:centrum|c)\.?", re.IGNORECASE)
"""A place's centre as typed ("Täby centrum", "Kista C"): the data has places, not their centres."""
NAMED_PLACE = re.compile(r"(.+?)\s+(?:galleria|gallerian|forum|köpcentrum|köpcenter|handelsplats)\.?", re.IGNORECASE)
"""A named place in a town as typed ("Kista galleria", "Nacka forum"): not in the data; its town is."""


@dataclass(frozen=True)
class Alternative:
    """Another reading of a street part typed without a house number: ``town`` names a place, ``street`` the street
    in it (None: the place itself is the answer). ``note`` is the code of the caution such an answer carries, with
    ``place`` its parameter."""

    town: str
    street: str | None = None
    note: str | None = None
    place: str | None = None


def alternatives(street: str) -> tuple[Alternative, ...]:
    """The readings of ``street`` (a street part without a number) besides a street, in the order they are tried:
    the whole text as a place ("Täby"); a place's centre or a named place as its town ("Täby centrum", "Nacka
    forum"); the last word, then the last two, as the town of the street before them ("fjällgatan stockholm")."""
    out = [Alternative(street)]
    for pattern, code in ((CENTRE, "centre_not_in_data"), (NAMED_PLACE, "named_place_not_in_data")):
        found = pattern.fullmatch(street)
        if found:
            out.append(Alternative(found.group(1), note=code, place=found.group(1).strip()))
    words = street.split(" ")
    for cut in (1, 2):
        if len(words) > cut:
            out.append(Alternative(" ".join(words[-cut:]), street=" ".join(words[:-cut])))
    return tuple(out)


@dataclass(frozen=True)
class ParsedQuery:
    """A parsed query. ``kind`` is "coordinates", "postcode" or "text"; unused fields are None/empty.

    ``lat``/``lon`` are WGS84 degrees. ``postcode`` is the five-digit key ("11628"). ``street`` is the text before
    the house number, ``number`` the normalised number ("44B"), ``places`` the other comma-separated parts (towns,
    districts), ``text`` the whole query without postcode and apartment details, for place-only lookups, and
    ``alternatives`` the other readings of a street typed without a number (:func:`alternatives`).
    """

    kind: str
    lat: float | None = None
    lon: float | None = None
    postcode: str | None = None
    street: str | None = None
    number: str | None = None
    places: tuple[str, ...] = ()
    text: str = ""
    alternatives: tuple[Alternative, ...] = ()


def clean_query(query: object, max_chars: int) -> str:
    """Validate a raw query and return it NFC-normalised with whitespace collapsed.

    Raises :class:`InvalidQuery` (not text, control characters, binary data), :class:`QueryTooLong` (longer than
    ``max_chars`` characters) or :class:`EmptyQuery`.
    """
    if isinstance(query, (bytes, bytearray)):
        raise InvalidQuery("error_binary")
    if not isinstance(query, str):
        raise InvalidQuery("error_not_text")
    if len(query) > max_chars:
        raise QueryTooLong(n=max_chars)
    kept = []
    for char in query:
        category = unicodedata.category(char)
        if char in _ALLOWED_CONTROL:
            kept.append(" " if char == "\t" else char)
        elif category in ("Cc", "Cs", "Co", "Cn") or char == "\ufffd":
            raise InvalidQuery()
        elif category == "Cf":  # zero-width spaces, BOMs and the like from copy-paste
            continue
        else:
            kept.append(char)
    text = unicodedata.normalize("NFC", "".join(kept))
    text = "\n".join(re.sub(r"\s+", " ", line).strip() for line in text.splitlines())
    text = re.sub(r"\n+", "\n", text).strip()
    if not text or not any(c.isalnum() for c in text):
        raise EmptyQuery()
    return text


def parse_query(text: str) -> ParsedQuery:
    """Split a query already checked by :func:`clean_query` into its parts (see the module docstring)."""
    flat = text.replace("\n", ", ").strip(" ,")
    coords = _parse_coordinates(flat)
    if coords is not None:
        return ParsedQuery(kind="coordinates", lat=coords[0], lon=coords[1])
    match = _POSTCODE_ONLY.match(flat)
    if match and match.group(1).isascii() and match.group(2).isascii():
        place = (match.group(3) or "").strip(" ,")
        return ParsedQuery(kind="postcode", postcode=match.group(1) + match.group(2), places=(place,) if place else ())
    return _parse_text(text)


def _parse_coordinates(text: str) -> tuple[float, float] | None:
    match = _COORD_DOT.match(text) or _COORD_COMMA.match(text)
    if not match:
        return None
    try:
        lat, lon = (float(g.replace(",", ".")) for g in match.groups())
    except ValueError:
        raise InvalidQuery("error_coordinates_unreadable") from None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise InvalidQuery("error_coordinates_range")
    return lat, lon


def _parse_text(text: str) -> ParsedQuery:
    for pattern in _NOISE:
        text = pattern.sub(" ", text)
    parts = [p.strip(" .") for p in re.split(r"[,\n]", text)]
    parts = [p for p in parts if p and not p.lower().startswith("c/o")]
    postcode = None
    for i, part in enumerate(parts):
        found = list(_POSTCODE_ANY.finditer(part))
        if found and all(g.isascii() for g in found[-1].groups()):
            postcode = found[-1].group(1) + found[-1].group(2)
            parts[i] = (part[: found[-1].start()] + " " + part[found[-1].end() :]).strip(" .")
    parts = [re.sub(r"\s+", " ", p) for p in parts if p and any(c.isalpha() for c in p)]
    if not parts:
        return ParsedQuery(kind="postcode", postcode=postcode) if postcode else ParsedQuery(kind="text")
    street, number, places = parts[0], None, list(parts[1:])
    match = _STREET_NUMBER.match(parts[0])
    if match:
        number = normalize_housenumber(match.group("num") + (match.group("letter") or ""))
        street = match.group("street").strip(" .")
        rest = match.group("rest").strip(" .")
        if rest:
            places.insert(0, rest)
    return ParsedQuery(
        kind="text", postcode=postcode, street=street, number=number, places=tuple(places), text=" ".join(parts),
        alternatives=alternatives(street) if number is None else (),
    )
