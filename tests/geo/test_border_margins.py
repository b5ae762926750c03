"""Border margins by the accuracy of each border's source (issue 23), on the real area model: Stockholm city's
borough map (property-level) against Lantmäteriet's 1:1M municipality map (±100 m). EPSG:3006 metres."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geo.areas.locate import AreaLocator
from geo.areas.region import RegionResolver
from geo.areas.units import AdminUnits
from geo.geocode.result import Region
from core.settings import COUNTY_CODE, STOCKHOLM_CODE

OFFSET_M = 100.0
"""Test points lie this far from a border: inside the 1:1M margin, outside the borough map's."""


@pytest.fixture(scope="module")
def by_source(area_model, settings):
    assert settings.borough_border_margin_m < OFFSET_M < settings.border_warning_m
    return AreaLocator(area_model, settings.border_warning_m, settings.borough_border_margin_m)


@pytest.fixture(scope="module")
def units(area_model):
    return AdminUnits(area_model)


def test_only_borders_far_from_the_municipality_map_take_the_borough_margin(by_source, area_model, settings, units):
    margins = by_source._segment_margin
    precise = margins == settings.borough_border_margin_m
    assert precise.sum() > 500 and (margins == settings.border_warning_m).sum() > 1000
    sweden = area_model.all_municipalities
    outline = shapely.union_all(shapely.boundary(sweden.loc[sweden["county_code"] == COUNTY_CODE].geometry.values))
    segments = by_source._segments
    assert (shapely.distance(segments[precise], outline) > settings.border_warning_m).all()
    mid = shapely.get_coordinates(shapely.line_interpolate_point(segments[precise], 0.5, normalized=True))
    mun, borough, _ = units.at(mid[:, 0], mid[:, 1])
    assert set(mun.tolist()) == {STOCKHOLM_CODE} and None not in set(borough.tolist())


def _point_beside(locator, units, precise: bool) -> tuple[float, float]:
    """A point ``OFFSET_M`` from the middle of a border segment of the wanted source, on its own area's side, with
    no other area's border nearer than 90 m and no 1:1M border within the 1:1M margin when ``precise``."""
    wanted = locator._segment_margin < locator.border_warning_m if precise else (
        locator._segment_margin == locator.border_warning_m)
    for i in np.flatnonzero(wanted):
        (xa, ya), (xb, yb) = shapely.get_coordinates(locator._segments[i])
        length = float(np.hypot(xb - xa, yb - ya))
        if length < 50:
            continue
        nx, ny = (yb - ya) / length, -(xb - xa) / length
        for side in (1, -1):
            x, y = (xa + xb) / 2 + side * OFFSET_M * nx, (ya + yb) / 2 + side * OFFSET_M * ny
            _, _, area = units.at(np.array([x]), np.array([y]))
            if area[0] < 0 or area[0] == locator._segment_area[i]:
                continue
            others = locator._segment_area != area[0]
            d = shapely.distance(shapely.Point(x, y), locator._segments[others])
            if d.min() < 90 or (precise and (d[locator._segment_margin[others] == locator.border_warning_m]
                                             <= locator.border_warning_m).any()):
                continue
            return x, y
    raise AssertionError("no such point")


def test_a_point_100_m_from_a_borough_border_is_certain_and_from_a_1m_border_is_not(by_source, area_model, settings,
                                                                                     units):
    resolver = RegionResolver(units, by_source)
    flat = RegionResolver(units, AreaLocator(area_model, settings.border_warning_m))  # one margin for every border
    x, y = _point_beside(by_source, units, precise=True)
    point = Region("address", "a register address", points=((x, y),))
    assert resolver.decide(point, x, y).status == "certain"
    assert flat.decide(point, x, y).status == "uncertain"
    # The same point on a street whose piece reaches 100 m from it: the reach is added to the precise margin.
    street = Region("street", "a street piece", points=((x, y),), reach_m=(OFFSET_M,))
    assert resolver.decide(street, x, y).status == "uncertain"
    x, y = _point_beside(by_source, units, precise=False)
    point = Region("address", "a register address", points=((x, y),))
    assert resolver.decide(point, x, y).status == "uncertain" and len(resolver.decide(point, x, y).area_ids) == 2


def test_the_postcode_table_rules_out_a_near_border_area_only_when_the_points_agree(by_source, units):
    resolver = RegionResolver(units, by_source)
    x, y = _point_beside(by_source, units, precise=False)
    _, _, area = units.at(np.array([x]), np.array([y]))
    mun, _, _ = units.at(np.array([x]), np.array([y]))
    assert len(resolver.decide(Region("postcode", "a postcode", points=((x, y),)), x, y).area_ids) >= 2
    own = Region("postcode", "a postcode", points=((x, y),), within=(f"municipality:{mun[0]}",))
    assert resolver.decide(own, x, y).area_ids == (int(area[0]),)
    elsewhere = next(u for u in (units.get(f"municipality:{c}") for c in ("0114", "0120", "0136", "0192"))
                     if u is not None and int(area[0]) not in u.area_ids)
    said_elsewhere = Region("postcode", "a postcode", points=((x, y),), within=(elsewhere.token,))
    assert len(resolver.decide(said_elsewhere, x, y).area_ids) == 2  # contradicted: nothing is ruled out


def test_the_border_warning_names_its_source(by_source, units, area_model, settings):
    x, y = _point_beside(by_source, units, precise=True)
    warning = by_source.locate_xy(x, y).border_warning
    assert warning is not None and warning.precise and abs(warning.distance_m - OFFSET_M) < 1.0
    # The source is known whatever margin is configured (``asih locate`` builds its locator with one margin).
    one_margin = AreaLocator(area_model, settings.border_warning_m)
    assert one_margin.locate_xy(x, y).border_warning.precise
    assert (one_margin._segment_precise == by_source._segment_precise).all()
    assert "Stockholm city's own map" in warning.render("en") and "Stockholms stads egen karta" in warning.render("sv")
    assert warning.note.render("en").startswith("Near an area border")
    x, y = _point_beside(by_source, units, precise=False)
    warning = by_source.locate_xy(x, y).border_warning
    assert warning is not None and not warning.precise and "generalised" in warning.render("en")
