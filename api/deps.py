"""Request-scoped access to the loaded service and to the approvals of the day a request asks about."""

from __future__ import annotations

from fastapi import HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool

from lookup.service import Service
from registry.asof import Approvals, parse_day


async def service(request: Request) -> Service:
    """The service loaded at start-up (a coroutine, so FastAPI calls it on the loop rather than in a thread)."""
    return request.app.state.service


DateQuery = Query(None, alias="date", max_length=10, pattern=r"^\d{4}-\d{2}-\d{2}$",
                  description="Approvals in force on this day, from the live registry (YYYY-MM-DD; default today in "
                              "Stockholm).")


async def approvals(request: Request, on: str | None = DateQuery) -> Approvals:
    """The approvals in force on ``?date=`` (default today), read from the live registry (kept in memory for
    ``ASIH_REGISTRY_READ_CACHE_S``), as a value that travels to the heavy workers and keys their results."""
    try:
        day = parse_day(on)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    svc: Service = request.app.state.service
    return await run_in_threadpool(svc.approvals_on, day)
