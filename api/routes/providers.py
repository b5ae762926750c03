"""Provider units."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException

from api.deps import service
from api.schemas import ProviderOut
from api.service import Service
from geo.providers import UnknownUnit

router = APIRouter(prefix="/v1/providers", tags=["providers"])


@router.get("", response_model=list[ProviderOut])
def list_providers(svc: Service = Depends(service)) -> list[dict]:
    """Every unit with approved areas and bases (with each base's precision and source)."""
    return [u.to_dict() for u in svc.registry.units]


@router.get("/{unit}", response_model=ProviderOut)
def get_provider(unit: str, svc: Service = Depends(service)) -> dict:
    """One unit by id or name."""
    try:
        return svc.registry.get(unit[:200]).to_dict()
    except UnknownUnit as exc:
        raise HTTPException(404, str(exc)) from None
