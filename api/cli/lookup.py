"""CLI commands: lookup, batch (serve is in api.cli.serve)."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from api.cli.output import console, fail, get_settings, print_json


def _service(ctx: typer.Context, profile: str | None = None, live: bool = False):
    """The prepared state, read as far as a lookup needs it (the rest on first use), on the area model and
    providers file the start checks have just read (``ctx.obj``, see :mod:`api.cli`)."""
    from lookup.service import Service

    svc = Service.load(get_settings(), profile=profile, eager=False, checked=ctx.obj)
    if live:
        from registry.service import RegistryService

        svc.live = RegistryService.from_settings(get_settings())  # free places and dated approvals
    return svc


def lookup(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="Address, postcode, place or 'lat, lon'.")],
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON (errors too, as {\"error\": …}).")] = False,
    profile: Annotated[str | None, typer.Option(help="free_flow | typical | peak; default the configured one "
                                                "(ASIH_PROFILE, typical).")] = None,
    choice: Annotated[str | None, typer.Option(help="Settle an uncertain area: a token the answer listed, "
                                                     "e.g. borough:Bromma.")] = None,
    lang: Annotated[str, typer.Option(help="en | sv")] = "en",
    on: Annotated[str | None, typer.Option("--date", help="Approvals in force on this day (YYYY-MM-DD; default "
                                                          "today).")] = None,
) -> None:
    """Which ASIH units may take a patient at this address, ranked by drive time. Nothing is logged or stored.

    Exit 0 with a certain area, 3 when the area is uncertain (the answer lists the choices), 1 out of county,
    2 on an error (with --json the error is JSON on stdout)."""
    from lookup.localize import say
    from geo.geocode import Ambiguous, GeocodeError

    from registry.asof import parse_day

    try:
        day = parse_day(on)
    except ValueError as exc:
        _error(json_out, str(exc))
    svc = _service(ctx, profile, live=True)
    lang = lang if lang in ("en", "sv") else "en"
    try:
        result = svc.lookup(address=query, choice=choice, lang=lang, on=day)
    except Ambiguous as exc:
        _error(json_out, say(exc, lang), [c.matched for c in exc.candidates[:5]])
    except GeocodeError as exc:
        _error(json_out, say(exc, lang))
    except ValueError as exc:
        _error(json_out, say(exc, lang))
    if json_out:
        print_json(result)
    else:
        _print_result(result)
    status = result["area"]["status"]
    if status == "outside":
        raise typer.Exit(1)
    if status == "uncertain":
        raise typer.Exit(3)


def _error(json_out: bool, message: str, candidates: list[str] | None = None) -> NoReturn:
    if json_out:
        print_json({"error": message, "candidates": candidates or []})
        raise typer.Exit(2)
    fail(message + (" Candidates: " + "; ".join(candidates) if candidates else ""))


def _print_result(result: dict) -> None:
    from api.cli.output import as_of_line
    from datetime import date

    console.print(as_of_line(date.fromisoformat(result["date"]), result["profile"]), style="dim", highlight=False)
    q, area = result["query"], result["area"]
    where_pt = f"{q['lat']:.5f}, {q['lon']:.5f}" if q["lat"] is not None else "no point"
    console.print(f"[bold]{q['matched']}[/] (precision: {q['precision']}; {where_pt})", highlight=False)
    if q.get("corrected_from"):
        console.print(f"Did you mean [bold]{q['matched']}[/]? (typed: {q['corrected_from']})", highlight=False)
    region = q.get("region") or {}
    if region.get("basis"):
        console.print(f"Location: {region['basis']} (±{region.get('width_m', 0):,.0f} m)", highlight=False)
    for w in result["warnings"]:
        if w["severity"] == "decisive":
            console.print(f"[bold red]![/] {w['message']}", highlight=False)
    if area["status"] == "outside":
        return
    if area["status"] == "uncertain":
        table = Table(title="Choose where the patient is (then run again with --choice TOKEN)")
        for col in ("choice", "area", "token"):
            table.add_column(col)
        for c in area["choices"]:
            table.add_row(c["label"], f"{c['area_id']} {c['area_name']}", c["token"])
        console.print(table)
        return
    where = ", ".join(x for x in (area["municipality"], area["district"], area["stadsdel"]) if x)
    console.print(f"Area [bold]{area['id']} {area['name']}[/] ({area['provenance']}) — {where}")
    limit_min = result["limit_s"] / 60
    table = Table(title=f"Eligible units (approved for area {area['id']}), by drive time")
    peak = result["profile"] != "peak"
    for col in ("unit", "drive time", *(["at peak"] if peak else []),
                f"≤ {limit_min:.0f} min", "free places", "from base", "base precision"):
        table.add_column(col)
    for e in result["eligible"]:
        table.add_row(e["unit"], _time(e), *([_time(_at(e, "peak"))] if peak else []), _within(e),
                      _free(e.get("availability")), e["base"], e["base_precision"])
    console.print(table)
    if result["reachable_not_approved"]:
        names = ", ".join(f"{e['unit']} ({_time(e, 0)})" for e in result["reachable_not_approved"])
        console.print(f"Reach it but are NOT approved here (not eligible): {names}")
    for w in result["warnings"]:
        if w["severity"] != "decisive":
            console.print(f"[yellow]![/] {w['message']}", highlight=False)
    console.print(result["basis"]["summary"], highlight=False)


def _time(e: dict, decimals: int = 1) -> str:
    """A unit's drive time as sure as the location: a range over a wide region, one time for a point."""
    spread = e.get("drive_time_range_s")
    if spread is not None:
        low, high = spread["min"], spread["max"]
        if low is None:
            return "unreachable"
        return f"{low / 60:.0f}–{high / 60:.0f} min" if high is not None else f"{low / 60:.0f} min – unreachable"
    return "unreachable" if e["drive_time_s"] is None else f"{e['drive_time_s'] / 60:.{decimals}f} min"


def _at(e: dict, profile: str) -> dict:
    """A unit row's drive time (or range) under another profile, as a row :func:`_time` reads."""
    spread = (e.get("drive_time_range_s_by_profile") or {}).get(profile)
    return {"drive_time_s": (e.get("drive_time_s_by_profile") or {}).get(profile), "drive_time_range_s": spread}


def _within(e: dict) -> str:
    """Within the limit: yes for all of the place, the share of it when only part is, no otherwise."""
    share = e.get("within_limit_share")
    if e["within_limit"]:
        return "yes"
    if share:
        return f"[yellow]{math.floor(share * 1000 + 1e-9) / 10:.1f} % of it[/]"  # floored: never more than it is
    return "[red]no[/]"


def _free(availability: dict | None) -> str:
    """Free places as a referrer may trust them: a stale report is shown as stale, not as a number."""
    if not availability or availability.get("free_places") is None:
        return "not reported"
    hours = (availability.get("age_s") or 0) / 3600
    if availability.get("stale"):
        return f"stale ({hours:.0f} h old)"
    return f"{availability['free_places']} ({hours:.1f} h ago)"


def batch(
    ctx: typer.Context,
    infile: Annotated[Path, typer.Argument(help="CSV: an 'address' column (or 'lat','lon'), or one address per line.")],
    outfile: Annotated[Path, typer.Argument(help="CSV to write (the only place results go).")],
    profile: Annotated[str | None, typer.Option(help="free_flow | typical | peak; default the configured one "
                                                "(ASIH_PROFILE, typical).")] = None,
) -> None:
    """Look up every row of a CSV; failing rows say why and the batch goes on."""
    from api.batch import BatchInputError, rows_from_csv, run_batch

    if not infile.exists():
        fail(f"Input file not found: {infile}")
    try:
        rows = rows_from_csv(infile.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, BatchInputError) as exc:
        fail(f"Cannot read {infile.name}: {exc}")
    svc = _service(ctx, profile)
    columns = ["row", "status", "error", "precision", "matched", "lat", "lon", "area_id", "area_name",
               "border_warning", "possible_areas", "eligible_within_limit", "eligible_units", "warnings"]
    failed = 0
    with outfile.open("w", newline="", encoding="utf-8") as fh, Progress(
        TextColumn("Lookups"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console
    ) as progress:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        task = progress.add_task("batch", total=len(rows))
        for i, result, error in run_batch(svc, rows, progress=lambda: progress.advance(task)):
            if error:
                failed += 1
                writer.writerow({"row": i, "status": "error", "error": error})
                continue
            writer.writerow(_flat(i, result))
    console.print(f"{len(rows) - failed} of {len(rows)} rows looked up; {failed} failed (see 'error'). → {outfile}")


def _flat(i: int, r: dict) -> dict:
    q, area = r["query"], r["area"]
    return {
        "row": i,
        "status": {"certain": "ok", "uncertain": "area_uncertain", "outside": "outside_county"}[area["status"]],
        "precision": q["precision"],
        "matched": q["matched"],
        "lat": "" if q["lat"] is None else round(q["lat"], 6),
        "lon": "" if q["lon"] is None else round(q["lon"], 6),
        "area_id": area["id"],
        "area_name": area["name"],
        "border_warning": (area["border_warning"] or {}).get("message", ""),
        "eligible_within_limit": "; ".join(_unit_time(e) for e in r["eligible"] if e["within_limit"]),
        "eligible_units": "; ".join(_unit_time(e) for e in r["eligible"]),
        "possible_areas": "; ".join(str(a["id"]) for a in area["possible"]),
        "warnings": " | ".join(w["message"] for w in r["warnings"]),
    }


def _unit_time(e: dict) -> str:
    return f"{e['unit']} ({_time(e)})"


COMMANDS = {"lookup": lookup, "batch": batch}
