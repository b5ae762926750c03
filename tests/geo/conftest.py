"""Fixtures of the region tests: the county's administrative units and the region → area resolver."""

from __future__ import annotations

import pytest

from geo.areas.region import RegionResolver
from geo.areas.units import AdminUnits


@pytest.fixture(scope="module")
def units(area_model):
    return AdminUnits(area_model)


@pytest.fixture(scope="module")
def resolver(units, locator):
    return RegionResolver(units, locator)
