"""House numbers placed between the register's known ones, abbreviations and named places (issue 23), on the county's
prepared geocoder (``county_service()``; real OSM and Skolverket addresses). Distances in EPSG:3006 metres."""

from __future__ import annotations

import dataclasses
import re
import statistics

import numpy as np
import pytest

from core.crs import to_metric
from geo.geocode.houses import MAX_NUMBER_GAP, interpolate
from geo.geocode.normalize import fold


def _street(service, label):
    return next(s for s in service.geocoder.index.streets if s.label == label)


def _without(street, number: str):
    """The street as if the register lacked ``number`` (and its entrances)."""
    return dataclasses.replace(street, houses={k: v for k, v in street.houses.items()
                                               if re.match(r"\d+", k).group() != number})


def test_a_missing_number_is_placed_between_its_neighbours_on_its_own_side(service):
    # Birger Jarlsgatan: 6D, 10, 12, 13, 14, … are known; 8 is not, and 7/9 (the other side) are not used.
    match = service.geocoder.geocode("Birger Jarlsgatan 8, Stockholm")
    assert match.precision == "address" and match.matched == "Birger Jarlsgatan 8, Stockholm"
    assert [(n.code, dict(n.params)) for n in match.notes] == [("house_number_interpolated", {"low": 6, "high": 10})]
    street = _street(service, "Birger Jarlsgatan, Stockholm")
    (x6, y6), (x10, y10) = (to_metric(*street.houses[k]) for k in ("6D", "10"))
    x, y = to_metric(match.lat, match.lon)
    gap = float(np.hypot(x10 - x6, y10 - y6))
    assert np.hypot(x - x6, y - y6) <= gap and np.hypot(x - x10, y - y10) <= gap
    assert match.region.kind == "address" and len(match.region.points) >= 3  # the estimate and both known points
    assert match.region.basis[0].key == "basis_address_interpolated"
    answer = service.lookup(address="Birger Jarlsgatan 8, Stockholm")
    # The street is the border of Norrmalm and Östermalm (one area): certain, both boroughs named.
    assert answer["area"]["status"] == "certain" and (answer["area"]["id"],) == service.units.get(
        "borough:Norrmalm").area_ids == service.units.get("borough:Östermalm").area_ids
    assert "house_number_interpolated" in {w["code"] for w in answer["warnings"]}


def test_interpolation_lands_near_the_real_house_and_its_own_side_matters(service):
    """Each known number taken out in turn and placed again from the rest: close to its real point, and closer than
    from the other side's numbers (N-1, N+1)."""
    own, other = [], []
    for street in service.geocoder.index.streets:
        for key, latlon in street.houses.items():
            if not key.isdigit() or int(key) < 2:
                continue
            found = interpolate(_without(street, key), key)
            if found is None:
                continue
            x, y = to_metric(*latlon)
            own.append(float(np.hypot(found.x - x, found.y - y)))
            sides = [street.houses.get(str(int(key) + d)) for d in (-1, 1)]
            if all(sides):
                (xa, ya), (xb, yb) = (to_metric(*p) for p in sides)
                other.append(float(np.hypot((xa + xb) / 2 - x, (ya + yb) / 2 - y)))
    assert len(own) > 500 and len(other) > 100
    assert statistics.median(own) < 15.0 and sorted(own)[int(0.9 * len(own))] < 40.0
    assert statistics.median(own) < statistics.median(other)


def test_only_between_known_numbers_of_the_same_parity_never_beyond(service):
    street = _street(service, "Birger Jarlsgatan, Stockholm")
    numbers = sorted(int(re.match(r"\d+", k).group()) for k in street.houses)
    assert interpolate(street, str(numbers[-1] + 2)) is None  # beyond the highest: stays a street answer
    evens = {k: v for k, v in street.houses.items() if int(re.match(r"\d+", k).group()) % 2 == 0}
    odd = next(n for n in range(numbers[0] + 1, numbers[-1], 2) if n % 2 == 1)
    assert interpolate(dataclasses.replace(street, houses=evens), str(odd)) is None  # no odd side known
    far = {k: v for k, v in street.houses.items() if k in ("10", str(10 + MAX_NUMBER_GAP + 2))}
    if len(far) == 2:
        assert interpolate(dataclasses.replace(street, houses=far), "12") is None  # too far apart in numbers


@pytest.mark.parametrize("typed", ["St Botvids väg 28", "St. Botvids väg 28", "Sankt Botvids väg 28",
                                   "st botvids v. 28"])
def test_abbreviations_find_the_address(service, typed):
    reference = service.geocoder.geocode("S:t Botvids väg 28")
    match = service.geocoder.geocode(typed)
    assert reference.precision == match.precision == "address"
    assert (match.lat, match.lon, match.matched) == (reference.lat, reference.lon, reference.matched)
    answer = service.lookup(address=typed + ", Norsborg")
    assert answer["area"]["status"] == "certain" and answer["area"]["municipality"] == "Botkyrka"


def test_an_abbreviation_is_a_word_of_its_own():
    assert fold("St Eriksgatan") == fold("S:t Eriksgatan") == fold("Sankt Eriksgatan") == "sankt eriksgatan"
    assert fold("Storgatan") == "storgatan" and fold("Gustav V:s väg") == "gustav v s vag"
    assert fold("Vasa v.") == fold("Vasa väg") == "vasa vag"


@pytest.mark.parametrize("query, municipality, code", [
    ("Kista galleria", "Stockholm", "named_place_not_in_data"),
    ("Nacka forum", "Nacka", "named_place_not_in_data"),
    ("Täby centrum", "Täby", "centre_not_in_data"),
])
def test_a_named_place_answers_for_its_town_and_says_so(service, query, municipality, code):
    answer = service.lookup(address=query)
    assert answer["area"]["status"] == "certain" and answer["area"]["municipality"] == municipality
    assert answer["query"]["precision"] in ("postal_town", "district", "municipality", "place")
    assert code in {w["code"] for w in answer["warnings"]}
