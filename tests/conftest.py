"""Shared fixtures: real settings, the prepared area model and its locator (built from the real raw files)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from geo.areas.locate import AreaLocator
from geo.areas.model import load_area_model
from geo.providers import read_registry
from geo.settings import get_settings

# The live registry of the tests (and of the servers they start) is a throwaway SQLite file, never the checkout's
# data/registry.sqlite3; set before the settings are first read.
_REGISTRY_DIR = Path(tempfile.mkdtemp(prefix="asih-test-registry-"))
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


@pytest.fixture(scope="session")
def service(settings):
    """The whole prepared state (areas, network, base trees, geocoder), as the API loads it."""
    from api.service import Service

    return Service.load(settings)


@pytest.fixture(scope="session")
def auditor(service):
    return service.auditor()


CHROMIUM = Path("/usr/bin/chromium")
"""Debian's chromium (installed by .ci/run); browser tests skip only when it is missing."""
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def browser():
    """A headless Debian chromium driven by playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()
