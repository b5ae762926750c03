"""The app as deployed (``uvicorn tests.registry.live_app:create --factory``), for the registry's browser tests."""

from __future__ import annotations

from api.app import create_app


def create():
    return create_app()
