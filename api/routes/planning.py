"""Planning for contract managers: the audit under free flow, typical and peak traffic with what it rests on,
what-if, and where a unit would need bases (base siting).

Thin: parse, call the domain (:mod:`routing.audit`, :mod:`routing.whatif`, :class:`routing.siting.SitePlanner`),
shape the answer. The auditors per profile and the planner (candidate sites and their reach) are built once per
limit (and profile) and kept in one bounded memo (:class:`core.memo.Memo`); concurrent first requests wait for one
build instead of each running their own. The computations run in the heavy-work pool (:mod:`api.executor`): bounded,
computed once for identical concurrent requests, 503 with ``Retry-After`` when saturated, never on the event loop.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api.deps import service
from api.deps import approvals as approvals_dep
from api.executor import heavy_for, run_heavy
from api.schemas import errors
from lookup.service import Service
from core.memo import Memo
from geo.providers import UnknownUnit
from registry.asof import Approvals, parse_day

router = APIRouter(prefix="/v1", tags=["planning"])

_KEPT = Memo(max_items=8)
"""Auditors per limit and planners per (profile, limit), per service: built once (concurrent first requests wait
for one build), the least recently used dropped beyond 8 (an auditor set is ≈ 100 MB)."""

Minutes = Query(None, ge=5, le=120, description="Drive-time limit in minutes (default 30).")
ProfileQuery = Query("all", description="`all` (free flow, typical and peak side by side) or one of them.")
TABLE_200 = {200: {"content": {"application/json": {}, "text/csv": {"schema": {"type": "string"}},
                               "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}},
                   "description": "The rows as JSON, or (``format``) a CSV or XLSX download."}}


def _limit(svc: Service, minutes: int | None) -> float:
    return float(minutes) * 60 if minutes is not None else svc.settings.limit_s


def _auditors(svc: Service, limit_s: float, approvals: Approvals) -> dict:
    from routing.audit import profile_auditors

    return _KEPT.get_or_compute(("auditors", id(svc), limit_s, approvals),
                                lambda: profile_auditors(svc.auditor(limit_s, approvals)))


def _planner(svc: Service, profile: str, limit_s: float, approvals: Approvals):
    from routing.siting import SitePlanner, index_places

    def build():
        planner = SitePlanner(_auditors(svc, limit_s, approvals), profile, index_places(svc.geocoder))
        _ = planner.reach  # the reach matrix is filled on first use: inside the build, once
        return planner

    return _KEPT.get_or_compute(("planner", id(svc), profile, limit_s, approvals), build)


def _profiles(profile: str) -> list[str]:
    from routing.audit import AUDIT_PROFILES

    if profile == "all":
        return list(AUDIT_PROFILES)
    if profile not in AUDIT_PROFILES:
        raise HTTPException(422, f"profile must be 'all' or one of {', '.join(AUDIT_PROFILES)}.")
    return [profile]


def _table(rows: list[dict], meta: dict, fmt: str, lang: str, kind: str):
    """JSON, or the same rows as a CSV/XLSX download (Swedish by default; see api.exports)."""
    import tempfile
    from pathlib import Path

    from fastapi.responses import Response

    from api import exports

    if fmt == "json":
        return {"meta": meta, "rows": rows}
    profiles = meta["profiles"]
    if kind == "audit":
        columns, table = exports.audit_columns(profiles, lang), exports.audit_table_rows(rows, lang)
    else:
        columns, table = exports.what_if_columns(lang), exports.what_if_table_rows(rows, lang)
    with tempfile.TemporaryDirectory() as tmp:
        path = exports.write_table(Path(tmp) / f"{kind}.{fmt}", columns, table, lang, kind,
                                   exports.about_rows(meta, lang))
        data = path.read_bytes()
    media = "text/csv; charset=utf-8" if fmt == "csv" else \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{kind}.{fmt}"'})


@router.get("/planning/audit", response_model=None,
            responses={**TABLE_200, **errors(404, 422, 503, said={404: "Unknown unit."})})
async def audit(
    request: Request,
    unit: str | None = Query(None, max_length=200, description="One unit (id or name); default all."),
    area: int | None = Query(None, ge=1, le=99, description="Only this area."),
    profile: str = ProfileQuery,
    minutes: int | None = Minutes,
    format: Literal["json", "csv", "xlsx"] = Query("json", description="`csv` (';', BOM, decimal comma in "
                                                   "Swedish) or `xlsx` download the same rows."),
    lang: Literal["sv", "en"] = Query("sv", description="Language of CSV/XLSX headers and verdicts."),
    compare_date: str | None = Query(None, max_length=10, description="Another day (YYYY-MM-DD): answer what the "
                                     "approval changes between `date` and this day did to coverage (JSON only)."),
    svc: Service = Depends(service),
    approvals: Approvals = Depends(approvals_dep),
):
    """Every unit × area for the approvals in force on ``date`` (default today, from the live registry) under free
    flow, typical and peak traffic side by side (or one profile): population, land and road shares (floored),
    verdicts, people not reached, people-weighted drive times and margin, and ``meta``: the date, the headline
    profile, time, limit, thresholds, calibration targets, base precision counts, network checksum, data and
    software versions. With ``compare_date``: ``{"date", "compare_date", "approvals_changed", "changes"}``."""
    profiles = tuple(_profiles(profile))
    unit_id = None
    if unit is not None:
        try:
            unit_id = svc.registry.get(unit).id
        except UnknownUnit as exc:
            raise HTTPException(404, str(exc)) from None
    limit = _limit(svc, minutes)
    if compare_date is not None:
        try:
            later = await run_in_threadpool(svc.approvals_on, parse_day(compare_date))
        except ValueError as exc:
            raise HTTPException(422, f"compare_date: {exc}") from None
        return await run_heavy(heavy_for(request), ("planning-compare", unit_id, area, profiles, limit, approvals,
                                                    later), planning_compare, unit_id, area, profiles, limit,
                               approvals, later)
    rows, meta = await run_heavy(heavy_for(request), ("planning-audit", unit_id, area, profiles, limit, approvals),
                                 planning_audit, unit_id, area, profiles, limit, approvals)
    return _table(rows, meta, format, lang, "audit")


def planning_audit(svc: Service, unit_id: str | None, area: int | None, profiles: tuple[str, ...],
                   limit_s: float, approvals: Approvals) -> tuple[list[dict], dict]:
    """Rows and metadata of ``GET /v1/planning/audit`` (in a heavy worker)."""
    from api.snapshots import main_profile, metadata
    from routing.audit_table import audit_profiles

    chosen = {p: _auditors(svc, limit_s, approvals)[p] for p in profiles}
    units = None if unit_id is None else [unit_id]
    rows = [r.to_dict() for r in audit_profiles(chosen, units) if area is None or r.first.area_id == area]
    return rows, metadata(chosen[main_profile(svc.settings, list(profiles))], list(profiles))


def planning_compare(svc: Service, unit_id: str | None, area: int | None, profiles: tuple[str, ...], limit_s: float,
                     before: Approvals, after: Approvals) -> dict:
    """What the approval changes between two days did to coverage (in a heavy worker)."""
    from routing.audit_table import compare_rows

    old, _ = planning_audit(svc, unit_id, area, profiles, limit_s, before)
    new, _ = planning_audit(svc, unit_id, area, profiles, limit_s, after)
    changed = [c for c in after.differs_from(before) if unit_id is None or c["unit_id"] == unit_id]
    return {"date": before.day.isoformat(), "compare_date": after.day.isoformat(),
            "profile": svc.settings.profile, "approvals_changed": changed, "changes": compare_rows(old, new)}


class WhatIfBody(BaseModel):
    """Changes to the bases, as on the command line: ``UNIT[:N]=LAT,LON`` or ``UNIT[:N]=PLACE`` (a street, an
    address or a district in the county, known to within 2 km), ``UNIT[:N]`` for a removal."""

    move: list[Annotated[str, Field(max_length=200)]] = Field(default=[], max_length=16)
    add: list[Annotated[str, Field(max_length=200)]] = Field(default=[], max_length=16)
    remove: list[Annotated[str, Field(max_length=200)]] = Field(default=[], max_length=16)
    minutes: int | None = Field(default=None, ge=5, le=120)
    profile: str = "all"
    date: str | None = Field(default=None, max_length=10, description="Approvals in force on this day "
                             "(YYYY-MM-DD; default today).")


@router.post("/planning/what-if", response_model=None,
             responses={**TABLE_200, **errors(400, 404, 413, 422, 503, said={404: "Unknown unit."})})
async def what_if(
    request: Request,
    body: WhatIfBody,
    format: Literal["json", "csv", "xlsx"] = Query("json", description="`csv` or `xlsx` download the same rows."),
    lang: Literal["sv", "en"] = Query("sv", description="Language of CSV/XLSX headers and verdicts."),
    svc: Service = Depends(service),
):
    """The changed units audited before and after, under each profile: one row per unit × area × profile with
    population share, verdict and people not reached before and after, and the bases after the change.

    For one unit on a map, with its 30-minute polygon before and after, the planning page uses ``POST /v1/whatif``
    (faster: one profile, no export); this one is for tables, several units and every profile."""
    profiles = tuple(_profiles(body.profile))
    limit = _limit(svc, body.minutes)
    try:
        approvals = await run_in_threadpool(svc.approvals_on, parse_day(body.date))
    except ValueError as exc:
        raise HTTPException(422, f"date: {exc}") from None
    key = ("planning-what-if", tuple(body.move), tuple(body.add), tuple(body.remove), profiles, limit, approvals)
    outcome = await run_heavy(heavy_for(request), key, planning_what_if, tuple(body.move), tuple(body.add),
                              tuple(body.remove), profiles, limit, approvals)
    if "error" in outcome:
        raise HTTPException(422, outcome["error"])
    return _table(outcome["rows"], outcome["meta"], format, lang, "what-if")


def planning_what_if(svc: Service, move: tuple[str, ...], add: tuple[str, ...], remove: tuple[str, ...],
                     profiles: tuple[str, ...], limit_s: float, approvals: Approvals) -> dict:
    """``{"rows", "meta"}`` of ``POST /v1/planning/what-if``, or ``{"error": sentence}`` (in a heavy worker: only a
    result crosses back, so a refusal travels as a value)."""
    from api.snapshots import main_profile, metadata
    from routing.whatif import apply_changes, geocoder_resolver, what_if_registry, what_if_rows

    auditors = _auditors(svc, limit_s, approvals)
    names = {int(i): str(n) for i, n in zip(svc.areas.areas["id"], svc.areas.areas["name"])}
    try:
        registry, changed = apply_changes(auditors[profiles[0]].registry, list(move), list(add), list(remove),
                                          resolve=geocoder_resolver(svc.geocoder))
        rows = [row for p in profiles for row in what_if_rows(what_if_registry(auditors[p], registry, changed), p,
                                                             names)]
    except (ValueError, UnknownUnit) as exc:  # WhatIfError, and coordinates out of range
        return {"error": str(exc)}
    return {"rows": rows, "meta": metadata(auditors[main_profile(svc.settings, list(profiles))], list(profiles))}


@router.get("/units/{unit}/suggest-bases", responses=errors(404, 422, 503, said={404: "Unknown unit."}))
async def suggest_bases(
    request: Request,
    unit: str,
    count: int = Query(1, ge=1, le=8, description="New bases to place, existing ones kept (1–8)."),
    profile: Literal["free_flow", "typical", "peak"] | None = Query(
        None, description="Traffic under which the sites must reach people within the limit (default the "
        "configured profile, typical)."),
    minutes: int | None = Minutes,
    svc: Service = Depends(service),
    approvals: Approvals = Depends(approvals_dep),
) -> dict:
    """The ``count`` new sites that reach the most people of the unit's approved areas within the limit (spopt MCLP,
    existing bases fixed), and the fewest new sites so that every approved area reaches the supported share. Each
    site: lat/lon, DeSO, district or municipality, nearest named place, people gained per area; each approved area:
    share and verdict today and after, for free flow, typical and peak traffic."""
    try:
        unit_id = svc.registry.get(unit[:200]).id
    except UnknownUnit as exc:
        raise HTTPException(404, str(exc)) from None
    limit = _limit(svc, minutes)
    profile = profile or svc.settings.profile
    outcome = await run_heavy(heavy_for(request), ("suggest-bases", unit_id, count, profile, limit, approvals),
                              suggested_bases, unit_id, count, profile, limit, approvals)
    if "error" in outcome:
        raise HTTPException(422, outcome["error"])
    return outcome


def suggested_bases(svc: Service, unit_id: str, count: int, profile: str, limit_s: float,
                    approvals: Approvals) -> dict:
    """The body of ``GET /v1/units/{unit}/suggest-bases``, or ``{"error": sentence}`` (in a heavy worker)."""
    from routing.siting import SitingError

    planner = _planner(svc, profile, limit_s, approvals)
    try:
        most, fewest = planner.suggest(unit_id, count), planner.fewest(unit_id)
    except SitingError as exc:
        return {"error": str(exc)}
    return {"date": approvals.day.isoformat(), "profile": profile,
            "most_people": most.to_dict(planner.area_names), "fewest_for_supported": fewest.to_dict(planner.area_names)}


@router.get("/reports/{target}", response_model=None,
            responses={200: {"content": {"application/pdf": {}, "image/png": {}},
                             "description": "The one-page report (A4)."},
                       **errors(404, 422, 503, said={404: "Unknown unit."})})
async def report(
    request: Request,
    target: str,
    format: Literal["pdf", "png"] = Query("pdf", description="`pdf` (A4, for printing) or `png` (200 dpi)."),
    map_profile: Literal["free_flow", "typical", "peak"] | None = Query(
        None, description="Traffic the map and headline show (default the configured profile, typical); the tables "
        "show free flow, typical and peak side by side."),
    minutes: int | None = Minutes,
    svc: Service = Depends(service),
    approvals: Approvals = Depends(approvals_dep),
):
    """A one-page coverage report for a planning meeting (Swedish): a unit's (``target`` = its id) or the county's
    (``target`` = ``county``) map and figures under free flow, typical and peak traffic, and what they rest on."""
    from fastapi.responses import Response

    unit_id = None
    if target != "county":
        try:
            unit_id = svc.registry.get(target[:200]).id
        except UnknownUnit as exc:
            raise HTTPException(404, str(exc)) from None
    limit = _limit(svc, minutes)
    map_profile = map_profile or svc.settings.profile
    data = await run_heavy(heavy_for(request), ("report", unit_id, format, map_profile, limit, approvals),
                           report_bytes, unit_id, format, map_profile, limit, approvals, memo=False)
    name = f"tackningsrapport-{unit_id or 'lanet'}.{format}"
    return Response(data, media_type="application/pdf" if format == "pdf" else "image/png",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def report_bytes(svc: Service, unit_id: str | None, fmt: str, map_profile: str, limit_s: float,
                 approvals: Approvals) -> bytes:
    """The report file's bytes (in a heavy worker; not memoised, as it states when it was made)."""
    import tempfile
    from pathlib import Path

    from maps.report import county_report, unit_report

    auditors = _auditors(svc, limit_s, approvals)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"report.{fmt}"
        if unit_id is None:
            county_report(auditors, out, map_profile=map_profile)
        else:
            unit_report(auditors, unit_id, out, map_profile=map_profile)
        return out.read_bytes()
