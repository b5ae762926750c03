"""Request and response schemas of the HTTP API (pydantic), apart from the domain objects."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, WithJsonSchema

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _day(value: object) -> dt.date:
    """A calendar day given as YYYY-MM-DD, nothing else: pydantic alone reads ``0`` as 1970-01-01."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _DAY.fullmatch(value):
        return dt.date.fromisoformat(value)  # ValueError (an impossible day, 2025-02-30): pydantic's 422
    raise ValueError("a day is written YYYY-MM-DD, e.g. 2025-03-01")


Day = Annotated[dt.date, BeforeValidator(_day),
                WithJsonSchema({"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"})]
"""A date in a query or a body: strictly YYYY-MM-DD (``?date=0`` or ``20250301`` is refused with 422)."""
Number = Annotated[float, Field(strict=True)]
"""A number in a JSON body: an integer or a decimal, never a boolean (``true`` is not 1.0)."""
Whole = Annotated[int, Field(strict=True)]
"""An integer in a JSON body, never a boolean or a decimal."""
Flag = Annotated[bool, Field(strict=True)]
"""A boolean in a JSON body: ``true`` or ``false`` only (not 1 or "yes")."""


def _unicode(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("the text is not valid Unicode (a lone surrogate escape such as \\ud800)") from None
    return value


Text = Annotated[str, AfterValidator(_unicode)]
"""Text a JSON body may carry and the service stores or prints: JSON lets ``"\\ud800"`` through, which no file,
PDF or database can hold."""


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
    lat: Number | None = Field(None, ge=-90, le=90)
    lon: Number | None = Field(None, ge=-180, le=180)
    lang: Literal["en", "sv"] = Field("en", description="Language of warnings and error sentences.")
    choice: str | None = Field(None, max_length=100, description="A token from a previous answer's area.choices.")
    date: Day | None = Field(None, description="The day whose approvals apply (YYYY-MM-DD; default today).")
    view: Flag = Field(False, description="Also answer ``view``: the referrer page's view model (its texts in "
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


# -- errors ----------------------------------------------------------------------------------------------------------
class FieldErrorOut(BaseModel):
    loc: list[str | int] = Field(description="Where: 'body', 'query', 'path' or 'header', then the field's name.")
    msg: str = Field(description="What is wrong with it (the value itself is never echoed).")
    type: str | None = Field(None, description="Machine-readable kind, e.g. float_type, missing.")


class CandidateOut(BaseModel):
    matched: str
    precision: str
    lat: float
    lon: float


class AmbiguousOut(BaseModel):
    message: str = Field(description="Why the input was not enough, in the request's language.")
    candidates: list[CandidateOut] = Field(description="What the input may mean; send one of them instead.")


class ErrorOut(BaseModel):
    """The body of every error answer (4xx, 500, 503)."""

    detail: str | list[FieldErrorOut] | AmbiguousOut = Field(
        description="A sentence saying what went wrong and what to do; for a request that does not match this "
                    "schema (422), the list of fields at fault; for an address that matches several places (422), "
                    "the sentence and the candidates.")


ERROR_MEANINGS = {
    400: "The request cannot be read.",
    401: "No token, or a wrong or revoked one.",
    403: "The token's role may not do this.",
    404: "No such resource (the sentence names what exists).",
    409: "The request conflicts with the registry's state.",
    413: "The request body is too large.",
    415: "The body's content type is not accepted.",
    422: "A parameter or the body is invalid (missing, of the wrong type, out of range, a date not YYYY-MM-DD).",
    429: "Too many failed token checks from this client or for this token; see Retry-After.",
    500: "An unexpected error; nothing was stored.",
    503: "Busy or a database unavailable; nothing was changed. See Retry-After.",
}
"""What each error status means, for the OpenAPI schema (every error answer's body is :class:`ErrorOut`)."""


def errors(*codes: int, said: dict[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route that may answer ``codes``: each with :class:`ErrorOut` and its meaning (``said``
    words it for this route)."""
    said = said or {}
    return {code: {"model": ErrorOut, "description": said.get(code, ERROR_MEANINGS[code])} for code in codes}
