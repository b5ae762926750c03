"""Real inputs for the map tests: the prepared area model, provider bases, isochrones, gaps and choice layer."""

from __future__ import annotations

import geopandas as gpd
import pytest

from geo import boundaries
from maps.background import load_land
from maps.interactive import flatten_bases


@pytest.fixture(scope="session")
def municipalities(settings) -> gpd.GeoDataFrame:
    return boundaries.load_municipalities(settings)


@pytest.fixture(scope="session")
def boroughs(settings) -> gpd.GeoDataFrame:
    return boundaries.load_boroughs(settings)


@pytest.fixture(scope="session")
def areas(area_model) -> gpd.GeoDataFrame:
    return area_model.areas


@pytest.fixture(scope="session")
def units(registry) -> list[dict]:
    return [u.to_dict() for u in registry.units]


@pytest.fixture(scope="session")
def bases(units) -> list[dict]:
    return flatten_bases(units)


@pytest.fixture(scope="session")
def land(settings) -> gpd.GeoDataFrame:
    return load_land(settings)


@pytest.fixture(scope="session")
def sodertalje(units) -> dict:
    return next(u for u in units if u["id"] == "sodertalje-sjukhus")


@pytest.fixture(scope="session")
def reach(service, sodertalje):
    """The unit's real 30-minute isochrone (EPSG:3006)."""
    return service.isochrone(sodertalje["id"], service.settings.limit_s)


@pytest.fixture(scope="session")
def gaps(auditor, sodertalje) -> gpd.GeoDataFrame:
    return auditor.gap_polygons(sodertalje["id"])


@pytest.fixture(scope="session")
def deso(auditor) -> gpd.GeoDataFrame:
    from routing.choice import choice_layer

    return choice_layer(auditor)


@pytest.fixture(scope="session")
def lookup_result(service) -> dict:
    """A real lookup answer for a point on Södermalm (the JSON contract of the lookup endpoint)."""
    return service.lookup_point(59.3170, 18.0600)
