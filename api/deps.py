"""Request-scoped access to the loaded service."""

from __future__ import annotations

from fastapi import Request

from api.service import Service


def service(request: Request) -> Service:
    """The service loaded at start-up."""
    return request.app.state.service
