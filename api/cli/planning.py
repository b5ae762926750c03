"""CLI commands for planning: suggest-bases (where a unit would need bases) and calibrate (traffic profiles)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich import box
from rich.table import Table

from api.cli.output import DATE_HELP, as_of_line, console, day_option, fail, get_settings, print_json
from core.words import render

PROFILE_TITLES = {"free_flow": "free flow", "typical": "typical", "peak": "peak"}


def suggest_bases(
    unit: Annotated[str, typer.Argument(help="The unit (id or name).")],
    count: Annotated[int, typer.Option("--count", help="New bases to place for the most people (1–8).")] = 1,
    profile: Annotated[Optional[str], typer.Option(help="Traffic the sites must reach within the limit under: "
                                                   "free_flow | typical | peak; default the configured profile "
                                                   "(ASIH_PROFILE, typical).")] = None,
    limit_minutes: Annotated[Optional[float], typer.Option("--limit-minutes", help="Default 30.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    on: Annotated[Optional[str], typer.Option("--date", help=DATE_HELP)] = None,
) -> None:
    """Where a unit would need bases: the COUNT new sites (existing bases kept) reaching the most people of its
    approved areas, and the fewest new sites so that every approved area reaches the supported share (95 %)."""
    from lookup.service import Service
    from geo.providers import UnknownUnit
    from routing.audit import AUDIT_PROFILES, profile_auditors
    from routing.siting import SitePlanner, SitingError, index_places

    profile = profile or get_settings().profile
    if profile not in AUDIT_PROFILES:
        fail(f"--profile must be one of {', '.join(AUDIT_PROFILES)}, not '{profile}'.")
    day = day_option(on)
    svc = Service.load(get_settings(), eager=False)
    approvals = svc.approvals_on(day)
    try:
        unit_id = svc.registry.get(unit).id
    except UnknownUnit as exc:
        fail(str(exc))
    auditors = profile_auditors(svc.auditor(limit_minutes * 60 if limit_minutes else None, approvals))
    planner = SitePlanner(auditors, profile, index_places(svc.geocoder))
    try:
        most, fewest = planner.suggest(unit_id, count), planner.fewest(unit_id)
    except SitingError as exc:
        fail(str(exc))
    doc = {"date": approvals.day.isoformat(), "profile": profile,
           "most_people": most.to_dict(planner.area_names), "fewest_for_supported": fewest.to_dict(planner.area_names)}
    if json_out:
        print_json(doc)
        return
    console.print(as_of_line(approvals.day, profile))
    for part in (doc["most_people"], doc["fewest_for_supported"]):
        _print_result(part)
    console.print(
        f"Sites are the population-weighted centres of DeSOs ({doc['most_people']['candidates']} candidates), chosen "
        f"by maximal coverage (spopt MCLP, CBC) with the unit's bases kept, so that they reach people within the "
        f"limit in {PROFILE_TITLES.get(profile, profile)} traffic. 'Fewest' is the smallest count that brings every "
        "approved area to the share (a set cover per area, CBC). Today's bases may be guesses (see `asih "
        "providers`); areas 2–8 are a hypothesis.", style="dim",
    )


def _print_result(doc: dict) -> None:
    from routing.audit_table import share_text

    settings = get_settings()
    title = f"{doc['unit']}: {doc['question']} — {doc['limit_minutes']:g} min, " \
            f"{PROFILE_TITLES.get(doc['profile'], doc['profile'])}"
    if not doc["sites"]:
        key = "siting_none_needed" if doc["status"] == "none_needed" else "siting_none_helps"
        console.print(f"[bold]{title}[/]\n" + render(key, {"min_gain": doc["min_gain"],
                                                            "share": settings.siting_min_gain_share}))
    else:
        table = Table(title=title, box=box.SIMPLE_HEAD, padding=(0, 1, 0, 0), pad_edge=False, title_justify="left")
        for col, width in (("#", 2), ("lat, lon", 19), ("where (near)", 26), ("people gained", 28)):
            table.add_column(col, max_width=width, justify="right" if col == "#" else "left")
        for n, s in enumerate(doc["sites"], start=1):
            near = (" (" + render("siting_near", {"place": s["near"], "minutes": s["near_drive_min"]}) + ")"
                    if s["near"] else "")
            gains = ", ".join(f"{g['area_id']} {g['area_name']}: {g['population']:,}" for g in s["gained_by_area"]
                              if g["population"])
            table.add_row(str(n), f"{s['lat']:.5f}, {s['lon']:.5f}", s["where"] + near, gains or "—")
        console.print(table)
    if doc["not_offered"]:
        console.print(render("siting_not_offered", {"n": doc["not_offered"], "min_gain": doc["min_gain"]}),
                      style="dim")
    areas = Table(box=box.SIMPLE_HEAD, padding=(0, 1, 0, 0), pad_edge=False, title="Approved areas, today → after",
                  title_justify="left")
    areas.add_column("area", max_width=22)
    profiles = list(doc["areas"][0]["profiles"]) if doc["areas"] else []
    for p in profiles:
        areas.add_column(PROFILE_TITLES.get(p, p), max_width=17)
    for a in doc["areas"]:
        cells = [f"{share_text(v['share_before'])} → {share_text(v['share_after'], v['verdict_after'], settings)}"
                 f"\n{v['verdict_after']}" for v in a["profiles"].values()]
        areas.add_row(f"{a['area_id']} {a['area_name']}", *cells)
    console.print(areas)
    if doc["target_met"] is False:
        console.print("[yellow]Not met with the most new bases tried (8).[/]")
    if doc.get("proven_fewest") is False:
        console.print("[yellow]The solver's time limit cut the search short: fewer bases may suffice.[/]")
    for a in doc["out_of_reach"]:
        console.print(f"[yellow]Area {a['area_id']} {a['area_name']}: no set of sites reaches the share; at most "
                      f"{share_text(a['best_share'])} of its people are within the limit of any site.[/]")


def calibrate(
    check: Annotated[bool, typer.Option("--check", help="Exit 1 when speeds.yaml differs from the fit.")] = False,
    write: Annotated[bool, typer.Option("--write", help="Rewrite the calibrated profiles in speeds.yaml.")] = False,
) -> None:
    """Fit the typical and peak speed profiles to measured city-wide congestion (data/speeds.yaml, routing/calibrate)."""
    from routing.calibrate import calibrate as fit
    from routing.calibrate import differences, render_block, report, write_block

    settings = get_settings()
    fits = fit(settings)
    console.print(report(fits), highlight=False)
    if write:
        write_block(settings.speeds_file, render_block(fits))
        console.print(f"Written to {settings.speeds_file}; run `asih prepare` to rebuild what depends on it.")
        return
    diff = differences(settings.speeds_file, fits)
    for line in diff:
        console.print(f"[yellow]{line}[/]")
    if check and diff:
        raise typer.Exit(1)
    if not diff:
        console.print("[green]speeds.yaml matches the fit.[/]")


COMMANDS = {"suggest-bases": suggest_bases, "calibrate": calibrate}
