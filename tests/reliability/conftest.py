"""Fixtures for the reliability and security tests: the real service, loaded once, and the real server.

``live_server`` is the shared one from ``tests/api/conftest.py`` (real ``uvicorn api.main:app`` with the redacting
log config); ``service`` is the prepared :class:`~api.service.Service` read from the project cache, as the app
loads it at start-up.
"""

from __future__ import annotations

import pytest

from api.service import Service
from geo.settings import get_settings
from tests.api.conftest import live_server  # noqa: F401  (re-exported fixture)


@pytest.fixture(scope="session")
def service() -> Service:
    """The prepared service state (built from the real raw files; rebuilt only if the cache is stale)."""
    return Service.load(get_settings())
