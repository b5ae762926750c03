"""Coverage for contract managers and maps: audit, patient choice, isochrones and the split of areas.

Each is heavy (0.05–3 s of CPU for a new parameter set), so it runs in the app's :class:`~api.executor.HeavyExecutor`:
off the event loop, bounded (503 with ``Retry-After`` when saturated), computed once for identical concurrent
requests and memoised in bounds.
"""

from __future__ import annotations

import json
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response

from api.deps import approvals as approvals_dep
from api.deps import service
from api.executor import heavy_for, json_bytes, run_heavy
from api.schemas import errors
from lookup.service import Service
from geo.providers import UnknownUnit
from routing.isochrones import MAX_BANDS, unit_isochrones
from registry.asof import Approvals
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


@router.get("/audit", responses=errors(422, 503))
async def audit_all(request: Request, minutes: int | None = Minutes,
                    approvals: Approvals = Depends(approvals_dep)) -> list[dict]:
    """Every unit × approved area (and areas reached but not approved) for the approvals in force on ``date``:
    population/land/road shares, verdict, people-weighted drive times and margin; each row names its ``date`` and
    ``profile`` (the configured one)."""
    limit = _limit(minutes)
    return _answer(await run_heavy(heavy_for(request), ("audit", limit, approvals), audit_all_json, limit, approvals))


@router.get("/audit/{unit}", responses=errors(404, 422, 503, said={404: "Unknown unit."}))
async def audit_unit(
    request: Request,
    unit: str,
    minutes: int | None = Minutes,
    gaps: bool = Query(False, description="Include the gap polygons as a GeoJSON FeatureCollection (EPSG:4326)."),
    svc: Service = Depends(service),
    approvals: Approvals = Depends(approvals_dep),
) -> dict:
    """One unit's audit rows for the approvals in force on ``date``, optionally with its gap polygons."""
    u = _unit(svc, unit)
    limit = _limit(minutes)
    key = ("audit", u.id, limit, gaps, approvals)
    return _answer(await run_heavy(heavy_for(request), key, audit_unit_json, u.id, limit, gaps, approvals))


@router.get("/choice", responses=errors(422, 503))
async def choice(
    request: Request,
    minutes: int | None = Minutes,
    layer: bool = Query(False, description="Include the DeSO choice layer as GeoJSON (EPSG:4326)."),
    approvals: Approvals = Depends(approvals_dep),
) -> dict:
    """Population with 0, 1, 2, 3+ approved units (as of ``date``) reaching within the limit, per area and for the
    county."""
    limit = _limit(minutes)
    return _answer(await run_heavy(heavy_for(request), ("choice", limit, layer, approvals), choice_json, limit, layer,
                                   approvals))


@router.get("/isochrones/{unit}", responses=errors(404, 422, 503, said={404: "Unknown unit."}))
async def isochrone(
    request: Request,
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
    simplify_m: float = Query(
        0.0, ge=0, le=500, description="Simplify each polygon to this tolerance (m) before sending: fewer vertices, "
        "no edge moved farther than this; each feature then says `simplified_m`. 0 (default): as computed.",
    ),
    svc: Service = Depends(service),
) -> dict:
    """The places a unit reaches within each limit: a GeoJSON FeatureCollection (EPSG:4326), one feature per band
    with ``minutes``, ``lower_minutes`` (rings), ``population``, ``area_km2``, the direction and base precision."""
    u = _unit(svc, unit)
    limits = tuple(_minutes_list(minutes))
    key = ("isochrones", u.id, limits, shape, direction, float(simplify_m))
    return _answer(await run_heavy(heavy_for(request), key, isochrones_json, u.id, limits, shape, direction,
                                   float(simplify_m)))


@router.get("/split", responses=errors(422, 503))
async def split(
    request: Request,
    minutes: int | None = Query(None, ge=1, le=120, description="Places beyond this from every unit go to none."),
    direction: Literal["outbound", "inbound"] = Query("outbound", description="Drive time from (or to) the bases."),
    units: Literal["approved", "all"] = Query("approved", description="Which units compete in an area."),
    approvals: Approvals = Depends(approvals_dep),
) -> dict:
    """Each area divided among its units (approved as of ``date``) by drive time (the nearest unit wins): a GeoJSON
    FeatureCollection (EPSG:4326), one feature per area × unit with ``population``, ``population_share`` and
    ``area_km2``; ``date`` and ``profile`` say what it rests on."""
    key = ("split", minutes, units, direction, approvals)
    return _answer(await run_heavy(heavy_for(request), key, split_json, minutes, units == "approved", direction,
                                   approvals))


# -- heavy work, run in the executor's workers (module-level: sent to a worker by name) --------------------------


def _stated(auditor) -> dict:
    """What every coverage answer names: the approvals' day and the traffic profile."""
    return {"date": auditor.day.isoformat(), "profile": auditor.net.profile}


def audit_all_json(svc: Service, limit_s: float | None, approvals: Approvals) -> bytes:
    """The body of ``GET /v1/audit``."""
    auditor = svc.auditor(limit_s, approvals)
    return json_bytes([{**r.to_dict(), **_stated(auditor)} for ua in auditor.audit_all() for r in ua.rows()])


def audit_unit_json(svc: Service, unit_id: str, limit_s: float | None, gaps: bool, approvals: Approvals) -> bytes:
    """The body of ``GET /v1/audit/{unit}``."""
    auditor = svc.auditor(limit_s, approvals)
    u = auditor.registry.get(unit_id)
    out = {**_stated(auditor), "unit": u.to_dict(), "rows": [r.to_dict() for r in auditor.audit_unit(u.id).rows()]}
    if gaps:
        out["gaps"] = _feature_collection(auditor.gap_polygons(u.id))
    return json_bytes(out)


def choice_json(svc: Service, limit_s: float | None, layer: bool, approvals: Approvals) -> bytes:
    """The body of ``GET /v1/choice``."""
    from routing.choice import choice_layer, choice_summary

    auditor = svc.auditor(limit_s, approvals)
    out = {**_stated(auditor), **choice_summary(auditor)}
    if layer:
        out["layer"] = _feature_collection(choice_layer(auditor))
    return json_bytes(out)


def isochrones_json(svc: Service, unit_id: str, limits: tuple[float, ...], shape: str, direction: str,
                    simplify_m: float = 0.0) -> bytes:
    """The body of ``GET /v1/isochrones/{unit}``."""
    return json_bytes(unit_isochrones(svc.settings, svc.network, svc.areas, svc.eligibility.trees,
                                      svc.registry.get(unit_id), list(limits), shape, direction, serialised=True,
                                      simplify_m=simplify_m))


def split_json(svc: Service, minutes: int | None, approved: bool, direction: str, approvals: Approvals) -> bytes:
    """The body of ``GET /v1/split``."""
    out = split_collection(svc.settings, svc.network, svc.areas, svc.eligibility.trees, svc.registry_on(approvals),
                           minutes, approved, direction)
    return json_bytes({**out, "date": approvals.day.isoformat(), "profile": svc.network.profile})


def _answer(body: bytes) -> Response:
    return Response(body, media_type="application/json")


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
