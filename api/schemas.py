"""Request and response schemas of the HTTP API (pydantic), apart from the domain objects."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class BorderWarningOut(BaseModel):
    distance_m: float = Field(description="Distance to the neighbouring area (m).")
    neighbour_area_id: int
    neighbour_area_name: str
    message: str


class QueryOut(BaseModel):
    precision: Literal["address", "street", "postcode", "place", "coordinates"] = Field(
        description="How precisely the input was located."
    )
    matched: str = Field(description="What the input matched (never the raw input).")
    lat: float
    lon: float


class AreaRef(BaseModel):
    id: int | None
    name: str | None
    provenance: str | None = Field(None, description="'confirmed' or 'hypothesis' (see data/areas.yaml).")
    municipality: str | None = None
    district: str | None = Field(None, description="Stockholm stadsdelsområde, when in Stockholm city.")
    stadsdel: str | None = None
    border_warning: BorderWarningOut | None = None


class UnitOption(BaseModel):
    id: str
    unit: str
    organisation: str
    drive_time_s: float | None = Field(description="Drive time from the unit's nearest base (s); null if unreachable.")
    within_limit: bool
    base: str = Field(description="The base the drive time is from.")
    base_precision: Literal["address", "place", "unknown"]
    capacity_note: str | None = None


class LookupOut(BaseModel):
    query: QueryOut
    area: AreaRef
    eligible: list[UnitOption] = Field(description="Units approved for the area, ranked by drive time.")
    reachable_not_approved: list[UnitOption] = Field(
        description="Units that reach the point within the limit but are NOT approved for its area (not eligible)."
    )
    warnings: list[str]
    limit_s: float
    profile: str


class LookupIn(BaseModel):
    address: str | None = Field(None, description="Address, postcode, place or 'lat, lon'.")
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    lang: Literal["en", "sv"] = Field("en", description="Language of warnings and error sentences.")


class BatchItemOut(BaseModel):
    row: int
    ok: bool
    result: LookupOut | None = None
    error: str | None = None


class BatchOut(BaseModel):
    rows: int
    ok: int
    failed: int
    results: list[BatchItemOut]


class BaseOut(BaseModel):
    name: str
    lat: float
    lon: float
    precision: str
    source: str


class ProviderOut(BaseModel):
    id: str
    unit: str
    organisation: str
    areas: list[int]
    precision: str = Field(description="Worst precision among the unit's bases.")
    capacity_note: str | None = None
    bases: list[BaseOut]


class AreaOut(BaseModel):
    id: int
    name: str
    municipalities: list[str]
    districts: list[str]
    area_km2: float
    land_km2: float
    population: int
    provenance: str
    provenance_note: str


class Health(BaseModel):
    status: Literal["ok"]
    areas: int
    units: int
    network_nodes: int
    profile: str
    limit_s: float
