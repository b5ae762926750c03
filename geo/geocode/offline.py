"""The offline geocoder: query → the most likely point *and the region the patient may be in*, from the prebuilt
index, the postal towns and the county's units (no network, no raw files).

How a query is read:

1. The postcode and the towns it names make a :class:`~geo.geocode.context.Context` (units such as
   ``borough:Bromma`` or ``municipality:0123``, or a postcode's known addresses). A place outside the county makes
   the answer out of county, never a Stockholm street.
2. The street is looked up by its folded name *inside that context only*: the Bromma part of Drottningholmsvägen for
   "…, 168 73 Bromma", never another town's street. A misspelling is corrected only by a few letters (at most
   :func:`max_edits`), only inside the context, and the answer says so ("did you mean …?").
3. The region is what the data can tell: the address point; else the street's known pieces in the context; else the
   postcode's addresses or the postal town's units, with a note that the street is not in the data. Whether that
   region lies in one ASIH area is decided by :mod:`geo.areas.region`, not here.

Typical lookup time is well under a millisecond (``bench/bench_geocode.py``).
Privacy: nothing here logs, stores or echoes a query; notes are fixed sentences.
"""

from __future__ import annotations

import re

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from core.crs import to_metric, to_wgs84
from geo.geocode.context import Context, ContextReader
from geo.geocode.index import GeocoderIndex, Street
from geo.geocode.normalize import fold
from geo.geocode.parse import ParsedQuery, clean_query, parse_query
from geo.geocode.result import Ambiguous, GeocodeResult, Note, NotFound, Region

CONTEXT_NEAR_M = 1500.0
"""Without a town, a street counts as in a postcode's place when this close (m) to one of its known addresses."""
MAX_EDITS = 2
"""Most letters any correction may change (see :func:`max_edits`)."""
MIN_FUZZY_CHARS = 5
"""Shorter queries are matched exactly only."""
NOTE_NO_NUMBER = Note("house_number_not_found", "caution")
NOTE_NO_LETTER = Note("entrance_letter_not_found", "info")
NOTE_SPELLING = Note("spelling_corrected", "caution")
NOTE_STREET_NOT_FOUND = Note("street_not_found", "caution")


CENTRE = re.compile(r"(.+?)\s+(?:centrum|c)\.?", re.IGNORECASE)
"""A place's centre as typed ("Täby centrum", "Kista C"): the data has places, not their centres."""

GENERIC_SUFFIXES = (
    "vagen", "gatan", "grand", "backe", "backen", "stigen", "slingan", "torg", "torget", "plan", "alle", "leden",
    "gangen", "kaj", "kajen", "strand", "stranden", "hojden", "vag", "gata", "parken", "platsen", "sparet", "bron",
)
"""Folded endings that say what kind of street a name is; a correction is judged on the part before them."""


def max_edits(name: str) -> int:
    """Letters (Levenshtein) a query may differ from the street ``name`` (folded) by, from the length of the name's
    distinctive part (without :data:`GENERIC_SUFFIXES`): none under 4 letters, 1 up to 9, else 2.
    "Fjalgatan" → Fjällgatan (1 edit on "fjall") and "Mariebergsgtan" → Mariebergsgatan (1 edit on "mariebergs") are
    corrected; "Skärholmsvägen" → Kanholmsvägen (2 edits on "kanholms") and "Västerlånggatan" → Västeråsgatan are
    not."""
    compact = name.replace(" ", "")
    stem = compact
    for suffix in sorted(GENERIC_SUFFIXES, key=len, reverse=True):
        if compact.endswith(suffix) and len(compact) > len(suffix):
            stem = compact[: -len(suffix)]
            break
    n = len(stem)
    return 0 if n < 4 else 1 if n < 10 else 2


class OfflineGeocoder:
    """Geocode with the offline index. Thread-safe (read-only after construction).

    Parameters
    ----------
    index : GeocoderIndex
        From :func:`geo.geocode.prepare.load_index`.
    max_chars : int
        Longest accepted query (``settings.query_max_chars``).
    postal_towns : PostalTowns or None
        From :func:`geo.geocode.postal_towns.load_postal_towns`.
    units : AdminUnits
        The county's municipalities, boroughs and districts (:class:`geo.areas.units.AdminUnits`).
    """

    def __init__(self, index: GeocoderIndex, max_chars: int = 300, postal_towns=None, units=None):
        if units is None:
            raise ValueError("The offline geocoder needs the county's units (geo.areas.units.AdminUnits).")
        self.index = index
        self.max_chars = max_chars
        self.units = units
        self.context = ContextReader(index, postal_towns, units)
        self._street_pos = {name: i for i, name in enumerate(index.street_names)}

    def geocode(self, query: str) -> GeocodeResult:
        """The most likely point and region for ``query``; raises a :class:`~geo.geocode.result.GeocodeError`
        subclass for empty, malformed or unknown input, or :class:`Ambiguous` when two spellings fit equally."""
        parsed = parse_query(clean_query(query, self.max_chars))
        if parsed.kind == "coordinates":
            x, y = to_metric(parsed.lat, parsed.lon)
            region = Region("coordinates", "coordinates", points=((float(x), float(y)),),
                            basis=(Note("region", "info", text="basis_coordinates"),))
            return GeocodeResult(parsed.lat, parsed.lon, "coordinates", "coordinates", region=region)
        towns = [self.context.town(p) for p in parsed.places]
        postcode = self.context.postcode(parsed.postcode) if parsed.postcode else None
        ctx = self.context.combine(postcode, [t for t in towns if t is not None])
        if parsed.kind == "postcode" or not parsed.street:
            if ctx is None:
                raise NotFound("error_postcode_not_found")
            return self._from_context(ctx)
        return self._text(parsed, ctx)

    # -- text queries ---------------------------------------------------------------------------------------------
    def _text(self, parsed: ParsedQuery, ctx: Context | None) -> GeocodeResult:
        street_text = parsed.street or ""
        if parsed.number is None and ctx is None:
            as_town = self.context.town(street_text)
            if as_town is not None and not self._exact_ids(street_text):
                return self._from_context(as_town)
            centre = CENTRE.fullmatch(street_text)
            if as_town is None and centre and not self._exact_ids(street_text):
                # "Täby centrum": the centre is not in the data; the town is, and the answer covers all of it.
                town = self.context.town(centre.group(1))
                if town is not None:
                    return self._from_context(town, Note("centre_not_in_data", "caution",
                                                         {"place": centre.group(1).strip()}))
            if as_town is None and not self._exact_ids(street_text):
                split = self._split_town(street_text)
                if split is not None:
                    street_text, ctx = split
        if ctx is not None and ctx.outside:
            return self._outside(ctx)
        streets, corrected = self._find_streets(street_text, ctx)
        if not streets:
            if ctx is not None:
                return self._from_context(ctx, NOTE_STREET_NOT_FOUND)
            raise NotFound("error_street_not_found")
        return self._street_answer(streets, parsed.number, ctx, street_text if corrected else None)

    def _split_town(self, text: str) -> tuple[str, Context] | None:
        """'fjällgatan stockholm' (no comma): the last one or two words as the town, when the rest is a street."""
        words = text.split(" ")
        for cut in (1, 2):
            if len(words) > cut:
                head, tail = " ".join(words[:-cut]), " ".join(words[-cut:])
                town = self.context.town(tail)
                if town is not None and (self._exact_ids(head) or town.outside):
                    return head, town
        return None

    def _exact_ids(self, text: str) -> list[int]:
        pos = self._street_pos.get(fold(text))
        return list(self.index.street_ids[pos]) if pos is not None else []

    def _find_streets(self, text: str, ctx: Context | None) -> tuple[list[tuple[Street, np.ndarray]], bool]:
        """Streets named ``text`` (exactly, else by a small correction) with their points inside the context."""
        exact = self._in_context(self._exact_ids(text), ctx)
        if exact:
            return exact, False
        folded = fold(text)
        if len(folded.replace(" ", "")) < MIN_FUZZY_CHARS:
            return [], False
        hits = process.extract(folded, self.index.street_names, scorer=Levenshtein.distance,
                               score_cutoff=MAX_EDITS, limit=25)
        hits = [h for h in hits if h[1] <= max_edits(h[0])]
        by_name: dict[int, list[tuple[Street, np.ndarray]]] = {}
        best = None
        for _, dist, pos in sorted(hits, key=lambda h: h[1]):
            if best is not None and dist > best:
                break
            found = self._in_context(list(self.index.street_ids[pos]), ctx)
            if found:
                best = dist
                by_name[pos] = found
        if len(by_name) > 1:
            candidates = [self._result_for([s], [xy], ctx, True, (NOTE_SPELLING,), text)
                          for found in by_name.values() for s, xy in found[:1]]
            raise Ambiguous(candidates, "error_ambiguous_spelling")
        return (next(iter(by_name.values())), True) if by_name else ([], False)

    def _in_context(self, ids: list[int], ctx: Context | None) -> list[tuple[Street, np.ndarray]]:
        found = self._in_units(ids, ctx)
        if ctx is not None and ctx.postcode is not None and len(found) > 1:
            # Several same-named streets in the postcode's postal town ("Stockholm" also reaches Solna): the ones
            # the postcode is known on, else the ones near its known addresses, when any.
            key = ctx.postcode.key
            known = [(s, xy) for s, xy in found if key in s.postcodes]
            if not known and ctx.points is not None and len(ctx.points):
                known = [(s, xy) for s, xy in found if _near(xy, ctx.points, CONTEXT_NEAR_M)]
            found = known or found
        return found

    def _in_units(self, ids: list[int], ctx: Context | None) -> list[tuple[Street, np.ndarray]]:
        out = []
        for i in ids:
            street = self.index.streets[i]
            xy = street.xy if len(street.xy) else np.array([[street.x, street.y]])
            if ctx is not None and not ctx.empty:
                xy = xy[self.context.point_in_context(ctx, xy[:, 0], xy[:, 1], CONTEXT_NEAR_M)]
            if len(xy):
                out.append((street, xy))
        return out

    def _street_answer(self, streets, number: str | None, ctx: Context | None, corrected_from: str | None):
        notes: list[Note] = [NOTE_SPELLING] if corrected_from else []
        if number:
            houses = []
            for street, _ in streets:
                found = _house(street, number)
                if found is None:
                    continue
                lat, lon = street.houses[found]
                x, y = to_metric(lat, lon)
                if ctx is None or ctx.empty or self.context.point_in_context(
                        ctx, np.array([x]), np.array([y]), CONTEXT_NEAR_M)[0]:
                    houses.append((street, found, float(x), float(y), lat, lon))
            if houses:
                street, found, x, y, lat, lon = houses[0]
                if found != number:
                    notes.append(NOTE_NO_LETTER)
                label = _with_number(street, found)
                points = tuple((h[2], h[3]) for h in houses)
                basis = (Note("region", "info", text="basis_address_point"),)
                if len(houses) > 1:
                    label = f"{street.name} {found} ({len(houses)} places)"
                    basis = (Note("region", "info", text="basis_address_several"),)
                region = Region("address", label, points=points, width_m=_width(points, x, y), basis=basis)
                return GeocodeResult(float(lat), float(lon), "address", label, 100.0 if not corrected_from else 90.0,
                                     tuple(notes), region, corrected_from, context=self._given(ctx))
            notes.append(NOTE_NO_NUMBER)
        return self._result_for([s for s, _ in streets], [xy for _, xy in streets], ctx, bool(corrected_from),
                                tuple(notes), corrected_from)

    def _result_for(self, streets: list[Street], xys, ctx, corrected: bool, notes=(), corrected_from=None):
        pts = np.vstack(xys) if xys else np.vstack([s.xy if len(s.xy) else [[s.x, s.y]] for s in streets])
        k = int(np.argmin(((pts - pts.mean(axis=0)) ** 2).sum(axis=1)))
        x, y = float(pts[k, 0]), float(pts[k, 1])
        lat, lon = to_wgs84(x, y)
        municipalities = {s.municipality for s in streets}
        if len(streets) == 1:
            label = streets[0].label
        elif len(municipalities) == 1:
            label = f"{streets[0].name}, {streets[0].municipality}"  # pieces far apart, one municipality
        else:
            label = f"{streets[0].name} ({len(streets)} places)"
        town = None
        if ctx is not None and not ctx.empty:
            town = ctx.postcode.town if ctx.kind == "postcode" and ctx.postcode is not None else ctx.label
        if town and len(municipalities) == 1 and fold(town) not in fold(label):
            label = f"{streets[0].name}, {town}"
        basis = ((Note("region", "info", {"place": ctx.label}, "basis_street_in"),) if ctx is not None and not ctx.empty
                 else (Note("region", "info", text="basis_street"),))
        points = tuple(map(tuple, pts))
        region = Region("street", label, points=points, width_m=_width(points, x, y), basis=basis)
        return GeocodeResult(float(lat), float(lon), "street", label, 90.0 if corrected else 100.0, tuple(notes),
                             region, corrected_from, context=self._given(ctx))

    def _given(self, ctx: Context | None) -> Region | None:
        """The region of the town or postcode the query gave, or None."""
        if ctx is None or ctx.empty or ctx.outside:
            return None
        try:
            return self._context_region(ctx)[0]
        except NotFound:
            return None

    # -- context answers ------------------------------------------------------------------------------------------
    def _from_context(self, ctx: Context, note: Note | None = None) -> GeocodeResult:
        notes = ([note] if note else []) + list(ctx.notes)
        if ctx.outside:
            return self._outside(ctx)
        region, x, y = self._context_region(ctx)
        lat, lon = to_wgs84(x, y)
        return GeocodeResult(float(lat), float(lon), region.kind, ctx.label, 100.0, tuple(notes), region,
                             context=region)

    def _context_region(self, ctx: Context) -> tuple[Region, float, float]:
        """The region a town or postcode stands for, and its likely point (EPSG:3006 m)."""
        if ctx.points is not None and len(ctx.points):
            pts = ctx.points
            k = int(np.argmin(((pts - pts.mean(axis=0)) ** 2).sum(axis=1)))
            x, y = float(pts[k, 0]), float(pts[k, 1])
            points = tuple(map(tuple, pts))
            region = Region("postcode", ctx.label, points=points, width_m=_width(points, x, y),
                            basis=(Note("region", "info", {"n": len(points)}, "basis_postcode_addresses"),))
            return region, x, y
        units = [self.units.get(t) for t in ctx.units]
        units = [u for u in units if u is not None]
        if not units:
            raise NotFound()
        x, y = ctx.point if ctx.point is not None else (units[0].x, units[0].y)
        width = max(float(np.hypot(u.x - x, u.y - y)) + u.width_m for u in units)
        names = ", ".join(u.label for u in units[:4]) + (" …" if len(units) > 4 else "")
        what = {"postcode": "the_postcodes_postal_town", "postal_town": "the_postal_town",
                "district": "the_district", "municipality": "the_municipality", "place": "the_place"}[ctx.kind]
        region = Region(ctx.kind, ctx.label, units=tuple(u.token for u in units), width_m=round(width, -1),
                        basis=(Note("region", "info", {"what": what, "names": names}, "basis_only"),))
        return region, float(x), float(y)

    def _outside(self, ctx: Context) -> GeocodeResult:
        if ctx.point is not None:
            lat, lon = to_wgs84(*ctx.point)
        elif ctx.postcode is not None:
            lat, lon = ctx.postcode.lat, ctx.postcode.lon
        else:
            lat, lon = float("nan"), float("nan")
        region = Region(ctx.kind, ctx.label, basis=(Note("region", "info", text="basis_place_outside"),))
        return GeocodeResult(float(lat), float(lon), ctx.kind, ctx.label, 100.0, tuple(ctx.notes), region,
                             outside=ctx.outside)


def _near(xy: np.ndarray, points: np.ndarray, within_m: float) -> bool:
    d2 = ((xy[:, None, 0] - points[None, :, 0]) ** 2 + (xy[:, None, 1] - points[None, :, 1]) ** 2).min()
    return bool(d2 <= within_m**2)


def _house(street: Street, number: str) -> str | None:
    if number in street.houses:
        return number
    base = number.rstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    return base if base in street.houses else None


def _with_number(street: Street, number: str) -> str:
    return street.label.replace(street.name, f"{street.name} {number}", 1)


def _width(points, x: float, y: float) -> float:
    """Farthest distance (m, rounded to 10 m) from the answer's point to the region's points."""
    pts = np.asarray(points, dtype=float).reshape(-1, 2)
    return round(float(np.sqrt(((pts - (x, y)) ** 2).sum(axis=1)).max()), -1) if len(pts) else 0.0


__all__ = ["OfflineGeocoder", "max_edits"]
