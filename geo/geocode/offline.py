"""The offline geocoder: query → point with a precision, from the prebuilt index only (no network, no raw files).

Matching: names are compared in folded form (case and diacritics removed) with rapidfuzz's ``ratio``; an exact
spelling scores 100, the same letters with other diacritics (Fjallgatan → Fjällgatan) 99, a typo less. The best
candidate wins when it beats every other distinct candidate by :data:`MARGIN` points (exact spellings win outright);
a postcode or a town in the query narrows same-named streets to the matching municipality or district. Otherwise
:class:`Ambiguous` lists the candidates. Typical lookup time is well under a millisecond (see
``bench/bench_geocode.py``).

Privacy: nothing here logs, stores or echoes a query; errors carry fixed messages.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz, process

from geo.geocode.index import GeocoderIndex, Place, Street
from geo.geocode.normalize import fold, lower
from geo.geocode.parse import ParsedQuery, clean_query, parse_query
from geo.geocode.result import MAX_CANDIDATES, Ambiguous, GeocodeResult, NotFound

FUZZY_CUTOFF = 82.0
"""Lowest rapidfuzz ratio (0–100) for a name to count as a match ("Mariebergsgtan" → Mariebergsgatan scores 97)."""
MIN_FUZZY_CHARS = 4
"""Shorter names are only matched exactly (a fuzzy match of 3 letters is noise)."""
SHORT_NAME_CHARS, SHORT_FUZZY_CUTOFF = 8, 88.0
"""Queries shorter than this need a higher ratio: "gatan" must not become "Algatan" (83)."""
SAME_PLACE_M = 2000.0
MARGIN = 3.0
"""The best fuzzy candidate must beat the next distinct one by this many points to win alone."""
EXACT_SPELLING, FOLDED_EXACT = 100.0, 99.0
NOTE_NO_NUMBER = "House number not in the offline data; the point is on the street."
NOTE_NO_LETTER = "Entrance letter not in the offline data; the house number's point is used."
NOTE_FUZZY = "The spelling was corrected to the closest name."


@dataclass(frozen=True)
class _Candidate:
    score: float
    kind: str  # "street" or "place"
    entry: Street | Place


class OfflineGeocoder:
    """Geocode with the offline index. Thread-safe (read-only after construction).

    Parameters
    ----------
    index : GeocoderIndex
        From :func:`geo.geocode.index.load_index`.
    max_chars : int
        Longest accepted query (``settings.query_max_chars``).
    """

    def __init__(self, index: GeocoderIndex, max_chars: int = 300):
        self.index = index
        self.max_chars = max_chars
        self._street_pos = {name: i for i, name in enumerate(index.street_names)}
        self._place_pos = {name: i for i, name in enumerate(index.place_names)}

    def geocode(self, query: str) -> GeocodeResult:
        """Return the best point for ``query`` or raise a :class:`~geo.geocode.result.GeocodeError` subclass."""
        parsed = parse_query(clean_query(query, self.max_chars))
        if parsed.kind == "coordinates":
            return GeocodeResult(parsed.lat, parsed.lon, "coordinates", "coordinates", 100.0)
        if parsed.kind == "postcode":
            if parsed.postcode is None:
                raise NotFound()
            return self._postcode(parsed.postcode)
        return self._text(parsed)

    # -- postcodes -------------------------------------------------------------------------------------------------
    def _postcode(self, key: str, note: str | None = None) -> GeocodeResult:
        postcode = self.index.postcodes.get(key)
        if postcode is None:
            same_area = [p for k, p in self.index.postcodes.items() if k[:3] == key[:3]]
            if not same_area:
                raise NotFound("The postcode is not in the data.")
            lat = sum(p.lat for p in same_area) / len(same_area)
            lon = sum(p.lon for p in same_area) / len(same_area)
            extra = f"Postcode not in the data; centre of the postcodes {key[:3]} xx used."
            return GeocodeResult(lat, lon, "postcode", f"{key[:3]} xx", 50.0, _join(note, extra))
        if postcode.coarse:
            note = _join(note, f"The data gives this postcode only its postal town's centre "
                               f"(shared by {postcode.shared} postcodes), not the postcode area.")
        return GeocodeResult(postcode.lat, postcode.lon, "postcode", postcode.label, 100.0, note)

    # -- addresses and places --------------------------------------------------------------------------------------
    def _text(self, parsed: ParsedQuery) -> GeocodeResult:
        street_text = parsed.street or ""
        places = list(parsed.places)
        candidates = self._streets(street_text)
        if parsed.number is None:
            candidates += self._places(street_text)
        if not _has_exact(candidates) and parsed.number is None and not places:
            # "fjällgatan stockholm": try the last one or two words as the town.
            words = street_text.split(" ")
            for cut in (1, 2):
                if len(words) > cut:
                    head, tail = " ".join(words[:-cut]), " ".join(words[-cut:])
                    more = self._streets(head) + self._places(head)
                    more = self._in_context(more, None, [tail])
                    if more and _has_exact(more) and not _has_exact(candidates):
                        candidates, places = more, [tail]
                        break
        candidates = self._in_context(candidates, parsed.postcode, places)
        if not candidates:
            return self._fallback(parsed, places)
        self._check_town(candidates, places, parsed.number)
        winner = self._choose(candidates, parsed.number)
        if winner.kind == "place":
            note = NOTE_FUZZY if winner.score < FOLDED_EXACT else None
            return _place_result(winner.entry, winner.score, note)
        result = _street_result(winner.entry, parsed.number, winner.score)
        postcode = self.index.postcodes.get(parsed.postcode or "")
        if postcode and postcode.municipality_code and postcode.municipality_code != winner.entry.municipality_code:
            result = _with_note(result, "The postcode belongs to another municipality than the street.")
        return result

    def _choose(self, candidates: list[_Candidate], number: str | None) -> _Candidate:
        candidates = sorted(candidates, key=lambda c: (-c.score, c.kind != "street"))
        best = candidates[0].score
        floor = best if best >= FOLDED_EXACT else best - MARGIN
        group = [c for c in candidates if c.score >= floor]
        if len(group) > 1 and number:
            with_number = [c for c in group if c.kind == "street" and _has_house(c.entry, number)]
            group = with_number or group
        if len(group) > 1:
            in_county = [c for c in group if c.kind == "street" or c.entry.in_county]
            group = _collapse_places(in_county or group)
        if len(group) == 1:
            return group[0]
        results = [
            _place_result(c.entry, c.score, None) if c.kind == "place" else _street_result(c.entry, number, c.score)
            for c in group[:MAX_CANDIDATES]
        ]
        raise Ambiguous(results)

    def _check_town(self, candidates: list[_Candidate], places: list[str], number: str | None) -> None:
        """A street found elsewhere than the town given must not be answered silently: the patient could be placed
        in the wrong area. Offer both instead."""
        if not places or any(c.kind == "place" for c in candidates):
            return
        for place in places:
            folded = fold(place)
            towns = [self.index.places[i] for i in self._place_ids(folded)]
            codes = {t.municipality_code for t in towns}
            if towns and not any(_agrees_place(c, folded, codes) for c in candidates):
                best = sorted(candidates, key=lambda c: -c.score)[: MAX_CANDIDATES - 1]
                town = sorted(towns, key=lambda t: (not t.in_county, -t.size))[0]
                raise Ambiguous(
                    [_street_result(c.entry, number, c.score) for c in best] + [_place_result(town, 100.0, None)],
                    "The street was not found in the town given; choose one of the candidates or check the address.",
                )

    def _fallback(self, parsed: ParsedQuery, places: list[str]) -> GeocodeResult:
        """Street not found: the postcode, else the town, is the best we have."""
        if parsed.postcode:
            return self._postcode(parsed.postcode, "Street not found; the postcode's point is used.")
        for place in places:
            found = self._places(place)
            if found:
                winner = self._choose(found, None)
                return _place_result(winner.entry, winner.score, "Street not found; the place's point is used.")
        raise NotFound()

    def _in_context(self, candidates: list[_Candidate], postcode: str | None, places: list[str]) -> list[_Candidate]:
        """Keep the candidates agreeing with the postcode's municipality and the towns given, when any agree."""
        pc = self.index.postcodes.get(postcode or "")
        if pc is not None:
            agree = [c for c in candidates if _agrees_postcode(c, pc)]
            candidates = agree or candidates
        for place in places:
            folded = fold(place)
            codes = {self.index.places[i].municipality_code for i in self._place_ids(folded)}
            agree = [c for c in candidates if _agrees_place(c, folded, codes)]
            candidates = agree or candidates
        return candidates

    def _streets(self, text: str) -> list[_Candidate]:
        streets = self.index.streets
        return [_Candidate(s, "street", streets[i]) for s, i in self._match(text, self.index.street_names,
                                                                           self._street_pos, self.index.street_ids,
                                                                           [x.name for x in streets])]

    def _places(self, text: str) -> list[_Candidate]:
        places = self.index.places
        return [_Candidate(s, "place", places[i]) for s, i in self._match(text, self.index.place_names,
                                                                         self._place_pos, self.index.place_ids,
                                                                         [x.name for x in places])]

    def _place_ids(self, folded: str) -> list[int]:
        pos = self._place_pos.get(folded)
        return self.index.place_ids[pos] if pos is not None else []

    @staticmethod
    def _match(text, names, positions, ids, entry_names) -> list[tuple[float, int]]:
        folded, spelled = fold(text), lower(text)
        if not folded:
            return []
        pos = positions.get(folded)
        if pos is not None:
            hits = [(100.0, pos)]
        elif len(folded) >= MIN_FUZZY_CHARS:
            hits = [(score, i) for _, score, i in process.extract(
                folded, names, scorer=fuzz.ratio, limit=MAX_CANDIDATES * 2,
                score_cutoff=FUZZY_CUTOFF if len(folded) >= SHORT_NAME_CHARS else SHORT_FUZZY_CUTOFF)]
        else:
            hits = []
        out = []
        for score, pos in hits:
            for i in ids[pos]:
                exact = lower(entry_names[i]) == spelled
                out.append((EXACT_SPELLING if exact else min(score, FOLDED_EXACT) if score >= 100 else score, i))
        return out


def _collapse_places(group: list[_Candidate]) -> list[_Candidate]:
    """Same-named places within :data:`SAME_PLACE_M` of each other are one place (GeoNames repeats a town under
    neighbouring municipalities); keep the one with most postcodes."""
    kept: list[_Candidate] = []
    for cand in sorted(group, key=lambda c: -c.entry.size if c.kind == "place" else 0):
        if cand.kind == "place" and any(
            k.kind == "place" and fold(k.entry.name) == fold(cand.entry.name)
            and (k.entry.x - cand.entry.x) ** 2 + (k.entry.y - cand.entry.y) ** 2 < SAME_PLACE_M**2
            for k in kept
        ):
            continue
        kept.append(cand)
    return sorted(kept, key=lambda c: (-c.score, c.kind != "street"))


def _has_exact(candidates: list[_Candidate]) -> bool:
    return any(c.score >= FOLDED_EXACT for c in candidates)


def _has_house(street: Street, number: str) -> bool:
    return number in street.houses or number.rstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ") in street.houses


def _agrees_postcode(candidate: _Candidate, postcode) -> bool:
    entry = candidate.entry
    if candidate.kind == "street" and postcode.key in entry.postcodes:
        return True
    return bool(postcode.municipality_code) and entry.municipality_code == postcode.municipality_code


def _agrees_place(candidate: _Candidate, folded: str, codes: set[str]) -> bool:
    entry = candidate.entry
    if candidate.kind == "street":
        if folded in entry.context:
            return True
        return entry.municipality_code in codes
    return entry.municipality_code in codes


def _street_result(street: Street, number: str | None, score: float) -> GeocodeResult:
    note = NOTE_FUZZY if score < FOLDED_EXACT else None
    if number:
        base = number.rstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        found = number if number in street.houses else base if base in street.houses else None
        if found:
            lat, lon = street.houses[found]
            label = street.label.replace(street.name, f"{street.name} {found}", 1)
            return GeocodeResult(lat, lon, "address", label, score,
                                 _join(note, NOTE_NO_LETTER if found != number else None))
        note = _join(note, NOTE_NO_NUMBER)
    return GeocodeResult(street.lat, street.lon, "street", street.label, score, note)


def _place_result(place: Place, score: float, note: str | None) -> GeocodeResult:
    return GeocodeResult(place.lat, place.lon, "place", place.label, score, note)


def _with_note(result: GeocodeResult, note: str) -> GeocodeResult:
    return GeocodeResult(result.lat, result.lon, result.precision, result.matched, result.score,
                         _join(result.note, note))


def _join(*notes: str | None) -> str | None:
    kept = [n for n in notes if n]
    return " ".join(kept) if kept else None


__all__ = ["OfflineGeocoder"]
