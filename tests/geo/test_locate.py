"""Point → area on the real polygons."""

from __future__ import annotations

import pytest

from tests.conftest import KNOWN_PLACES


@pytest.mark.parametrize("place", sorted(KNOWN_PLACES))
def test_known_places_land_in_their_area(locator, place):
    lat, lon, area = KNOWN_PLACES[place]
    loc = locator.locate(lat, lon)
    assert loc.area_id == area, (place, loc)
    assert loc.border_warning is None


def test_stockholm_point_has_district_and_stadsdel(locator):
    loc = locator.locate(59.4030, 17.9440)
    assert (loc.municipality_code, loc.district, loc.stadsdel) == ("0180", "Rinkeby-Kista", "Kista")


def test_other_municipality_has_no_district(locator):
    loc = locator.locate(59.4440, 18.0690)
    assert (loc.municipality_code, loc.municipality_name, loc.district, loc.stadsdel) == ("0160", "Täby", None, None)


def test_point_near_area_border_warns_with_distance(locator):
    # Fredhäll, Kungsholmen (area 5), by Tranebergssund, the water between it and Traneberg in Bromma (area 6).
    loc = locator.locate(59.3335, 17.9960)
    assert loc.border_warning is not None
    assert 20 < loc.border_warning.distance_m <= 200
    assert {loc.area_id, loc.border_warning.neighbour_area_id} == {5, 6}


def test_outside_county_is_an_answer_not_an_exception(locator):
    loc = locator.locate(59.8586, 17.6389)  # Uppsala
    assert loc.area_id is None and not loc.inside
    assert "Outside Stockholm County" in loc.message and "Uppsala" in loc.message
    far = locator.locate(48.8566, 2.3522)  # Paris
    assert far.area_id is None and "not in any Swedish municipality" in far.message


def test_invalid_coordinates_raise_value_error(locator):
    with pytest.raises(ValueError, match="Latitude"):
        locator.locate(123.0, 18.0)
    with pytest.raises(ValueError, match="finite"):
        locator.locate(float("nan"), 18.0)
