"""Session fixtures: real raw files, a private cache directory per test session (EPSG:3006 throughout)."""

from __future__ import annotations

import pytest
from pyproj import Transformer

from core.settings import METRIC_CRS, WGS84, Settings
from routing.compile import compile_network
from routing.loaders import load_graph
from routing.prepare import prepare_network
from routing.speeds import load_speed_model

TO_METRIC = Transformer.from_crs(WGS84, METRIC_CRS, always_xy=True)


def metric(lat: float, lon: float) -> tuple[float, float]:
    """WGS84 (lat, lon) → EPSG:3006 (x, y) in metres."""
    return TO_METRIC.transform(lon, lat)


@pytest.fixture(scope="session")
def settings(tmp_path_factory) -> Settings:
    return Settings(cache_dir=tmp_path_factory.mktemp("cache"), network_source="matsim", profile="free_flow")


@pytest.fixture(scope="session")
def model(settings):
    return load_speed_model(settings.speeds_file)


@pytest.fixture(scope="session")
def matsim_graph(settings):
    return load_graph(settings, "matsim")


@pytest.fixture(scope="session")
def inner_graph(settings):
    return load_graph(settings, "osmnx-files")


@pytest.fixture(scope="session")
def county_net(settings):
    """The county network prepared into the session's cache (MATSim source)."""
    return prepare_network(settings, progress=False)


@pytest.fixture(scope="session")
def inner_net(inner_graph, model):
    return compile_network(inner_graph, model.profiles, "free_flow", model.snap_exclude)
