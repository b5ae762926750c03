"""Request and response schemas of the HTTP API (pydantic), apart from the domain objects."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field


class BorderWarningOut(BaseModel):
    distance_m: float = Field(description="Distance to the neighbouring area (m).")
    neighbour_area_id: int
    neighbour_area_name: str
    message: str


PrecisionOut = Literal[
    "address", "street", "postcode", "postal_town", "district", "municipality", "place", "coordinates"
]


class RegionOut(BaseModel):
    kind: PrecisionOut = Field(description="What the region is: an address point, a street's pieces, a postcode's "
                                           "addresses, a postal town, a district, a municipality, coordinates.")
    label: str
    width_m: float = Field(description="How far from the answer's point the patient may be (m).")
    basis: str = Field(description="What the location rests on, in one sentence.")


class QueryOut(BaseModel):
    precision: PrecisionOut = Field(description="How precisely the input was located.")
    matched: str = Field(description="What the input matched (never the raw input).")
    lat: float | None = Field(description="The most likely point (WGS84); drive times are from here, unless the "
                                          "region is wider than 1 km (then each unit's drive_time_range_s).")
    lon: float | None
    corrected_from: str | None = Field(None, description="The street as typed, when its spelling was corrected "
                                                         "to `matched` (show 'did you mean …?').")
    region: RegionOut


class AreaBrief(BaseModel):
    id: int
    name: str
    provenance: str


class ChoiceOut(BaseModel):
    token: str = Field(description="Send back as `choice` with the same query to settle the area.")
    label: str
    area_id: int
    area_name: str
    lat: float
    lon: float


class AreaRef(BaseModel):
    status: Literal["certain", "uncertain", "outside"] = Field(
        description="certain: the whole region lies in one area; uncertain: several are possible (see choices); "
                    "outside: not in Stockholm County.")
    id: int | None
    name: str | None
    provenance: str | None = Field(None, description="'confirmed' or 'hypothesis' (see data/areas.yaml).")
    municipality: str | None = Field(None, description="Named only when the whole region lies in it; otherwise the "
                                                        "possible ones joined ('Solna or Stockholm').")
    district: str | None = Field(None, description="Stockholm stadsdelsområde, when in Stockholm city; as "
                                                    "municipality ('Kungsholmen or Norrmalm').")
    stadsdel: str | None = Field(None, description="Stockholm stadsdel; as municipality.")
    municipality_possible: list[str] = Field([], description="The municipalities the region may lie in (one: "
                                                              "certain).")
    district_possible: list[str] = Field([], description="The stadsdelsområden the region's part in Stockholm city "
                                                          "may lie in.")
    stadsdel_possible: list[str] = Field([], description="The stadsdelar the region's part in Stockholm city may lie "
                                                          "in.")
    border_warning: BorderWarningOut | None = None
    possible: list[AreaBrief] = Field(description="Areas the location may be in.")
    choices: list[ChoiceOut] = Field(description="Ways to settle an uncertain area (empty otherwise).")
    decide_by: list[Literal["house_number", "street_address", "district", "map_point", "official_register",
                            "confirm", "town_or_postcode"]]


class ContactOut(BaseModel):
    phone: str | None = None
    referral: str | None = None
    hours: str | None = None


class UnitOption(BaseModel):
    id: str
    unit: str
    organisation: str
    drive_time_s: float | None = Field(
        description="Drive time from the unit's nearest base (s); null if unreachable. For a region wider than 1 km, "
                    "the median of drive_time_range_s (kept for old clients: never show it alone).")
    within_limit: bool = Field(description="Within the limit; for a wide region only when all of it is "
                                           "(within_limit_share 1.0).")
    base: str = Field(description="The base the drive time is from.")
    base_precision: Literal["address", "place", "unknown"]
    capacity_note: str | None = None
    contact: ContactOut | None = Field(None, description="Referral contact, when known.")
    drive_time_s_by_profile: dict[str, float | None] | None = Field(
        None, description="Drive time (s) under free_flow, typical and peak traffic (null = unreachable); eligible "
                          "units only. drive_time_s is the one of the answer's profile.")
    within_limit_only_at_free_flow: bool | None = Field(
        None, description="Within the limit without traffic but not in typical traffic (eligible units only).")
    drive_time_range_s: dict[str, float | None] | None = Field(
        None, description="A region wider than 1 km: {min, p50, max} (s) over its points (its known addresses, or "
                          "where people live in it), people-weighted median; max null when part of it is unreachable. "
                          "Null for a narrower location.")
    within_limit_share: float | None = Field(
        None, description="A region wider than 1 km: the share of its points (people-weighted where people are "
                          "counted) within the limit, floored to 4 decimals; null for a narrower location.")
    drive_time_range_s_by_profile: dict[str, dict[str, float | None]] | None = Field(
        None, description="drive_time_range_s under free_flow, typical and peak traffic (wide regions, eligible "
                          "units).")
    within_limit_share_by_profile: dict[str, float] | None = Field(
        None, description="within_limit_share under free_flow, typical and peak traffic (wide regions, eligible "
                          "units).")
    availability: dict | None = Field(
        None, description="Free places from the live registry: {free_places, note, reported_at, age_s, stale, "
                          "status}; a stale report is not a number to trust. status 'unavailable' (with reason "
                          "'registry_unavailable' and the caution free_places_unavailable): the registry cannot "
                          "be read right now, free_places is null. Eligible units only.")


class WarningOut(BaseModel):
    code: str = Field(description="Machine-readable, e.g. area_uncertain, outside_county, street_not_found.")
    severity: Literal["decisive", "caution", "info"] = Field(
        description="decisive: changes the answer; caution: check it; info: routine caveat.")
    message: str = Field(description="The note worded in the answer's language (from the catalogue core/words.yaml).")
    params: dict[str, Any] = Field(default_factory=dict, description="The facts the note states (numbers, names, "
                                   "ids), the same in every language.")


class BasisOut(BaseModel):
    profile: str
    network: str
    limit_s: float
    worst_base_precision: str | None
    summary: str = Field(description="What 'within the limit' rests on, in one sentence.")
    approvals_date: str | None = Field(None, description="The day whose approvals the answer uses (YYYY-MM-DD).")


class LookupOut(BaseModel):
    query: QueryOut
    area: AreaRef
    eligible: list[UnitOption] = Field(
        description="Units approved for the area, ranked by drive time; empty unless area.status is 'certain'.")
    reachable_not_approved: list[UnitOption] = Field(
        description="Units that reach the point within the limit (a wide region: some of it) but are NOT approved for "
                    "its area (not eligible)."
    )
    warnings: list[WarningOut] = Field(description="Most important first.")
    basis: BasisOut
    limit_s: float
    profile: str = Field(description="The traffic profile of drive_time_s and within_limit (ASIH_PROFILE; typical).")
    date: str = Field(description="The day (YYYY-MM-DD) whose approvals decided `eligible`.")
    view: dict[str, Any] | None = Field(None, description="The referrer page's view model, when asked for.")


class LookupIn(BaseModel):
    address: str | None = Field(None, description="Address, postcode, place or 'lat, lon'.")
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    lang: Literal["en", "sv"] = Field("en", description="Language of warnings and error sentences.")
    choice: str | None = Field(None, max_length=100, description="A token from a previous answer's area.choices.")
    date: dt.date | None = Field(None, description="The day whose approvals apply (default today).")
    view: bool = Field(False, description="Also answer ``view``: the referrer page's view model (its texts in "
                       "``lang``), which the page renders as it is.")


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
    contact: ContactOut | None = Field(None, description="Referral contact, when known.")
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
    status: Literal["ok", "degraded"] = Field(
        description="ok; degraded: the registry database cannot be read, lookups still answer (approvals from the "
                    "last good read, free places not available) and writes get 503.")
    registry: Literal["ok", "unavailable"] | None = Field(
        None, description="The live registry's database: readable now, or not (null: no registry attached).")
    registry_reason: str | None = Field(None, description="Why the registry is unavailable (a sentence).")
    registry_last_good_read_age_s: int | None = Field(
        None, description="Seconds since the registry was last read (null: not once since start).")
    areas: int
    units: int
    network_nodes: int
    profile: str
    limit_s: float
