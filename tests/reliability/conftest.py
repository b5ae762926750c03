"""Fixtures for the reliability and security tests.

``live_server`` is the shared one from ``tests/api/conftest.py`` (real ``uvicorn api.main:app`` with the redacting
log config); ``service``, ``settings``, ``locator`` and ``area_model`` come from ``tests/conftest.py``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.api.conftest import live_server  # noqa: F401  (re-exported fixture)

CACHE_ENTRIES = ("areas", "network", "trees", "geocoder")
"""Cache entries a lookup needs (population/samples/maps are for audits and maps only)."""


@pytest.fixture
def cache_copy(settings, tmp_path) -> Path:
    """A private copy of the prepared cache's lookup entries (tests may break or rebuild it freely)."""
    dst = tmp_path / "cache"
    for name in CACHE_ENTRIES:
        shutil.copytree(settings.cache_dir / name, dst / name)
    return dst
