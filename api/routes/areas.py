"""Areas: list and GeoJSON of one area."""

from __future__ import annotations

import shapely
from fastapi import APIRouter, Depends, HTTPException, Path

from api.deps import service
from api.schemas import AreaOut, errors
from lookup.service import Service
from core.crs import geometry_to_wgs84

router = APIRouter(prefix="/v1/areas", tags=["areas"])


@router.get("", response_model=list[AreaOut])
def list_areas(svc: Service = Depends(service)) -> list[dict]:
    """The eight areas with members, land area (km²), population (DeSO 2023) and provenance."""
    return svc.areas.summary().to_dict(orient="records")


@router.get("/{area_id}", response_description="A GeoJSON Feature in EPSG:4326",
            responses=errors(404, 422, said={404: "Unknown area (the sentence lists the ids)."}))
def get_area(area_id: int = Path(ge=-(2**31), le=2**31 - 1), svc: Service = Depends(service)) -> dict:
    """One area as a GeoJSON Feature (WGS84), its summary as properties."""
    summary = svc.areas.summary()
    row = summary[summary["id"] == area_id]
    if row.empty:
        raise HTTPException(404, f"Unknown area {area_id}; areas are {', '.join(map(str, summary['id']))}.")
    geom = svc.areas.areas.loc[svc.areas.areas["id"] == area_id].geometry.iloc[0]
    simplified = geom.simplify(20, preserve_topology=True)  # 20 m: below the 1:1M source's accuracy
    return {
        "type": "Feature",
        "properties": row.iloc[0].to_dict(),
        "geometry": shapely.geometry.mapping(geometry_to_wgs84(simplified)),
    }
