"""CLI commands: audit (approvals vs reach, with what-if) and choice (real patient choice)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from api.cli.output import console, fail, print_json
from geo.providers import UnknownUnit
from geo.settings import get_settings

ProfileOpt = Annotated[str, typer.Option(help="Speed profile: free_flow | rush_hour.")]
LimitOpt = Annotated[Optional[float], typer.Option("--limit-minutes", help="Drive-time limit (minutes); default 30.")]

VERDICT_STYLE = {"supported": "green", "at risk": "yellow", "unsupported": "red", "reaches, not approved": "cyan"}


def _auditor(profile: str, limit_minutes: float | None):
    from api.service import Service

    settings = get_settings()
    svc = Service.load(settings, profile=profile)
    return svc.auditor(limit_minutes * 60 if limit_minutes else None)


def audit(
    unit: Annotated[Optional[str], typer.Argument(help="One unit (id or name); default all.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    csv_out: Annotated[Optional[Path], typer.Option("--csv", help="Write the table as CSV.")] = None,
    gaps_out: Annotated[Optional[Path], typer.Option("--gaps", help="Write gap polygons (.geojson or .gpkg).")] = None,
    profile: ProfileOpt = "free_flow",
    limit_minutes: LimitOpt = None,
    move_base: Annotated[list[str], typer.Option("--move-base", help="What-if: UNIT[:N]=LAT,LON")] = [],
    add_base: Annotated[list[str], typer.Option("--add-base", help="What-if: UNIT=LAT,LON")] = [],
    remove_base: Annotated[list[str], typer.Option("--remove-base", help="What-if: UNIT[:N]")] = [],
) -> None:
    """Audit each unit's approvals against what its bases reach within the limit (population, land, roads)."""
    from routing.whatif import WhatIfError, what_if

    auditor = _auditor(profile, limit_minutes)
    if move_base or add_base or remove_base:
        try:
            pairs = what_if(auditor, move_base, add_base, remove_base)
        except (WhatIfError, UnknownUnit) as exc:
            fail(str(exc))
        _print_what_if(pairs, auditor, json_out)
        return
    try:
        audits = [auditor.audit_unit(unit)] if unit else auditor.audit_all()
    except UnknownUnit as exc:
        fail(str(exc))
    rows = [r for ua in audits for r in ua.rows()]
    if json_out:
        print_json([r.to_dict() for r in rows])
    else:
        _print_table(rows, auditor)
    if csv_out:
        _write_csv(csv_out, rows)
        console.print(f"CSV → {csv_out}")
    if gaps_out:
        import geopandas as gpd

        from maps.export import export_layer

        gaps = gpd.pd.concat([auditor.gap_polygons(ua.unit.id) for ua in audits], ignore_index=True)
        export_layer(gpd.GeoDataFrame(gaps, crs=auditor.model.areas.crs), gaps_out, layer="gaps")
        console.print(f"Gap polygons ({len(gaps)}) → {gaps_out}")


def _print_table(rows, auditor) -> None:
    s = auditor.settings
    table = Table(
        title=f"ASIH approval audit — {auditor.limit_s / 60:.0f} min, {auditor.net.profile} "
        f"(supported ≥ {s.audit_supported_share:.0%} of population, at risk ≥ {s.audit_at_risk_share:.0%})"
    )
    for col in ("unit", "area", "population", "land", "roads", "verdict", "not reached (people)", "biggest gaps", "base"):
        table.add_column(col, justify="right" if col in ("area", "population", "land", "roads", "not reached (people)") else "left")
    for r in rows:
        style = VERDICT_STYLE.get(r.verdict, "")
        gaps = ", ".join(f"{g['where']} {g['population']:,}" for g in r.gaps[:3])
        table.add_row(
            r.unit.removeprefix("ASIH "), str(r.area_id), f"{r.population_share:.0%}", f"{r.land_share:.0%}",
            f"{r.road_share:.0%}", f"[{style}]{r.verdict}[/]", f"{r.gap_population:,.0f}", gaps, r.base_precision,
        )
    console.print(table)
    console.print(
        "Shares are of the area's population (DeSO 2023 on road nodes), land (250 m cells) and road length reached "
        "within the limit from the unit's nearest base. 'base' is how sure that base's location is: figures that rest "
        "on an 'unknown' base are guesses.", style="dim",
    )


def _write_csv(path: Path, rows) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        cols = ["unit", "unit_id", "area_id", "approved", "population_share", "land_share", "road_share", "verdict",
                "population", "gap_population", "base_precision", "gaps"]
        writer = csv.DictWriter(fh, fieldnames=cols)
        writer.writeheader()
        for r in rows:
            d = r.to_dict()
            d["gaps"] = "; ".join(f"{g['where']}: {g['population']}" for g in d["gaps"])
            writer.writerow(d)


def _print_what_if(pairs, auditor, json_out: bool) -> None:
    out = []
    for before, after in pairs:
        b = {r.area_id: r for r in before.rows()}
        a = {r.area_id: r for r in after.rows()}
        for area_id in sorted(set(b) | set(a)):
            rb, ra = b.get(area_id), a.get(area_id)
            out.append({
                "unit": after.unit.unit,
                "area_id": area_id,
                "approved": area_id in after.unit.areas,
                "population_share_before": round(rb.population_share, 4) if rb else None,
                "population_share_after": round(ra.population_share, 4) if ra else None,
                "verdict_before": rb.verdict if rb else None,
                "verdict_after": ra.verdict if ra else None,
                "gap_population_before": round(rb.gap_population) if rb else None,
                "gap_population_after": round(ra.gap_population) if ra else None,
                "bases_after": [f"{x.name} ({x.lat}, {x.lon})" for x in after.unit.bases],
            })
    if json_out:
        print_json(out)
        return
    table = Table(title=f"What-if against today — {auditor.limit_s / 60:.0f} min, {auditor.net.profile}")
    for col in ("unit", "area", "approved", "population before", "after", "change", "verdict before → after"):
        table.add_column(col)
    for r in out:
        before, after = r["population_share_before"], r["population_share_after"]
        change = "" if before is None or after is None else f"{(after - before) * 100:+.1f} pp"
        table.add_row(
            r["unit"], str(r["area_id"]), "yes" if r["approved"] else "no",
            "—" if before is None else f"{before:.0%}", "—" if after is None else f"{after:.0%}", change,
            f"{r['verdict_before'] or '—'} → {r['verdict_after'] or '—'}",
        )
    console.print(table)
    console.print("Rows for areas not approved appear only where the unit reaches ≥ the supported share.", style="dim")


def choice(
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    csv_out: Annotated[Optional[Path], typer.Option("--csv", help="Write per-area counts as CSV.")] = None,
    layer_out: Annotated[Optional[Path], typer.Option("--out", help="Write the DeSO choice layer (.geojson/.gpkg).")] = None,
    profile: ProfileOpt = "free_flow",
    limit_minutes: LimitOpt = None,
) -> None:
    """How many approved units really reach each place within the limit: population with 0, 1, 2, 3+ choices."""
    from routing.choice import choice_layer, choice_summary

    auditor = _auditor(profile, limit_minutes)
    summary = choice_summary(auditor)
    if json_out:
        print_json(summary)
    else:
        table = Table(title=f"Real patient choice — approved units reaching within {auditor.limit_s / 60:.0f} min ({auditor.net.profile})")
        for col in ("area", "population", "0 units", "1", "2", "3+"):
            table.add_column(col, justify="right")
        for r in [*summary["by_area"], {"area_id": "county", **summary["county"]}]:
            table.add_row(str(r["area_id"]), f"{r['population']:,}", f"{r['pop_0']:,}", f"{r['pop_1']:,}",
                          f"{r['pop_2']:,}", f"{r['pop_3plus']:,}")
        console.print(table)
        console.print(summary["base_precision_note"], style="dim")
    if csv_out:
        with csv_out.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=["area_id", "population", "pop_0", "pop_1", "pop_2", "pop_3plus"])
            writer.writeheader()
            writer.writerows(summary["by_area"])
            writer.writerow({"area_id": "county", **summary["county"]})
    if layer_out:
        from maps.export import export_layer

        export_layer(choice_layer(auditor), layer_out, layer="choice")
        console.print(f"Choice layer → {layer_out}")


COMMANDS = {"audit": audit, "choice": choice}
