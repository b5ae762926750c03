"""CLI commands of saved what-if scenarios: ``asih scenario list`` and ``asih scenario report ID --out F.pdf``.
Register the group with :func:`register`.

Scenarios are saved by contract managers on ``/planering`` (``POST /v1/scenarios``); the command line reads them
from the live registry and prints them with the figures of the what-if engine (``POST /v1/whatif``), for the
scenario's approvals day and traffic profile.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from api.cli.output import as_of_line, console, fail, get_settings, print_json

scenario_app = typer.Typer(help="Saved what-if scenarios (saved on /planering): list them, print one as a PDF.",
                           no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add ``scenario`` to the ``asih`` command."""
    app.add_typer(scenario_app, name="scenario")


def _registry():
    from geo.providers import ProviderDataError
    from registry.service import RegistryService

    try:
        return RegistryService.from_settings(get_settings())
    except (ProviderDataError, ValueError, OSError) as exc:
        fail(f"Cannot open the registry: {exc}")


@scenario_app.command("list")
def scenario_list(
    unit: Annotated[Optional[str], typer.Option("--unit", help="Only this unit's scenarios (its id).")] = None,
    limit: Annotated[int, typer.Option("--limit", help="How many, newest first.")] = 100,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Saved scenarios, newest first: id, name, unit, approvals day, profile, changes, who saved it when."""
    from registry.scenarios import Scenarios

    rows = Scenarios.of(_registry()).list(unit, limit)
    if json_out:
        print_json(rows)
        return
    table = Table(title="Saved scenarios")
    for col in ("id", "name", "unit", "approvals", "profile", "changes", "saved (UTC)", "by"):
        table.add_column(col)
    for s in rows:
        table.add_row(str(s["id"]), s["name"], s["unit"], s["date"], s["profile"], str(s["changes"]), s["saved_at"],
                      s["saved_by"])
    console.print(table)


@scenario_app.command("report")
def scenario_report_cmd(
    scenario_id: Annotated[int, typer.Argument(help="The scenario's id (asih scenario list).")],
    out: Annotated[Path, typer.Option(help="Output: .pdf (A4), or .png to look at it.")] = Path("scenario.pdf"),
) -> None:
    """A saved scenario on one A4 page (Swedish): its bases, the reach today and with the changes, and each approved
    area's population share and verdict today → with the changes (the figures of POST /v1/whatif)."""
    from lookup.service import Service
    from geo.providers import UnknownUnit
    from maps.scenario_report import render_scenario, scenario_answer
    from registry.asof import parse_day
    from registry.scenarios import Scenarios
    from registry.service import NotFound
    from routing.whatif import WhatIfError

    if out.suffix.lower() not in (".pdf", ".png"):
        fail(f"Write a report as .pdf (or .png to look at it), not '{out.suffix or 'no extension'}'.")
    registry = _registry()
    try:
        scenario = Scenarios.of(registry).get(scenario_id)
    except NotFound as exc:
        fail(str(exc))
    svc = Service.load(get_settings(), eager=False)
    svc.live = registry
    approvals = svc.approvals_on(parse_day(scenario["date"]))
    console.print(as_of_line(approvals.day, scenario["profile"]))
    auditor = svc.auditor(None, approvals, scenario["profile"])
    try:
        answer = scenario_answer(auditor, svc.locator, scenario)
    except (UnknownUnit, WhatIfError) as exc:
        fail(f"Scenario {scenario_id} cannot be shown with the prepared data: {exc}")
    path = render_scenario(auditor, scenario, answer, out)
    console.print(f"Scenario {scenario['id']} '{scenario['name']}': {answer['unit_name']}, {answer['changes']} "
                  f"change(s); saved by {scenario['saved_by']} at {scenario['saved_at']}", highlight=False,
                  soft_wrap=True)
    for r in answer["rows"]:
        before, after = r["before"], r["after"]
        console.print(f"  area {r['area_id']} {r['area_name']}: "
                      f"{_share(before)} → {_share(after)} of the population", highlight=False, soft_wrap=True)
    console.print(f"Report → {path}")


def _share(side: dict | None) -> str:
    """A side of a what-if row: its population share floored to one decimal, and its verdict."""
    from api.exports import floor_share

    if side is None:
        return "–"
    return f"{floor_share(side['population_share'], 1):.1f} % ({side['verdict']})"
