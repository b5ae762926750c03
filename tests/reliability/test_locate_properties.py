"""Property tests of point → area (``AreaLocator.locate``) over the real prepared area model.

Any valid point in a box around Stockholm County gets exactly one of two answers: one area (with its name,
provenance and municipality), or a clear "Outside Stockholm County" message. Any invalid latitude/longitude is a
``ValueError`` with a sentence, never another exception or a silent answer.
"""

from __future__ import annotations

import math

import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.crs import to_metric

# WGS84 box around the county with a margin of land (Uppsala, Södermanland) and sea (Baltic, Mälaren).
LAT = (58.6, 60.3)
LON = (17.0, 19.8)

_PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@_PROPERTY
@given(lat=st.floats(*LAT), lon=st.floats(*LON))
def test_any_point_near_the_county_is_one_area_or_outside(locator, area_model, lat, lon):
    loc = locator.locate(lat, lon)
    if loc.inside:
        assert loc.area_id in set(area_model.areas["id"])
        assert loc.area_name and loc.area_provenance in ("confirmed", "hypothesis") and loc.municipality_name
        # The answer is the area that holds the point (or, off the generalised coast, the nearest one).
        x, y = to_metric(lat, lon)
        holding = area_model.areas[area_model.areas.intersects(shapely.Point(x, y))]
        if len(holding):
            assert loc.area_id in set(holding["id"])
        else:
            assert loc.message and "off the generalised coastline" in loc.message
    else:
        assert loc.area_id is None and loc.municipality_name is None
        assert loc.message.startswith("Outside Stockholm County")


_BAD_LAT = st.one_of(
    st.floats(min_value=90, exclude_min=True), st.floats(max_value=-90, exclude_max=True), st.just(math.nan)
)
_BAD_LON = st.one_of(
    st.floats(min_value=180, exclude_min=True), st.floats(max_value=-180, exclude_max=True), st.just(math.nan)
)


@_PROPERTY
@given(
    point=st.one_of(
        st.tuples(_BAD_LAT, st.floats(*LON)),
        st.tuples(st.floats(*LAT), _BAD_LON),
        st.tuples(_BAD_LAT, _BAD_LON),
    )
)
def test_invalid_coordinates_are_a_value_error(locator, point):
    lat, lon = point
    with pytest.raises(ValueError, match=r"(Latitude|Longitude|finite)"):
        locator.locate(lat, lon)


@_PROPERTY
@given(lat=st.floats(-90, 90), lon=st.floats(-180, 180))
def test_anywhere_on_earth_is_an_answer_not_an_exception(locator, lat, lon):
    loc = locator.locate(lat, lon)
    assert loc.inside or loc.message.startswith("Outside Stockholm County")
