"""Shared fixtures: real settings, the prepared area model and its locator (built from the real raw files)."""

from __future__ import annotations

import atexit
import copy
import functools
import os
import shutil
import tempfile
from pathlib import Path
from typing import NoReturn

import pytest

from geo.areas.locate import AreaLocator
from geo.areas.model import load_area_model
from geo.providers import read_registry
from core.settings import get_settings

# The live registry of the tests (and of the servers they start) is a throwaway SQLite file, never the checkout's
# data/registry.sqlite3; set before the settings are first read. Each test process has its own: a pytest-xdist worker
# inherits its controller's environment, so a registry made by a parent test process (marked below) is replaced.
_REGISTRY_DIR = Path(tempfile.mkdtemp(prefix="asih-test-registry-"))
_MADE_BY = os.getpid()


@atexit.register
def _remove_registry_dir() -> None:
    """The throwaway registry goes with the process that made it (never with a forked child of it)."""
    if os.getpid() == _MADE_BY:
        shutil.rmtree(_REGISTRY_DIR, ignore_errors=True)


if os.environ.get("ASIH_TEST_REGISTRY_OF_PID") not in (None, str(os.getpid())):
    for _name in ("ASIH_REGISTRY_URL", "ASIH_REGISTRY_SECRET_FILE"):
        os.environ.pop(_name, None)
if "ASIH_REGISTRY_URL" not in os.environ:
    os.environ["ASIH_TEST_REGISTRY_OF_PID"] = str(os.getpid())
os.environ.setdefault("ASIH_REGISTRY_URL", f"sqlite:///{_REGISTRY_DIR / 'registry.sqlite3'}")
os.environ.setdefault("ASIH_REGISTRY_SECRET_FILE", str(_REGISTRY_DIR / "registry.secret"))

# Known places (WGS84 lat, lon) and the area they must land in; coordinates read off the map, ±50 m.
KNOWN_PLACES = {
    "Fjällgatan 44, Södermalm": (59.3148, 18.0843, 4),
    "Mariebergsgatan 22, Kungsholmen": (59.3323, 18.0237, 5),
    "Södertälje centrum": (59.1955, 17.6253, 1),
    "Norrtälje centrum": (59.7580, 18.7040, 2),
    "Täby centrum": (59.4440, 18.0690, 8),
    "Kista": (59.4030, 17.9440, 6),
    "Huddinge centrum": (59.2365, 17.9816, 3),
    "Sollentuna centrum": (59.4280, 17.9510, 7),
}


@pytest.fixture(scope="session")
def settings():
    return get_settings()


@pytest.fixture(scope="session")
def area_model(settings):
    return load_area_model(settings)


@pytest.fixture(scope="session")
def locator(area_model, settings):
    return AreaLocator(area_model, settings.border_warning_m)


@pytest.fixture(scope="session")
def registry(settings):
    return read_registry(settings.providers_file)


@functools.cache
def county_service():
    """The whole prepared state (areas, network, base trees, geocoder) of the project's cache, as the API loads it:
    loaded once per test process and shared by the ``service`` fixture, apps built at import (the fuzzer's) and the
    CLI commands run in-process (``_county_loaded_once``)."""
    from lookup.service import Service

    load = getattr(Service.load, "unpatched", Service.load)
    return load(get_settings())


@pytest.fixture(scope="session")
def service():
    """The county's prepared state (``county_service()``), one for every test of the process."""
    return county_service()


@pytest.fixture(scope="session", autouse=True)
def _county_loaded_once():
    """``Service.load`` of the project's own settings (what every CLI command run through ``CliRunner`` does, 2–4 s
    a time) answers a shallow copy of ``county_service()``, as ``create_app`` copies a service handed to it; other
    settings (a private cache, another profile), ``rebuild=False`` and the servers' own processes load for real."""
    from lookup.service import Service

    real = Service.load
    project = get_settings()

    def load(settings, profile=None, rebuild=True, **options):
        if rebuild and profile in (None, settings.profile) and settings == project:
            county = county_service()
            if county.settings == settings:
                return copy.copy(county)
        return real(settings, profile=profile, rebuild=rebuild, **options)

    load.unpatched = real
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Service, "load", staticmethod(load))
        yield


@pytest.fixture(scope="session")
def auditor(service):
    return service.auditor()


REQUIRE_ALL = os.environ.get("ASIH_REQUIRE_ALL", "") not in ("", "0")
"""``ASIH_REQUIRE_ALL=1`` (set by ``.ci/run``): a missing chromium, PostgreSQL server or vendored asset fails the
tests that need it instead of skipping them, so CI cannot pass by running fewer tests."""


def missing(what: str) -> NoReturn:
    """Skip the calling test for a missing tool or asset (``what`` says which and how to install it), or fail it
    when ``ASIH_REQUIRE_ALL`` is set."""
    if REQUIRE_ALL:
        pytest.fail(f"{what} (ASIH_REQUIRE_ALL is set: what is missing fails, it is not skipped)", pytrace=False)
    pytest.skip(what)


CHROMIUM = Path("/usr/bin/chromium")
"""Debian's chromium (installed by .ci/run); browser tests skip only when it is missing (and fail then under
``ASIH_REQUIRE_ALL``)."""
NO_CHROMIUM = "Debian's chromium is not installed at /usr/bin/chromium: apt-get install chromium (.ci/run does)"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists() and not REQUIRE_ALL, reason=NO_CHROMIUM),
]


@pytest.fixture(scope="module")
def browser():
    """A headless Debian chromium driven by playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        missing(NO_CHROMIUM)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


SLOW_FIRST = ("tests/reliability/", "tests/api/")
"""Packages whose files take longest (real processes, rebuilt caches, browsers): collected first, so that two
pytest-xdist workers (``make test``: ``--no-loadscope-reorder``) start with them and end on short files together."""


def pytest_collection_modifyitems(items):
    """Slow packages first (``SLOW_FIRST``), each package's files in their usual order. And schemathesis names each
    operation's item ``test[GET /path]`` but leaves its node id at ``test``; pytest-xdist schedules by node id, so a
    worker ran one operation per test and dropped the others, unrun and unreported: each gets the node id of its
    name."""
    for item in items:
        if item.nodeid.rsplit("::", 1)[-1] != item.name:
            item._id = item.parent.id.child(item.name)

    def rank(item) -> int:
        return next((k for k, prefix in enumerate(SLOW_FIRST) if item.nodeid.startswith(prefix)), len(SLOW_FIRST))

    items.sort(key=rank)  # stable: the order within a package is kept


def metric_xy(lat: float, lon: float) -> tuple[float, float]:
    """A WGS84 point (degrees) as EPSG:3006 metres, as plain floats."""
    from core.crs import to_metric

    x, y = to_metric(lat, lon)
    return float(x), float(y)


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """The tiny real model for unit tests (``tests/tiny/model.py``): Riddarfjärden's shores cut from the real raw
    files at test time — two areas (4 and 5), ≈ 540 road nodes of the county's MATSim network, two units with one
    base each — built by the project's own loaders into a private cache in a few seconds (2–6 s), once per test
    process. Its ``settings`` point at the cut files; everything is EPSG:3006."""
    from tests.tiny.model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="session")
def tiny_service(tiny):
    """The tiny model as the API and CLI load a state (``lookup.service.Service.load`` of its settings, with its
    own geocoder index and live registry): for unit tests of the lookup, the heavy work and the routes."""
    from lookup.service import Service

    return Service.load(tiny.settings)
