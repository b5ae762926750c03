"""What-if for contract managers: ``POST /v1/whatif`` and the planning page ``GET /planering``.

The route parses, calls :func:`routing.live_whatif.live_what_if` and sends its answer as JSON bytes
(:func:`api.executor.json_bytes`: the polygons are serialised once, by GEOS, not walked by the response encoder).
The page (``static/whatif.html``, ``whatif.js``, ``whatif.css``) is served with the same security headers as the
referrer's page; Leaflet comes from ``/static/vendor/leaflet.js`` (``api.routes.web``). ``whatif.html`` is a template:
every text it shows is the catalogue's (``core/words.yaml``: ``planning_page`` and the ``planning_*`` texts), rendered
in Swedish when the page is sent, so the page reads without JavaScript; ``whatif.js`` reads the same texts, labels and
limits (:func:`planning_facts`) from the page's ``#facts`` JSON block, and API clients from ``GET /v1/planning/page``.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Query
from fastapi.responses import FileResponse, HTMLResponse, Response
from markupsafe import Markup, escape
from pydantic import BaseModel, ConfigDict, Field

from api.deps import service
from api.executor import json_bytes
from api.pages import SECURITY_HEADERS, TEMPLATES
from api.schemas import Number, Whole, errors
from core.settings import Settings, get_settings
from core.words import labels, planning_texts, render
from lookup.service import Service
from geo.providers import UnknownUnit
from registry.asof import parse_day
from registry.scenarios import MAX_NAME_CHARS
from routing.live_whatif import MAX_CHANGES, changes_from, live_what_if
from routing.whatif import WhatIfError

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
PAGE = "whatif.html"
_PAGE_FILES = {"whatif.js": "text/javascript; charset=utf-8", "whatif.css": "text/css; charset=utf-8"}


router = APIRouter()


# -- schemas ---------------------------------------------------------------------------------------------------------
class MoveIn(BaseModel):
    """One base moved: ``base`` is its index (from 0) in the unit's ``bases`` (``GET /v1/providers/{unit}``)."""

    model_config = ConfigDict(extra="forbid")
    base: Whole
    lat: Number = Field(description="WGS84 latitude (degrees).")
    lon: Number = Field(description="WGS84 longitude (degrees).")


class PointIn(BaseModel):
    """A new base."""

    model_config = ConfigDict(extra="forbid")
    lat: Number = Field(description="WGS84 latitude (degrees).")
    lon: Number = Field(description="WGS84 longitude (degrees).")


class WhatIfIn(BaseModel):
    """A unit and its bases' changes: at most 5 moves, additions and removals together (none: today's state)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"unit": "syd-aleris", "move": [{"base": 0, "lat": 59.19, "lon": 17.66}], "add": [], "remove": []},
    ]})
    unit: str = Field(min_length=1, max_length=200, description="Unit id or name.")
    move: list[MoveIn] = Field(default_factory=list)
    add: list[PointIn] = Field(default_factory=list)
    remove: list[Whole] = Field(default_factory=list, description="Indices (from 0) of bases to remove.")
    date: str | None = Field(default=None, max_length=10, pattern=r"^\d{4}-\d{2}-\d{2}$",
                             description="Approvals in force on this day (YYYY-MM-DD; default today in Stockholm).")
    profile: Literal["free_flow", "typical", "peak"] | None = Field(
        default=None, description="Traffic profile (default the configured one, typical).")


class SideOut(BaseModel):
    """One side (before or after) of an audit row, as ``GET /v1/audit/{unit}`` gives it."""

    population_share: float
    land_share: float
    road_share: float
    verdict: str
    population: int
    gap_population: int
    base_precision: str
    gaps: list[dict[str, Any]]
    drive_time_p50_s: float | None = Field(None, description="Half the area's people live within this drive time (s).")
    drive_time_p90_s: float | None = Field(None, description="Nine in ten live within this drive time (s).")
    margin_s: float | None = Field(None, description="Limit minus the 90th-percentile time (s); negative: over it.")
    most_out_of_reach: list[dict[str, Any]] = Field(default_factory=list, description="The five places with most "
                                                    "people out of reach.")


class RowOut(BaseModel):
    area_id: int
    area_name: str
    approved: bool
    before: SideOut | None
    after: SideOut | None
    change: float | None = Field(description="Population share after minus before.")


class BaseOut(BaseModel):
    index: int | None = Field(description="Index before the changes; null for an added base.")
    name: str
    lat: float
    lon: float
    precision: str
    change: str | None = Field(description="'moved', 'added' or null.")
    snap_m: float = Field(description="Distance (m) from the base to the road its drive times start on.")
    far_from_road: bool


class FeatureOut(BaseModel):
    type: str = "Feature"
    properties: dict[str, Any] = Field(description="unit_id, minutes, population (reached within the limit), "
                                                   "area_km2, profile.")
    geometry: dict[str, Any] = Field(description="GeoJSON (Multi)Polygon, EPSG:4326.")


class WhatIfOut(BaseModel):
    unit: str
    unit_name: str
    limit_s: float
    profile: str
    date: str = Field(description="The day whose approvals the rows use (YYYY-MM-DD).")
    changes: int
    bases: list[BaseOut] = Field(description="The unit's bases after the changes.")
    rows: list[RowOut] = Field(description="One row per approved area: its audit before and after.")
    reaches_not_approved: list[RowOut] = Field(description="Areas reached at the supported share without approval.")
    polygon: FeatureOut = Field(description="What the unit reaches within the limit after the changes.")
    before_polygon: FeatureOut = Field(description="The same today.")


class WhatIfPolygonOut(BaseModel):
    """With ``parts=polygon``: the bases and the polygon after the changes (its population null), nothing else."""

    unit: str
    unit_name: str
    limit_s: float
    profile: str
    date: str
    changes: int
    bases: list[BaseOut]
    polygon: FeatureOut


# -- routes ----------------------------------------------------------------------------------------------------------
@router.post(
    "/v1/whatif", tags=["coverage"], response_model=WhatIfOut | WhatIfPolygonOut,
    responses=errors(400, 404, 413, 422, 503, said={
        404: "Unknown unit.",
        422: f"A base index the unit does not have, a position outside the county, more than {MAX_CHANGES} changes, "
             "or no base left."}),
)
def what_if(body: WhatIfIn, svc: Service = Depends(service),
            parts: Literal["all", "polygon"] = Query("all", description="`polygon`: only the bases (with their "
                                                     "snap distances) and the polygon after, its population null: "
                                                     "what the planning page asks while a base is dragged.")
            ) -> Response:
    """A unit with bases moved, added or removed: the audit rows of its approved areas (population, land and road
    shares, verdict) before and after, and its 30-minute polygon before and after (EPSG:4326)."""
    started = time.perf_counter()
    data = json_bytes(what_if_answer(svc, body, parts))
    elapsed_ms = (time.perf_counter() - started) * 1000
    return Response(data, media_type="application/json", headers={
        "Cache-Control": "no-store", "Server-Timing": f"whatif;dur={elapsed_ms:.1f}",
    })


@router.get("/v1/planning/page", tags=["coverage"])
def planning_page_facts() -> dict:
    """What the planning page shows that the server decides: its labels (verdicts, how a base is known, traffic
    profiles; Swedish, from the catalogue core/words.yaml), every sentence it shows (a placeholder left in braces,
    ``{n}``, is what the page fills in: ``{m}`` a distance in metres …), the most changes one what-if takes, the
    longest scenario name and the distance (m) from a road beyond which a base is placed only when confirmed."""
    return planning_facts(get_settings())


PAGE_TEXTS = tuple(f"planning_{k}" for k in (
    "explain_heading", "term_population", "explain_population", "term_land", "explain_land", "term_roads",
    "explain_roads", "term_verdict", "explain_verdict", "term_times", "explain_times", "term_gap", "explain_gap",
    "term_pair", "explain_pair", "term_area_km2", "explain_area_km2", "far_heading", "far_question", "far_place",
    "far_undo", "far_kept"))
"""The figures' terms and explanations and the far-from-road question (``texts`` of core/words.yaml); the page's
other texts are the catalogue's ``planning_page`` section."""
COLUMNS = ("population", "land", "roads", "verdict", "times", "gap")
"""The table's figures, in column order (each with its term and explanation as a tooltip)."""
EXPLAINED = (*COLUMNS, "pair", "area_km2")
"""What the legend under the table ("what the figures mean") explains, in order."""
PROFILES = ("typical", "peak", "free_flow")
"""The traffic profiles the page offers after "as configured", in order."""
_VERDICT_MARKS = ("supported", "at risk", "unsupported")


def planning_facts(settings: Settings, lang: str = "sv") -> dict[str, Any]:
    """The planning page's labels, texts (key → text, filled with what the server knows) and limits, in ``lang``."""
    params = {"limit": round(settings.limit_s / 60), "cell": settings.audit_land_cell_m,
              "reach": settings.audit_land_reach_m, "supported": settings.audit_supported_share,
              "at_risk": settings.audit_at_risk_share, "far": settings.snap_warning_m, "max": MAX_CHANGES,
              "max_name": MAX_NAME_CHARS}
    texts = {key.removeprefix("planning_"): render(key, {**params, "m": "{m}"}, lang) for key in PAGE_TEXTS}
    return {"labels": {kind: labels(kind, lang) for kind in ("verdict", "base_known", "profile_long")},
            "texts": texts | planning_texts(lang, params), "max_changes": MAX_CHANGES, "max_name": MAX_NAME_CHARS,
            "far_from_road_m": settings.snap_warning_m}


def _shown(facts: dict[str, Any]) -> dict[str, str]:
    """The texts as the page's HTML shows them: the verdicts of the verdict rule in bold, a command and the token's
    prefix as code (the text around them escaped, as every text is)."""
    marks = {f"v_{v.replace(' ', '_')}": Markup("<strong>{}</strong>").format(facts["labels"]["verdict"][v])
             for v in _VERDICT_MARKS}
    marks |= {"audit": Markup("<code>asih audit</code>"), "prefix": Markup("<code>asih_</code>")}
    texts = facts["texts"]
    return texts | {key: escape(texts[key]).format(**marks) for key in ("verdict_rule", "token_hint")}


@router.get("/planering", include_in_schema=False)
def planning_page(tasks: BackgroundTasks, svc: Service = Depends(service)) -> HTMLResponse:
    """The what-if page for contract managers (Swedish; every text in it, so that it reads without JavaScript).
    After sending it, the what-if state is made ready (the auditor and the contour grid, ~1.5 s once per process), so
    the page's first answer does not wait for it."""
    tasks.add_task(_warm, svc)
    return HTMLResponse(planning_html(svc.settings), headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})


def planning_html(settings: Settings, lang: str = "sv") -> str:
    """The planning page in ``lang`` (the template ``static/whatif.html``), every text in it and in its ``#facts``."""
    facts = planning_facts(settings, lang)
    profiles = [(p, _capitalised(facts["labels"]["profile_long"][p])) for p in PROFILES]
    return TEMPLATES.get_template(PAGE).render(lang=lang, t=_shown(facts), facts=facts, columns=COLUMNS,
                                               explained=EXPLAINED, profiles=profiles)


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


@router.get("/planering/{name}", include_in_schema=False)
def planning_file(name: str) -> FileResponse:
    """The planning page's script and stylesheet (fixed names only)."""
    if name not in _PAGE_FILES:
        raise HTTPException(404, "Not found.")
    return FileResponse(STATIC_DIR / name, media_type=_PAGE_FILES[name],
                        headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})


def what_if_answer(svc: Service, body: WhatIfIn, parts: str = "all") -> dict[str, Any]:
    """The answer of ``POST /v1/whatif`` to ``body`` (also what a saved scenario is checked with and stores the day
    and profile of: ``api.routes.scenarios``); unknown unit: 404; a change the engine refuses or a bad date: 422."""
    try:
        approvals = svc.approvals_on(parse_day(body.date))
    except ValueError as exc:
        raise HTTPException(422, f"date: {exc}") from None
    engine = _engine(svc, approvals, body.profile)
    try:
        changes = changes_from([m.model_dump() for m in body.move], [p.model_dump() for p in body.add], body.remove)
        return {**engine.answer(body.unit, changes, parts), "date": approvals.day.isoformat()}
    except UnknownUnit as exc:
        raise HTTPException(404, str(exc)) from None
    except WhatIfError as exc:
        raise HTTPException(422, str(exc)) from None


_ENGINE_LOCK = threading.Lock()


def _engine(svc: Service, approvals=None, profile: str | None = None):
    """The service's what-if engine for a day's approvals and a profile; one at a time, so the page's warm-up and its
    first request build it once."""
    with _ENGINE_LOCK:
        return live_what_if(svc.auditor(None, approvals, profile), svc.locator)


def _warm(svc: Service) -> None:
    _engine(svc)
