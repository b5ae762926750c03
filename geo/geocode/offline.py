"""The offline geocoder: query → the most likely point *and the region the patient may be in*, from the prebuilt
index, the postal towns and the county's units (no network, no raw files).

A query goes once through a pipeline, each stage called once (:meth:`OfflineGeocoder.geocode`):

1. **Parse** (:mod:`geo.geocode.parse`): coordinates, a postcode, a street and number, towns, and the other readings
   of a street typed without a number ("Täby", "Täby centrum", "fjällgatan stockholm"), all computed up front.
2. **Read what was typed** (:meth:`OfflineGeocoder._read`): the postcode and the towns make the place, a
   :class:`~geo.geocode.result.Region` (units such as ``borough:Bromma`` or ``municipality:0123``, or a postcode's
   known addresses; see :mod:`geo.geocode.context`); without one, the first of the parse's other readings the
   registers know. A place outside the county makes the answer out of county, never a Stockholm street.
3. **Candidates from the registers, constrained by the place** (:meth:`OfflineGeocoder._candidates`): the streets of
   that folded name *inside the place only*: the Bromma part of Drottningholmsvägen for "…, 168 73 Bromma", never
   another town's street. A misspelling is corrected only by a few letters (at most
   :func:`~geo.geocode.spelling.max_edits`), only inside the place, and the answer says so ("did you mean …?").
4. **Region** (:meth:`OfflineGeocoder._answer`): what the data can tell: the address point; else the street's known
   pieces in the place; else the postcode's addresses or the postal town's units, with a note that the street is not
   in the data. Whether that region lies in one ASIH area is decided by :mod:`geo.areas.region`, not here.

Typical lookup time is well under a millisecond (``bench/bench_geocode.py``).
Privacy: nothing here logs, stores or echoes a query; notes are fixed sentences.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from core.crs import to_metric, to_wgs84
from geo.geocode.context import ContextReader, points_xy
from geo.geocode.houses import interpolate
from geo.geocode.index import GeocoderIndex, Street
from geo.geocode.normalize import fold
from geo.geocode.parse import ParsedQuery, clean_query, parse_query
from geo.geocode.result import Ambiguous, GeocodeResult, Note, NotFound, Region
from geo.geocode.spelling import MAX_EDITS, MIN_FUZZY_CHARS, max_edits

CONTEXT_NEAR_M = 1500.0
"""Without a town, a street counts as in a postcode's place when this close (m) to one of its known addresses."""
NOTE_NO_NUMBER = Note("house_number_not_found", "caution")
NOTE_NO_LETTER = Note("entrance_letter_not_found", "info")
NOTE_SPELLING = Note("spelling_corrected", "caution")
NOTE_STREET_NOT_FOUND = Note("street_not_found", "caution")


@dataclass(frozen=True)
class Reading:
    """A query read against the registers: the ``street`` to look up (None: the ``place`` is the answer), the place
    (town or postcode) it lies in, the streets named exactly ``street`` (``ids``), a place answer's ``note``."""

    street: str | None
    place: Region | None
    ids: tuple[int, ...] = ()
    note: Note | None = None


class OfflineGeocoder:
    """Geocode with the offline index. Thread-safe (read-only after construction).

    Parameters
    ----------
    index : GeocoderIndex
        From :func:`geo.geocode.load_index`.
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
        """The most likely point and region for ``query``, in one pass: parse → the place typed → candidates from
        the registers inside it → region. Raises a :class:`~geo.geocode.result.GeocodeError` subclass for empty,
        malformed or unknown input, or :class:`Ambiguous` when two spellings fit equally."""
        parsed = parse_query(clean_query(query, self.max_chars))
        if parsed.kind == "coordinates":
            return _coordinates(parsed.lat, parsed.lon)
        reading = self._read(parsed)
        if reading.street is None:
            return self._place_answer(reading.place, reading.note)
        if reading.place is not None and reading.place.outside:
            return self._outside(reading.place)
        names, corrected = self._candidates(reading)
        return self._answer(names, corrected, parsed.number, reading)

    # -- the stages ---------------------------------------------------------------------------------------------
    def _read(self, parsed: ParsedQuery) -> Reading:
        """The place typed (postcode and towns, combined) and the street to look up in it. A street typed without a
        number, town or postcode that is no street of the registers is read the first other way the registers know
        (:attr:`ParsedQuery.alternatives`): a place ("Täby"), a place's centre ("Täby centrum", with a note), a
        street and its town without a comma ("fjällgatan stockholm"; the town when outside the county)."""
        towns = [self.context.town(p) for p in parsed.places]
        postcode = self.context.postcode(parsed.postcode) if parsed.postcode else None
        place = self.context.combine(postcode, [t for t in towns if t is not None])
        if parsed.kind == "postcode" or not parsed.street:
            if place is None:
                raise NotFound("error_postcode_not_found")
            return Reading(None, place)
        ids = self._exact_ids(parsed.street)
        if parsed.number is not None or place is not None or ids:
            return Reading(parsed.street, place, ids)
        for alt in parsed.alternatives:
            town = self.context.town(alt.town)
            if town is None:
                continue
            if alt.street is None:
                return Reading(None, town, note=Note(alt.note, "caution", {"place": alt.place}) if alt.note else None)
            head = self._exact_ids(alt.street)
            if head or town.outside:
                return Reading(alt.street, town, head)
        return Reading(parsed.street, None, ids)

    def _candidates(self, reading: Reading) -> tuple[list[list[tuple[Street, np.ndarray]]], bool]:
        """The streets of the registers that fit the reading, each name's streets with their points inside the place:
        the exact name's (one name, not corrected), else the names closest in spelling (:func:`max_edits`) that
        have points inside the place (corrected; several names when equally close). Each tier of names (the exact
        one; then those one edit away, two edits away) is constrained by the place in one go."""
        exact = self._constrain([reading.ids], reading.place)[0]
        if exact:
            return [exact], False
        folded = fold(reading.street)
        if len(folded.replace(" ", "")) < MIN_FUZZY_CHARS:
            return [], False
        hits = process.extract(folded, self.index.street_names, scorer=Levenshtein.distance,
                               score_cutoff=MAX_EDITS, limit=25)
        hits = [h for h in hits if h[1] <= max_edits(h[0])]
        tiers: dict[int, list[tuple[int, ...]]] = {}
        for _, dist, pos in sorted(hits, key=lambda h: h[1]):
            tiers.setdefault(dist, []).append(tuple(self.index.street_ids[pos]))
        for tier in tiers.values():
            names = [found for found in self._constrain(tier, reading.place) if found]
            if names:
                return names, True
        return [], False

    def _answer(self, names, corrected: bool, number: str | None, reading: Reading) -> GeocodeResult:
        """The region of the candidates (an address, a street), or the place when no street fits."""
        place = reading.place
        if not names:
            if place is not None:
                return self._place_answer(place, NOTE_STREET_NOT_FOUND)
            raise NotFound("error_street_not_found")
        given = self._given(place)
        if len(names) > 1:
            raise Ambiguous([self._result_for([s], [xy], place, given, True, (NOTE_SPELLING,), reading.street)
                             for found in names for s, xy in found[:1]], "error_ambiguous_spelling")
        return self._street_answer(names[0], number, place, given, reading.street if corrected else None)

    # -- candidates ---------------------------------------------------------------------------------------------
    def _exact_ids(self, text: str) -> tuple[int, ...]:
        pos = self._street_pos.get(fold(text))
        return tuple(self.index.street_ids[pos]) if pos is not None else ()

    def _constrain(self, names: list[tuple[int, ...]], place: Region | None) -> list[list[tuple[Street, np.ndarray]]]:
        """Per name (its street ids), its streets with their points inside the place (all their points without one);
        with a postcode, of several such streets the ones the postcode is known on, else those near its known
        addresses, when any ("Stockholm" also reaches Solna)."""
        streets = [self.index.streets[i] for ids in names for i in ids]
        xys = [s.xy if len(s.xy) else np.array([[s.x, s.y]]) for s in streets]
        if place is not None and not place.empty and xys:
            xy = np.concatenate(xys)
            inside = self.context.point_in_context(place, xy[:, 0], xy[:, 1], CONTEXT_NEAR_M)
            xys = [p[m] for p, m in zip(xys, np.split(inside, np.cumsum([len(p) for p in xys])[:-1]))]
        out, start = [], 0
        for ids in names:
            found = [(s, xy) for s, xy in zip(streets[start:start + len(ids)], xys[start:start + len(ids)]) if len(xy)]
            start += len(ids)
            if place is not None and place.postcode is not None and len(found) > 1:
                known = [(s, xy) for s, xy in found if place.postcode in s.postcodes]
                if not known and place.points:
                    pts = points_xy(place)
                    known = [(s, xy) for s, xy in found if _near(xy, pts, CONTEXT_NEAR_M)]
                found = known or found
            out.append(found)
        return out

    # -- regions ------------------------------------------------------------------------------------------------
    def _street_answer(self, streets, number: str | None, place: Region | None, given: Region | None,
                       corrected_from: str | None) -> GeocodeResult:
        notes: list[Note] = [NOTE_SPELLING] if corrected_from else []
        if number:
            houses = self._houses(streets, number, place)
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
                region = Region("address", label, points=points, width_m=_width(points, x, y), basis=basis,
                                within=_within(place))
                return GeocodeResult(float(lat), float(lon), "address", label, 100.0 if not corrected_from else 90.0,
                                     tuple(notes), region, corrected_from, context=given)
            if len(streets) == 1:
                between = self._between(streets[0][0], number, place, given, corrected_from, notes)
                if between is not None:
                    return between
            notes.append(NOTE_NO_NUMBER)
        return self._result_for([s for s, _ in streets], [xy for _, xy in streets], place, given, bool(corrected_from),
                                tuple(notes), corrected_from)

    def _houses(self, streets, number: str, place: Region | None) -> list[tuple]:
        """Rows (street, number found, x, y, lat, lon): house ``number`` (else without its letter) in the place."""
        houses = []
        for street, _ in streets:
            found = _house(street, number)
            if found is not None:
                lat, lon = street.houses[found]
                x, y = to_metric(lat, lon)
                houses.append((street, found, float(x), float(y), lat, lon))
        if houses and place is not None and not place.empty:
            inside = self.context.point_in_context(place, np.array([h[2] for h in houses]),
                                                   np.array([h[3] for h in houses]), CONTEXT_NEAR_M)
            houses = [h for h, keep in zip(houses, inside) if keep]
        return houses

    def _between(self, street: Street, number: str, place, given, corrected_from,
                 notes: list[Note]) -> GeocodeResult | None:
        """The house number placed between the street's known numbers on its side (:mod:`geo.geocode.houses`),
        marked as interpolated; None when the register cannot place it, or the estimate lies outside the place."""
        found = interpolate(street, number)
        if found is None:
            return None
        if place is not None and not place.empty and not self.context.point_in_context(
                place, found.points[:, 0], found.points[:, 1], CONTEXT_NEAR_M).all():
            return None
        lat, lon = to_wgs84(found.x, found.y)
        label = _with_number(street, number)
        note = Note("house_number_interpolated", "caution", {"low": found.low, "high": found.high})
        region = Region("address", label, points=tuple(map(tuple, found.points)), width_m=found.width_m,
                        basis=(Note("region", "info", {"low": found.low, "high": found.high},
                                    "basis_address_interpolated"),), within=_within(place))
        return GeocodeResult(float(lat), float(lon), "address", label, 80.0 if not corrected_from else 70.0,
                             tuple(notes) + (note,), region, corrected_from, context=given)

    def _result_for(self, streets: list[Street], xys, place, given, corrected: bool, notes=(), corrected_from=None):
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
        if place is not None and not place.empty:
            town = (self.index.postcodes[place.postcode].town if place.kind == "postcode" and place.postcode is not None
                    else place.label)
        if town and len(municipalities) == 1 and fold(town) not in fold(label):
            label = f"{streets[0].name}, {town}"
        basis = ((Note("region", "info", {"place": place.label}, "basis_street_in"),)
                 if place is not None and not place.empty else (Note("region", "info", text="basis_street"),))
        points = tuple(map(tuple, pts))
        region = Region("street", label, points=points, width_m=_width(points, x, y), basis=basis,
                        reach_m=_reach(streets, pts), within=_within(place))
        return GeocodeResult(float(lat), float(lon), "street", label, 90.0 if corrected else 100.0, tuple(notes),
                             region, corrected_from, context=given)

    def _given(self, place: Region | None) -> Region | None:
        """The region of the town or postcode the query gave, or None."""
        if place is None or place.empty or place.outside:
            return None
        try:
            return self._place_region(place)[0]
        except NotFound:
            return None

    def _place_answer(self, place: Region, note: Note | None = None) -> GeocodeResult:
        if place.outside:
            return self._outside(place)
        notes = ([note] if note else []) + list(place.notes)
        region, x, y = self._place_region(place)
        lat, lon = to_wgs84(x, y)
        return GeocodeResult(float(lat), float(lon), region.kind, place.label, 100.0, tuple(notes), region,
                             context=region)

    def _place_region(self, place: Region) -> tuple[Region, float, float]:
        """The region a town or postcode stands for, and its likely point (EPSG:3006 m)."""
        if place.points:
            pts = points_xy(place)
            k = int(np.argmin(((pts - pts.mean(axis=0)) ** 2).sum(axis=1)))
            x, y = float(pts[k, 0]), float(pts[k, 1])
            points = place.points
            region = Region("postcode", place.label, points=points, width_m=_width(points, x, y),
                            basis=(Note("region", "info", {"n": len(points)}, "basis_postcode_addresses"),),
                            within=_within(place))
            return region, x, y
        units = [self.units.get(t) for t in place.units]
        units = [u for u in units if u is not None]
        if not units:
            raise NotFound()
        x, y = place.point if place.point is not None else (units[0].x, units[0].y)
        width = max(float(np.hypot(u.x - x, u.y - y)) + u.width_m for u in units)
        names = ", ".join(u.label for u in units[:4]) + (" …" if len(units) > 4 else "")
        what = {"postcode": "the_postcodes_postal_town", "postal_town": "the_postal_town",
                "district": "the_district", "municipality": "the_municipality", "place": "the_place"}[place.kind]
        region = Region(place.kind, place.label, units=tuple(u.token for u in units), width_m=round(width, -1),
                        basis=(Note("region", "info", {"what": what, "names": names}, "basis_only"),))
        return region, float(x), float(y)

    def _outside(self, place: Region) -> GeocodeResult:
        if place.point is not None:
            lat, lon = to_wgs84(*place.point)
        elif place.postcode is not None:
            postcode = self.index.postcodes[place.postcode]
            lat, lon = postcode.lat, postcode.lon
        else:
            lat, lon = float("nan"), float("nan")
        region = Region(place.kind, place.label, basis=(Note("region", "info", text="basis_place_outside"),))
        return GeocodeResult(float(lat), float(lon), place.kind, place.label, 100.0, tuple(place.notes), region,
                             outside=place.outside)


def _coordinates(lat: float, lon: float) -> GeocodeResult:
    x, y = to_metric(lat, lon)
    region = Region("coordinates", "coordinates", points=((float(x), float(y)),),
                    basis=(Note("region", "info", text="basis_coordinates"),))
    return GeocodeResult(lat, lon, "coordinates", "coordinates", region=region)


def _within(place: Region | None) -> tuple[str, ...]:
    """The units the town or postcode given says the patient is in (a street's points were searched inside them; a
    postcode lies in its postal town, and in the postcode table's municipality): an area near a border but outside
    them is not possible (:attr:`Region.within`)."""
    if place is None or place.empty or place.outside:
        return ()
    return place.units or place.within


def _reach(streets: list[Street], pts: np.ndarray) -> tuple[float, ...]:
    """Per point of ``pts`` (rows of the streets' ``xy``), its piece's reach (m); the longest one for a point not
    found."""
    known = {(float(x), float(y)): float(r) for s in streets for (x, y), r in zip(s.xy, s.reach)}
    longest = max(known.values(), default=0.0)
    return tuple(known.get((float(x), float(y)), longest) for x, y in pts)


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
