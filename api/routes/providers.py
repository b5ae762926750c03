"""Provider units, with their approvals as of a day (the live registry; default today)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException

from api.deps import approvals as approvals_dep
from api.deps import service
from api.schemas import ProviderOut, errors
from lookup.service import Service
from geo.providers import UnknownUnit
from registry.asof import Approvals

router = APIRouter(prefix="/v1/providers", tags=["providers"])


@router.get("", response_model=list[ProviderOut], responses=errors(422, 503))
def list_providers(svc: Service = Depends(service), approvals: Approvals = Depends(approvals_dep)) -> list[dict]:
    """Every unit with its areas approved on ``date`` (default today) and its bases (each with precision and
    source)."""
    return [u.to_dict() for u in svc.registry_on(approvals).units]


@router.get("/{unit}", response_model=ProviderOut,
            responses=errors(404, 422, 503, said={404: "Unknown unit."}))
def get_provider(unit: str, svc: Service = Depends(service), approvals: Approvals = Depends(approvals_dep)) -> dict:
    """One unit by id or name, with its areas approved on ``date`` (default today)."""
    try:
        return svc.registry_on(approvals).get(unit[:200]).to_dict()
    except UnknownUnit as exc:
        raise HTTPException(404, str(exc)) from None
