"""Health."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.deps import service
from api.schemas import Health
from api.service import Service

router = APIRouter()


@router.get("/health", response_model=Health, tags=["meta"])
def health(svc: Service = Depends(service)) -> Health:
    """Liveness and what is loaded."""
    return Health(
        status="ok",
        areas=len(svc.areas.areas),
        units=len(svc.registry.units),
        network_nodes=svc.network.n_nodes,
        profile=svc.network.profile,
        limit_s=svc.settings.limit_s,
    )
