"""Health and readiness: ``/health`` answers 200 when lookups and audits can be answered, 503 naming the problem
when the audit data (coverage sample points) cannot be loaded."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from api.deps import service
from api.schemas import Health
from api.service import Service

router = APIRouter()


@router.get("/health", response_model=Health, tags=["meta"])
async def health(request: Request, svc: Service = Depends(service)) -> Health:
    """Liveness and what is loaded; 503 with the reason when audit data is not available."""
    problem = request.app.state.audit_problem
    if problem is None and not audit_ready(svc):
        problem = await run_in_threadpool(audit_readiness, svc, False)
        request.app.state.audit_problem = problem
    if problem is not None:
        raise HTTPException(503, problem)
    return Health(
        status="ok",
        areas=len(svc.areas.areas),
        units=len(svc.registry.units),
        network_nodes=svc.network.n_nodes,
        profile=svc.network.profile,
        limit_s=svc.settings.limit_s,
    )


def audit_ready(svc: Service) -> bool:
    """True when the default auditor (and so the sample points) is loaded."""
    from api.executor import memo_of

    return ("auditor", float(svc.settings.limit_s)) in memo_of(svc)


def audit_readiness(svc: Service, rebuild: bool = True) -> str | None:
    """Load the audit data (the default auditor, through the service's memo); None when ready, else why not.

    ``rebuild`` lets a missing or damaged samples entry be rebuilt (at start); without it a damaged entry is a
    sentence naming the file and the fix.
    """
    from api.executor import memo_of
    from geo.cache import CacheError
    from routing.population import load_samples

    try:
        if not rebuild:
            memo_of(svc).get_or_compute(("samples",), lambda: load_samples(svc.settings, svc.network, svc.areas,
                                                                            rebuild=False))
        svc.auditor()
    except CacheError as exc:
        return f"Audit data unavailable: {exc}"
    return None
