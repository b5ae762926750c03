"""A coarse answer of the online geocoder (Nominatim) is decided as the region it covers, never as its point: the
answer asks when that region crosses an area border. Nominatim cannot run here, so its answers are built in its real
JSON shape (``boundingbox`` = [south, north, west, east] as strings) and fed through the same path."""

from __future__ import annotations

import pytest

from lookup.localize import localize_lookup
from geo.geocode.online import UNKNOWN_WIDTH_M, box_region
from geo.geocode.result import GeocodeResult, Note


def _answer(service, box, precision="postcode", lat=59.3195, lon=18.09):
    region = box_region(box, precision, "Somewhere, Stockholm", lat, lon)
    match = GeocodeResult(lat, lon, precision, "Somewhere, Stockholm", 100.0,
                          (Note("online_coarse", "caution"),), region=region)
    return region, service._answer(match, None)  # the answer's notes as data, worded by localize_lookup


def test_a_box_across_an_area_border_is_uncertain(service):
    # From Södermalm (area 5) across Danvikstull into Nacka (area 4).
    region, body = _answer(service, ["59.305", "59.330", "18.060", "18.160"])
    assert region.width_m > 2000 and len(region.points) == 7 * 7 + 1
    assert body["area"]["status"] == "uncertain" and body["eligible"] == []
    assert {4, 5} <= {a["id"] for a in body["area"]["possible"]}
    sv = localize_lookup(body, "sv")
    assert sv["query"]["region"]["basis"].startswith("Det område som adressökningens svar täcker")


def test_a_small_box_inside_one_area_is_answered(service):
    # Central Södertälje (area 1).
    _, body = _answer(service, ["59.193", "59.198", "17.620", "17.630"], lat=59.1955, lon=17.625)
    assert body["area"]["status"] == "certain" and body["area"]["id"] == 1 and body["eligible"]


@pytest.mark.parametrize("box", [None, ["x", "1", "2", "3"], ["59.4", "59.3", "18.0", "18.1"], ["nan"] * 4])
def test_without_a_usable_box_the_region_is_a_circle_around_the_point(box):
    region = box_region(box, "place", "A place", 59.3195, 18.09)
    assert region.width_m == UNKNOWN_WIDTH_M and len(region.points) == 17
    assert "2 km" in region.render_basis("en")
    assert region.render_basis("sv").startswith("Adressökningen online angav ingen utsträckning")
