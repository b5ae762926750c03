"""Coverage for contract managers and maps: audit, patient choice and isochrones."""

from __future__ import annotations

import json

import shapely
from fastapi import APIRouter, Depends, HTTPException, Query

from api.deps import service
from api.service import Service
from geo.crs import geometry_to_wgs84
from geo.providers import UnknownUnit

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
    minutes: int = Query(30, ge=1, le=120, description="Minutes of driving from the unit's bases."),
    svc: Service = Depends(service),
) -> dict:
    """The area a unit's bases reach within ``minutes`` (GeoJSON Feature, EPSG:4326), with base precision."""
    u = _unit(svc, unit)
    geom = svc.isochrone(u.id, minutes * 60.0)
    return {
        "type": "Feature",
        "properties": {
            "unit": u.unit,
            "unit_id": u.id,
            "minutes": minutes,
            "profile": svc.network.profile,
            "area_km2": round(geom.area / 1e6, 2),
            "base_precision": u.precision,
            "bases": [{"name": b.name, "precision": b.precision} for b in u.bases],
        },
        "geometry": shapely.geometry.mapping(geometry_to_wgs84(geom.simplify(10))),
    }


def _feature_collection(gdf) -> dict:
    if gdf.empty:
        return {"type": "FeatureCollection", "features": []}
    return json.loads(gdf.to_crs("EPSG:4326").to_json(drop_id=True))
