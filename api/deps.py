"""Request-scoped access to the loaded service."""

from __future__ import annotations

from fastapi import Request

from api.service import Service


async def service(request: Request) -> Service:
    """The service loaded at start-up (a coroutine, so FastAPI calls it on the loop rather than in a thread)."""
    return request.app.state.service
