"""Coverage for contract managers and maps: audit, patient choice and isochrones."""

from __future__ import annotations

import json
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Query

from api.deps import service
from api.service import Service
from geo.providers import UnknownUnit
from routing.isochrones import MAX_BANDS, unit_isochrones
from routing.split import split_collection

router = APIRouter(prefix="/v1", tags=["coverage"])

Minutes = Query(None, ge=5, le=120, description="Drive-time limit in minutes (default: the ASIH limit, 30).")


def _unit(svc: Service, key: str):
    try:
        return svc.registry.get(key[:200])
    except UnknownUnit as exc:
        raise HTTPException(404, str(exc)) from None


def _limit(minutes: int | None) -> float | None:
    return None if minutes is None else float(minutes) * 60


@router.get("/audit")
def audit_all(minutes: int | None = Minutes, svc: Service = Depends(service)) -> list[dict]:
    """Every unit × approved area (and areas reached but not approved): population/land/road shares and verdict."""
    auditor = svc.auditor(_limit(minutes))
    return [r.to_dict() for ua in auditor.audit_all() for r in ua.rows()]


@router.get("/audit/{unit}")
def audit_unit(
    unit: str,
    minutes: int | None = Minutes,
    gaps: bool = Query(False, description="Include the gap polygons as a GeoJSON FeatureCollection (EPSG:4326)."),
    svc: Service = Depends(service),
) -> dict:
    """One unit's audit rows, optionally with its gap polygons."""
    u = _unit(svc, unit)
    auditor = svc.auditor(_limit(minutes))
    out = {"unit": u.to_dict(), "rows": [r.to_dict() for r in auditor.audit_unit(u.id).rows()]}
    if gaps:
        out["gaps"] = _feature_collection(auditor.gap_polygons(u.id))
    return out


@router.get("/choice")
def choice(
    minutes: int | None = Minutes,
    layer: bool = Query(False, description="Include the DeSO choice layer as GeoJSON (EPSG:4326)."),
    svc: Service = Depends(service),
) -> dict:
    """Population with 0, 1, 2, 3+ approved units reaching within the limit, per area and for the county."""
    from routing.choice import choice_layer, choice_summary

    auditor = svc.auditor(_limit(minutes))
    out = choice_summary(auditor)
    if layer:
        out["layer"] = _feature_collection(choice_layer(auditor))
    return out


@router.get("/isochrones/{unit}")
def isochrone(
    unit: str,
    minutes: str = Query(
        "30", max_length=40,
        description="Band limits in minutes, comma-separated (e.g. `10,20,30`; each 1–120, at most 6).",
    ),
    direction: Literal["outbound", "inbound"] = Query(
        "outbound", description="`outbound`: time from the unit's nearest base to the place; `inbound`: to the base."
    ),
    shape: Literal["disks", "rings"] = Query(
        "disks", description="`disks`: everything within each limit (they nest); `rings`: between limits (disjoint).",
    ),
    svc: Service = Depends(service),
) -> dict:
    """The places a unit reaches within each limit: a GeoJSON FeatureCollection (EPSG:4326), one feature per band
    with ``minutes``, ``lower_minutes`` (rings), ``population``, ``area_km2``, the direction and base precision."""
    u = _unit(svc, unit)
    limits = _minutes_list(minutes)
    return unit_isochrones(svc.settings, svc.network, svc.areas, svc.eligibility.trees, u, limits, shape, direction)


@router.get("/split")
def split(
    minutes: int | None = Query(None, ge=1, le=120, description="Places beyond this from every unit go to none."),
    direction: Literal["outbound", "inbound"] = Query("outbound", description="Drive time from (or to) the bases."),
    units: Literal["approved", "all"] = Query("approved", description="Which units compete in an area."),
    svc: Service = Depends(service),
) -> dict:
    """Each area divided among its units by drive time (the nearest unit wins): a GeoJSON FeatureCollection
    (EPSG:4326), one feature per area × unit with ``population``, ``population_share`` and ``area_km2``."""
    return split_collection(svc.settings, svc.network, svc.areas, svc.eligibility.trees, svc.registry, minutes,
                            units == "approved", direction)


def _minutes_list(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise HTTPException(422, "minutes must be numbers separated by commas, e.g. 10,20,30.") from None
    if not values or len(values) > MAX_BANDS or not all(1 <= v <= 120 for v in values):
        raise HTTPException(422, f"Give 1 to {MAX_BANDS} limits, each from 1 to 120 minutes, e.g. 10,20,30.")
    return values


def _feature_collection(gdf) -> dict:
    if gdf.empty:
        return {"type": "FeatureCollection", "features": []}
    return json.loads(gdf.to_crs("EPSG:4326").to_json(drop_id=True))
