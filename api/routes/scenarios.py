"""Saved what-if scenarios over HTTP: save one (contract managers, admins), list them, reopen one by its link, print it.

Thin over :class:`registry.scenarios.Scenarios` and the what-if of ``POST /v1/whatif``
(:func:`api.routes.whatif.what_if_answer`): a save first computes the what-if, so a body the page could not show (an
unknown unit or base, a position outside the county, too many changes) is refused with the same status and sentence,
and the day and the profile the answer used are what is stored. The one-page PDF (:mod:`maps.scenario_report`) is
made in the heavy-work pool, like the coverage reports.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from api.deps import service
from api.executor import heavy_for, run_heavy
from api.routes.registry import WRITE_ERRORS, Managers, RegistryDep, call
from api.schemas import Text, errors
from api.routes.whatif import MoveIn, PointIn, WhatIfIn, what_if_answer
from lookup.service import Service
from geo.providers import UnknownUnit
from registry.asof import Approvals, parse_day
from registry.scenarios import MAX_NAME_CHARS, Scenarios
from routing.whatif import WhatIfError

router = APIRouter(tags=["scenarios"])
PAGE = "/planering"


# -- schemas ---------------------------------------------------------------------------------------------------------
class ScenarioIn(WhatIfIn):
    """A what-if (as ``POST /v1/whatif``) and a name. Without ``date`` and ``profile`` the scenario keeps today's
    approvals and the configured profile: the ones its figures were computed with."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Syd Aleris: basen mot Södertälje", "unit": "syd-aleris",
         "move": [{"base": 0, "lat": 59.19, "lon": 17.70}], "add": [], "remove": []},
    ]})
    name: Text = Field(min_length=1, max_length=MAX_NAME_CHARS, description="What the scenario is called.")


class WhatIfBody(BaseModel):
    """The stored what-if: send it to ``POST /v1/whatif`` to get the scenario's figures."""

    unit: str
    move: list[MoveIn]
    add: list[PointIn]
    remove: list[int]
    date: str = Field(description="The day whose approvals apply (YYYY-MM-DD).")
    profile: Literal["free_flow", "typical", "peak"]


class ScenarioSummary(BaseModel):
    id: int
    name: str
    unit: str
    unit_name: str
    date: str = Field(description="The day whose approvals the scenario uses (YYYY-MM-DD).")
    profile: str
    changes: int = Field(description="Moves, additions and removals together.")
    saved_at: str = Field(description="When saved (ISO 8601, UTC).")
    saved_by: str = Field(description="Who saved it (the token holder's name).")
    saved_by_id: int | None
    link: str = Field(description="The planning page showing the scenario.")
    report: str = Field(description="Its one-page PDF.")


class ScenarioOut(ScenarioSummary):
    whatif: WhatIfBody


# -- routes ----------------------------------------------------------------------------------------------------------
@router.get("/v1/scenarios", response_model=list[ScenarioSummary], responses=errors(404, 422, 503))
def list_scenarios(registry: RegistryDep, unit: str | None = Query(default=None, max_length=80),
                   limit: int = Query(default=100, ge=1, le=1000)) -> list[dict]:
    """Saved scenarios, newest first (anonymous, like the what-if itself)."""
    return [_links(s) for s in Scenarios.of(registry).list(unit, limit)]


@router.get("/v1/scenarios/{scenario_id}", response_model=ScenarioOut,
            responses=errors(404, 422, 503, said={404: "No such id."}))
def get_scenario(scenario_id: int, registry: RegistryDep) -> dict:
    """One saved scenario: its what-if body (unit, changes, date, profile) and who saved it when."""
    return _links(call(Scenarios.of(registry).get, scenario_id))


@router.post("/v1/scenarios", response_model=ScenarioOut, status_code=201,
             responses={**WRITE_ERRORS, **errors(403, 404, 409, 422, said={
                 403: "Not a contract manager or admin.", 404: "Unknown unit.",
                 422: "As POST /v1/whatif: a base the unit does not have, a position outside the county, too many "
                      "changes, no base left; or a bad name."})})
def save_scenario(body: ScenarioIn, registry: RegistryDep, actor: Managers, response: Response,
                  svc: Service = Depends(service)) -> dict:
    """Save the what-if under a name (contract managers, admins): 201 with its id and ``link``
    (``/planering?scenario=ID``). Saved scenarios never change; saving again gives a new id."""
    answer = what_if_answer(svc, body)
    whatif = {"unit": answer["unit"], "move": [m.model_dump() for m in body.move],
              "add": [p.model_dump() for p in body.add], "remove": list(body.remove),
              "date": answer["date"], "profile": answer["profile"]}
    saved = call(Scenarios.of(registry).save, actor, body.name, whatif)
    response.headers["Location"] = f"/v1/scenarios/{saved['id']}"
    return _links(saved)


@router.get("/v1/scenarios/{scenario_id}/report", response_model=None,
            responses={200: {"content": {"application/pdf": {}, "image/png": {}},
                             "description": "The one-page before/after report (A4)."},
                       **errors(404, 409, 422, 503, said={
                           404: "No such id.", 409: "The prepared data no longer has the scenario's unit or base."})})
async def scenario_report(request: Request, scenario_id: int, registry: RegistryDep,
                          format: Literal["pdf", "png"] = Query("pdf", description="`pdf` (A4) or `png` (200 dpi)."),
                          svc: Service = Depends(service)) -> Response:
    """A saved scenario on one A4 page (Swedish): its bases, its reach today and with the changes, and each approved
    area's population share and verdict today and with the changes: the figures of ``POST /v1/whatif``."""
    scenario = await run_in_threadpool(call, Scenarios.of(registry).get, scenario_id)
    approvals = await run_in_threadpool(svc.approvals_on, parse_day(scenario["date"]))
    outcome = await run_heavy(heavy_for(request), ("scenario-report", scenario_id, format, approvals),
                              scenario_bytes, scenario, format, approvals, memo=False)
    if "error" in outcome:
        raise HTTPException(409, outcome["error"])
    return Response(outcome["data"], media_type="application/pdf" if format == "pdf" else "image/png",
                    headers={"Content-Disposition": f'attachment; filename="scenario-{scenario_id}.{format}"'})


def scenario_bytes(svc: Service, scenario: dict, fmt: str, approvals: Approvals) -> dict[str, Any]:
    """``{"data": the report's bytes}`` or ``{"error": sentence}`` (in a heavy worker; not memoised, as the page
    states when it was made)."""
    import tempfile
    from pathlib import Path

    from maps.scenario_report import scenario_report as write

    auditor = svc.auditor(None, approvals, scenario["profile"])
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"scenario.{fmt}"
        try:
            write(auditor, svc.locator, scenario, out)
        except (UnknownUnit, WhatIfError) as exc:
            return {"error": f"Scenario {scenario['id']} cannot be shown with the prepared data: {exc}"}
        return {"data": out.read_bytes()}


# -- helpers ---------------------------------------------------------------------------------------------------------
def _links(scenario: dict) -> dict:
    return {**scenario, "link": f"{PAGE}?scenario={scenario['id']}",
            "report": f"/v1/scenarios/{scenario['id']}/report"}
