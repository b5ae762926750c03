"""The live registry over HTTP: free places, dated approvals, the change log, and the provider page.

Thin over :class:`registry.service.RegistryService`: parse, call one method, shape the answer. Reading is
anonymous (like the lookup); writing needs a bearer token (``api.auth``). The provider page ``/leverantor``
and its two files are served from a fixed allow-list with the referrer page's security headers.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api.auth import current_actor, get_registry, require_role
from api.pages import SECURITY_HEADERS as PAGE_HEADERS
from api.schemas import Day, Text, Whole, errors
from registry.service import Actor, Conflict, Forbidden, Invalid, NotFound, RegistryService, today

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
_PAGE_FILES = {"provider.js": "text/javascript; charset=utf-8", "provider.css": "text/css; charset=utf-8"}
_ERRORS = {NotFound: 404, Forbidden: 403, Conflict: 409, Invalid: 422}
AUTH_ERRORS = errors(401, 429, 503, said={
    503: "The registry database cannot be used right now; nothing was changed. See Retry-After."})
"""What every route needing a token may answer besides its own errors."""
WRITE_ERRORS = {**AUTH_ERRORS, **errors(400, 413, 422)}
READ_ERRORS = errors(422, 503, said={503: "The registry database cannot be read right now. See Retry-After."})


@asynccontextmanager
async def _lifespan(app):
    """Open (migrate, and on the first start import) the registry when the app starts."""
    if getattr(app.state, "registry", None) is None:
        app.state.registry = await run_in_threadpool(RegistryService.from_settings, getattr(app.state, "settings", None))
    yield


router = APIRouter(lifespan=_lifespan)
RegistryDep = Annotated[RegistryService, Depends(get_registry)]
Managers = Annotated[Actor, Depends(require_role("contract_manager", "admin"))]


# -- schemas ---------------------------------------------------------------------------------------------------------
class AvailabilityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    free_places: Whole = Field(ge=0, le=1000, description="Free places now (0 = full).")
    note: Text | None = Field(default=None, max_length=200,
                             description="A short note for referrers; never patient details.")


class AvailabilityOut(BaseModel):
    unit_id: str
    free_places: int | None = Field(description="None when the unit has never reported.")
    note: str | None
    reported_at: str | None = Field(description="When reported (ISO 8601, UTC).")
    age_s: int | None = Field(description="Seconds since the report.")
    stale: bool = Field(description="True when older than stale_after_s, or never reported: not a number to trust.")
    status: Literal["current", "stale", "none"]
    stale_after_s: float


class ApprovalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit: str = Field(max_length=80, description="Unit id, e.g. 'ersta-diakoni'.")
    area_id: Whole = Field(ge=1, le=99)
    action: Literal["add", "end"] = Field(
        default="add", description="'add': approved from valid_from to valid_to (open-ended without it); "
        "'end': valid_to is the last day in force.")
    valid_from: Day | None = Field(default=None, description="First day in force (Stockholm date); needed to add.")
    valid_to: Day | None = Field(default=None, description="Last day in force (included); needed to end.")


class ApprovalOut(BaseModel):
    id: int
    unit_id: str
    area_id: int
    valid_from: date | None = Field(description="None: in force since before the registry's records (undated list).")
    valid_to: date | None = Field(description="Last day in force; None: until further notice.")
    withdrawn: bool = Field(description="Ended before it started: in force on no day.")


class ApprovalChangeOut(BaseModel):
    action: Literal["add", "end"]
    approvals: list[ApprovalOut]


class ApprovalsOn(BaseModel):
    date: date
    approvals: dict[str, list[int]] = Field(description="Unit id → areas approved on that date.")


class ChangeOut(BaseModel):
    id: int
    at: str
    actor: str
    actor_id: int | None
    action: str
    entity: str
    before: dict | None
    after: dict | None


class MeOut(BaseModel):
    id: int | None
    name: str
    role: str
    units: list[dict] = Field(description="The units the token may report for (providers), with names.")


# -- routes ----------------------------------------------------------------------------------------------------------
@router.get("/v1/units/{unit}/availability", response_model=AvailabilityOut, tags=["registry"],
            responses={**READ_ERRORS, **errors(404, said={404: "Unknown unit."})})
def get_availability(unit: str, registry: RegistryDep) -> dict:
    """A unit's latest free places, with its age and whether it is stale (anonymous)."""
    call(registry.unit, unit[:80])
    return registry.availability([unit])[unit]


@router.put("/v1/units/{unit}/availability", response_model=AvailabilityOut, tags=["registry"],
            responses={**WRITE_ERRORS, **errors(403, 404, 409, said={403: "A provider token for another unit.",
                                                                   404: "Unknown unit."})})
def put_availability(unit: str, body: AvailabilityIn, registry: RegistryDep,
                     actor: Actor = Depends(current_actor)) -> dict:
    """Report a unit's free places now (providers for their own units; contract managers and admins for any)."""
    return call(registry.set_availability, actor, unit[:80], body.free_places, body.note)


@router.get("/v1/approvals", response_model=ApprovalsOn, tags=["registry"], responses=READ_ERRORS)
def approvals_on(registry: RegistryDep, on: Day | None = Query(default=None, alias="date",
                 description="Stockholm date (YYYY-MM-DD); default today.")) -> dict:
    """Every unit's approved areas on a date (anonymous)."""
    day = on or today()
    return {"date": day, "approvals": {u: list(a) for u, a in registry.approvals_on(day).items()}}


@router.get("/v1/approvals/periods", response_model=list[ApprovalOut], tags=["registry"],
            responses={**READ_ERRORS, **errors(404, said={404: "Unknown unit."})})
def approval_periods(registry: RegistryDep, unit: str | None = Query(default=None, max_length=80)) -> list[dict]:
    """Every approval period, ended and withdrawn ones too (the history; anonymous)."""
    return call(registry.approval_history, unit)


@router.post("/v1/approvals", response_model=ApprovalChangeOut, tags=["registry"],
             responses={**WRITE_ERRORS, 201: {"description": "Added."},
                        **errors(403, 404, 409, said={403: "Not a manager.", 404: "Unknown unit or area.",
                                                      409: "Overlaps an approval, or nothing to end."})})
def post_approval(body: ApprovalIn, registry: RegistryDep, actor: Managers, response: Response) -> dict:
    """Add a unit's approval for an area from a date, or end it after a date (contract managers, admins)."""
    if body.action == "add":
        if body.valid_from is None:
            raise HTTPException(422, "valid_from is needed to add an approval.")
        response.status_code = 201
        return {"action": "add", "approvals": [
            call(registry.add_approval, actor, body.unit, body.area_id, body.valid_from, body.valid_to)]}
    if body.valid_to is None:
        raise HTTPException(422, "valid_to (the last day in force) is needed to end an approval.")
    return {"action": "end", "approvals": call(registry.end_approval, actor, body.unit, body.area_id, body.valid_to)}


@router.get("/v1/changes", response_model=list[ChangeOut], tags=["registry"],
            responses={**AUTH_ERRORS, **errors(403, 404, 422, said={403: "Not a contract manager or admin.",
                                                                   404: "Unknown unit."})})
def changes(registry: RegistryDep, actor: Managers, limit: int = Query(default=100, ge=1, le=1000),
            before_id: int | None = Query(default=None, ge=1, le=2**31 - 1,
                                       description="Page: entries older than this id."),
            unit: str | None = Query(default=None, max_length=80)) -> list[dict]:
    """The change log, newest first (contract managers and admins)."""
    return registry.changes(limit=limit, before_id=before_id, entity=f"unit:{unit}" if unit else None)


@router.get("/v1/me", response_model=MeOut, tags=["registry"], responses=AUTH_ERRORS)
def me(registry: RegistryDep, actor: Actor = Depends(current_actor)) -> dict:
    """Who the token belongs to, and the units it may report for."""
    names = {u["id"]: u["unit"] for u in registry.units()}
    return {"id": actor.id, "name": actor.name, "role": actor.role,
            "units": [{"id": u, "unit": names.get(u, u)} for u in sorted(actor.unit_ids)]}


@router.get("/leverantor", include_in_schema=False)
def provider_page() -> FileResponse:
    """The provider page: report free places."""
    return FileResponse(STATIC_DIR / "provider.html", media_type="text/html; charset=utf-8",
                        headers={**PAGE_HEADERS, "Cache-Control": "no-cache"})


@router.get("/leverantor/{name}", include_in_schema=False)
def provider_file(name: str) -> FileResponse:
    """The provider page's script and stylesheet."""
    if name not in _PAGE_FILES:
        raise HTTPException(404, "Not found.")
    return FileResponse(STATIC_DIR / name, media_type=_PAGE_FILES[name],
                        headers={**PAGE_HEADERS, "Cache-Control": "no-cache"})


def call(function, *args):
    """Call the registry; its refusals become HTTP errors with the same sentence."""
    try:
        return function(*args)
    except tuple(_ERRORS) as exc:
        raise HTTPException(_ERRORS[type(exc)], str(exc)) from None
