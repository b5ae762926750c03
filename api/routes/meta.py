"""Health and readiness: ``/health`` answers 200 when lookups and audits can be answered, 503 naming the problem
when the audit data (coverage sample points) cannot be loaded.

The registry's database does not decide it: lookups answer without it (approvals from its last good read), so a
load balancer must keep sending them. When it cannot be read, ``/health`` answers 200 with ``status: "degraded"``,
``registry: "unavailable"`` and the last good read's age; ``registry: "ok"`` when it can."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from api.deps import service
from api.schemas import Health, errors
from lookup.service import Service

router = APIRouter()


@router.get("/health", response_model=Health, tags=["meta"],
            responses=errors(503, said={503: "Audit data not available (the sentence names the problem)."}))
async def health(request: Request, svc: Service = Depends(service)) -> Health:
    """Liveness and what is loaded; 503 with the reason when audit data is not available."""
    problem = request.app.state.audit_problem
    if problem is None and not audit_ready(svc):
        problem = await run_in_threadpool(audit_readiness, svc, False)
        request.app.state.audit_problem = problem
    if problem is not None:
        raise HTTPException(503, problem)
    live = getattr(request.app.state, "registry", None) or svc.live
    status = getattr(live, "status", None)
    registry = await run_in_threadpool(status) if status is not None else {}
    unavailable = registry.get("registry") == "unavailable"
    return Health(
        status="degraded" if unavailable else "ok",
        registry=registry.get("registry"),
        registry_reason="The registry database cannot be read right now." if unavailable else None,
        registry_last_good_read_age_s=registry.get("last_good_read_age_s"),
        areas=len(svc.areas.areas),
        units=len(svc.registry.units),
        network_nodes=svc.network.n_nodes,
        profile=svc.network.profile,
        limit_s=svc.settings.limit_s,
    )


def audit_ready(svc: Service) -> bool:
    """True when the default auditor (and so the sample points) is loaded."""
    from core.memo import memo_of

    return ("auditor", float(svc.settings.limit_s)) in memo_of(svc)


def audit_readiness(svc: Service, rebuild: bool = True) -> str | None:
    """Load the audit data (the default auditor, through the service's memo); None when ready, else why not.

    ``rebuild`` lets a missing or damaged samples entry be rebuilt (at start); without it a damaged entry is a
    sentence naming the file and the fix.
    """
    from core.memo import memo_of
    from core.cache import CacheError
    from routing.population import load_samples

    try:
        if not rebuild:
            memo_of(svc).get_or_compute(("samples",), lambda: load_samples(svc.settings, svc.network, svc.areas,
                                                                            rebuild=False))
        svc.auditor()
    except CacheError as exc:
        return f"Audit data unavailable: {exc}"
    return None
