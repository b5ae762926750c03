"""Region → areas on the real polygons: an area is certain only when the whole region lies in it.

Points are EPSG:3006 metres unless named lat/lon.
"""

from __future__ import annotations

import numpy as np
import pytest

from geo.areas.region import ChoiceError
from geo.geocode.result import Region
from tests.conftest import KNOWN_PLACES, metric_xy




def test_every_county_municipality_and_borough_is_a_unit(units):
    municipalities = [t for t in units._by_token if t.startswith("municipality:")]
    boroughs = [t for t in units._by_token if t.startswith("borough:")]
    districts = [t for t in units._by_token if t.startswith("district:")]
    assert len(municipalities) == 26 and len(boroughs) == 13
    assert len(districts) >= 110  # 117 stadsdelar, a few of them water only
    assert units.get("municipality:0180").area_ids == (3, 4, 5, 6)
    assert units.get("municipality:0123").area_ids == (7,)
    assert units.get("borough:Bromma").area_ids == (6,)


@pytest.mark.parametrize("token", ["municipality:0123", "municipality:0188", "borough:Farsta", "district:Årsta"])
def test_likely_point_of_a_unit_lies_in_it(units, token):
    unit = units.get(token)
    assert token in units.tokens_at(unit.x, unit.y)
    assert 0 < unit.width_m < 100_000


def test_units_at_known_places(units):
    lat, lon, area = KNOWN_PLACES["Kista"]
    mun, borough, found = units.at(*map(np.array, zip(metric_xy(lat, lon))))
    assert (mun[0], borough[0], found[0]) == ("0180", "Rinkeby-Kista", area)
    mun, borough, found = units.at(np.array([0.0]), np.array([0.0]))
    assert mun[0] is None and found[0] == -1


def test_municipality_in_one_area_is_certain(resolver, units):
    unit = units.get("municipality:0123")
    decision = resolver.decide(Region("municipality", "Järfälla", units=(unit.token,)), unit.x, unit.y)
    assert decision.status == "certain" and decision.area_ids == (7,)


def test_stockholm_city_is_uncertain_with_one_choice_per_borough(resolver, units):
    unit = units.get("municipality:0180")
    decision = resolver.decide(Region("municipality", "Stockholm", units=(unit.token,)), unit.x, unit.y)
    assert decision.status == "uncertain" and decision.area_ids == (3, 4, 5, 6)
    assert len(decision.choices) == 13
    assert {c.token for c in decision.choices} == {u.token for u in units.boroughs_of("0180")}
    assert "district" in decision.decide_by


def test_choice_narrows_to_a_certain_area(resolver, units):
    unit = units.get("municipality:0180")
    region = Region("municipality", "Stockholm", units=(unit.token,))
    narrowed, x, y, forced = resolver.narrow(region, unit.x, unit.y, "borough:Bromma")
    assert forced is None and narrowed.units == ("borough:Bromma",)
    decision = resolver.decide(narrowed, x, y)
    assert decision.status == "certain" and decision.area_ids == (6,)
    with pytest.raises(ChoiceError):
        resolver.narrow(Region("municipality", "Järfälla", units=("municipality:0123",)), 0, 0, "borough:Bromma")
    with pytest.raises(ChoiceError):
        resolver.narrow(region, unit.x, unit.y, "borough:Nowhere")


def test_street_across_a_border_asks_for_the_part(resolver):
    # Two points of one street: Kungsholmen (area 5) and Bromma (area 6), each far from the border.
    kungsholmen, bromma = metric_xy(59.3323, 18.0237), metric_xy(59.3370, 17.9400)
    region = Region("street", "Drottningholmsvägen", points=(kungsholmen, bromma))
    decision = resolver.decide(region, *kungsholmen)
    assert decision.status == "uncertain" and decision.area_ids == (5, 6)
    assert {c.token for c in decision.choices} == {"borough:Kungsholmen", "borough:Bromma"}
    assert decision.decide_by[0] == "house_number"
    narrowed, x, y, _ = resolver.narrow(region, *kungsholmen, "borough:Bromma")
    assert narrowed.points == (bromma,) and (x, y) == bromma
    assert resolver.decide(narrowed, x, y).area_ids == (6,)


def test_point_near_a_border_is_uncertain_and_area_choices_settle_it(resolver):
    # Fredhäll (area 5) by Tranebergssund, < 200 m from Bromma (area 6): the 1:1M borders cannot decide.
    point = metric_xy(59.3335, 17.9960)
    region = Region("address", "x", points=(point,))
    decision = resolver.decide(region, *point)
    assert decision.status == "uncertain" and decision.area_ids == (5, 6)
    assert {c.token for c in decision.choices} == {"area:5", "area:6"}
    chosen = resolver.decide(region, *point, forced_area=6)
    assert chosen.status == "certain" and chosen.area_ids == (6,)
    with pytest.raises(ChoiceError):
        resolver.decide(region, *point, forced_area=1)


@pytest.mark.parametrize("place", sorted(KNOWN_PLACES))
def test_known_addresses_are_certain(resolver, place):
    lat, lon, area = KNOWN_PLACES[place]
    point = metric_xy(lat, lon)
    decision = resolver.decide(Region("address", place, points=(point,)), *point)
    assert decision.status == "certain" and decision.area_ids == (area,)


def test_outside_the_county(resolver):
    uppsala = metric_xy(59.8586, 17.6389)
    assert resolver.decide(Region("address", "x", points=(uppsala,)), *uppsala).status == "outside"


@pytest.mark.parametrize(("query", "steps"), [
    # The street is in no offline source: asking for "the street address" again would loop; the postcode decides.
    ("Vällingbyvägen 61, Stockholm", ["postcode", "district", "map_point"]),
    # A postcode was given and did not decide: it is not asked for again.
    ("Forskarbacken 14, 114 17 Stockholm", ["district", "map_point"]),
    # Only a town: the street address is what is missing.
    ("Stockholm", ["street_address", "district", "map_point"]),
])
def test_an_uncertain_answer_never_asks_again_for_what_the_query_gave(service, query, steps):
    answer = service.lookup(address=query, lang="sv")
    assert answer["area"]["status"] == "uncertain" and answer["area"]["decide_by"] == steps
    words = {"postcode": "postnumret", "street_address": "gatuadressen", "district": "stadsdelen"}
    message = answer["warnings"][0]["message"]
    assert all((words[s] in message) == (s in steps) for s in words), message
