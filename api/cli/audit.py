"""CLI command: audit (approvals as of a day vs reach under free flow, typical and peak traffic, with what-if,
filters, exports, snapshots and comparisons between days)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich import box
from rich.table import Table

from api.cli.common import (
    PROFILE_TITLES,
    CsvOpt,
    DateOpt,
    LangOpt,
    LimitOpt,
    ProfileOpt,
    XlsxOpt,
    auditors_on,
    load_service,
    main_of,
    note,
    profiles_of,
)
from api.cli.output import as_of_line, console, day_option, fail, print_json

VERDICT_STYLE = {"supported": "green", "at risk": "yellow", "unsupported": "red", "reaches, not approved": "cyan",
                 "not approved": "dim"}
VERDICT_SHORT = {"reaches, not approved": "reaches", "not approved": "–"}
"""Table cells of rows for areas the unit is not approved for (the area cell says 'not approved')."""
VERDICT_RANK = {"unsupported": 0, "at risk": 1, "supported": 2, "reaches, not approved": 3, "not approved": 4}
SORTS = ("unit", "area", "share", "gap", "verdict")


def _compare_dates(svc, profiles, limit_minutes, before: dict, later, unit, json_out: bool) -> None:
    """What the approval changes between two days did to coverage: the changed approvals, then the changed rows."""
    from geo.providers import UnknownUnit
    from routing.audit_table import audit_profiles, compare_rows

    after = auditors_on(svc, profiles, limit_minutes, later)
    first, last = next(iter(before.values())), next(iter(after.values()))
    units = None
    if unit:
        try:
            units = [svc.registry.get(unit).id]
        except UnknownUnit as exc:
            fail(str(exc))
    changed = svc.approvals_on(last.day).differs_from(svc.approvals_on(first.day))
    if units:
        changed = [c for c in changed if c["unit_id"] in units]
    rows = compare_rows([r.to_dict() for r in audit_profiles(before, units)],
                        [r.to_dict() for r in audit_profiles(after, units)])
    if json_out:
        print_json({"date": first.day.isoformat(), "compare_date": last.day.isoformat(),
                    "profile": main_of(svc.settings, profiles), "approvals_changed": changed, "changes": rows})
        return
    console.print(f"Approvals {first.day.isoformat()} → {last.day.isoformat()}: " + (
        "; ".join(f"{c['unit_id']} area {c['area_id']} {c['change']}" for c in changed) or "no change"))
    if not rows:
        console.print("Coverage is the same on both days.")
        return
    _print_changes(f"Coverage {first.day.isoformat()} → {last.day.isoformat()}", rows, "not approved", "not approved")


def _print_changes(title: str, changes: list[dict], no_before: str, no_after: str) -> None:
    """The rows of :func:`routing.audit_table.compare_rows` as a table; ``no_before``/``no_after`` name a row that
    exists on one side only."""
    from routing.audit_table import share_text

    table = Table(title=title, box=box.SIMPLE_HEAD, padding=(0, 1, 0, 0), pad_edge=False, title_justify="left")
    for col, width in (("unit", 14), ("area", 16), ("profile", 9), ("population", 15), ("verdict", 22)):
        table.add_column(col, max_width=width)
    for c in changes:
        share = "—" if c["share_before"] is None else share_text(c["share_before"])
        share += " → " + ("—" if c["share_after"] is None else share_text(c["share_after"]))
        table.add_row(c["unit"].removeprefix("ASIH "), f"{c['area_id']} {c['area_name']}",
                      PROFILE_TITLES.get(c["profile"], c["profile"]), share,
                      f"{c['verdict_before'] or no_before} → {c['verdict_after'] or no_after}")
    console.print(table)


def audit(
    unit: Annotated[Optional[str], typer.Argument(help="One unit (id or name); default all.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    csv_out: CsvOpt = None,
    xlsx_out: XlsxOpt = None,
    lang: LangOpt = "sv",
    gaps_out: Annotated[Optional[Path], typer.Option("--gaps", help="Write gap polygons (.geojson or .gpkg).")] = None,
    profile: ProfileOpt = None,
    all_profiles: Annotated[Optional[bool], typer.Option(
        "--all-profiles/--one-profile",
        help="Free flow, typical and peak side by side (the default unless --profile is given).")] = None,
    limit_minutes: LimitOpt = None,
    area: Annotated[list[str], typer.Option("--area", help="Only these areas (number or name); repeatable.")] = [],
    verdict: Annotated[list[str], typer.Option(
        "--verdict", help="Only rows with this verdict under some shown profile: supported | at-risk | unsupported | "
        "not-approved; repeatable.")] = [],
    sort: Annotated[str, typer.Option("--sort", help="unit (file order) | area | share (lowest first) | gap "
                                      "(most people not reached first) | verdict (worst first).")] = "unit",
    compare: Annotated[Optional[str], typer.Option(
        "--compare", help="Show what changed since a snapshot: 'last' or a file (from --save or --json).")] = None,
    save: Annotated[bool, typer.Option("--save", help="Keep this audit as a snapshot in the cache.")] = False,
    move_base: Annotated[list[str], typer.Option("--move-base", help="What-if: UNIT[:N]=LAT,LON or =PLACE")] = [],
    add_base: Annotated[list[str], typer.Option("--add-base", help="What-if: UNIT=LAT,LON or =PLACE")] = [],
    remove_base: Annotated[list[str], typer.Option("--remove-base", help="What-if: UNIT[:N]")] = [],
    on: DateOpt = None,
    compare_date: Annotated[Optional[str], typer.Option(
        "--compare-date", help="Show what the approval changes between --date (before) and this day (after) did "
        "to coverage (YYYY-MM-DD).")] = None,
) -> None:
    """Audit each unit's approvals in force on a day (the live registry; default today) against what its bases
    reach within the limit (population, land, roads), under free flow, typical and peak traffic side by side; the
    headline profile is the configured one (ASIH_PROFILE, typical by default)."""
    from geo.providers import UnknownUnit
    from routing.audit_table import audit_profiles

    if lang not in ("sv", "en"):
        fail(f"--lang must be sv or en, not '{lang}'.")
    if sort not in SORTS:
        fail(f"--sort must be one of {', '.join(SORTS)}, not '{sort}'.")
    for path, suffix in ((csv_out, ".csv"), (xlsx_out, ".xlsx")):
        if path is not None and path.suffix.lower() != suffix:
            fail(f"Give the {suffix[1:].upper()} file a {suffix} name, not '{path.name}'.")
    profiles = profiles_of(profile, all_profiles)
    day, later = day_option(on), day_option(compare_date, "--compare-date")
    if compare and later:
        fail("Give either --compare (a snapshot) or --compare-date (another day), not both.")
    svc = load_service()
    auditors = auditors_on(svc, profiles, limit_minutes, day)
    main = main_of(svc.settings, profiles)
    base = auditors[main]
    note(as_of_line(base.day, main), json_out)
    if later is not None:
        _compare_dates(svc, profiles, limit_minutes, auditors, later, unit, json_out)
        return
    if move_base or add_base or remove_base:
        _what_if(svc, auditors, move_base, add_base, remove_base, json_out, csv_out, xlsx_out, lang)
        return
    try:
        units = [svc.registry.get(unit).id] if unit else None
    except UnknownUnit as exc:
        fail(str(exc))
    rows = audit_profiles(auditors, units)
    rows = _sorted(_filtered(rows, _area_ids(svc, area), _verdicts(verdict)), sort)
    dicts = [r.to_dict() for r in rows]
    if compare:
        from api.snapshots import metadata

        _compare(svc, compare, dicts, json_out, metadata(base, profiles))
    elif json_out:
        print_json(dicts)
    else:
        _print_profiles(rows, base, profiles)
    meta = None
    if csv_out or xlsx_out or save:
        from api.exports import about_rows, audit_columns, audit_table_rows, write_table
        from api.snapshots import metadata, save_snapshot

        meta = metadata(base, profiles)
        for path in (p for p in (csv_out, xlsx_out) if p):
            write_table(path, audit_columns(profiles, lang), audit_table_rows(dicts, lang), lang,
                        "Granskning" if lang == "sv" else "Audit", about_rows(meta, lang))
            note(f"{path.suffix[1:].upper()} → {path}", json_out)
        if save:
            note(f"Snapshot → {save_snapshot(svc.settings, meta, dicts)}", json_out)
    if gaps_out:
        import geopandas as gpd

        from maps.export import export_layer

        ids = list(dict.fromkeys(r.first.unit_id for r in rows))
        gaps = gpd.pd.concat([base.gap_polygons(u) for u in ids], ignore_index=True) if ids else gpd.GeoDataFrame()
        export_layer(gpd.GeoDataFrame(gaps, crs=base.model.areas.crs), gaps_out, layer="gaps")
        note(f"Gap polygons ({len(gaps)}, {PROFILE_TITLES.get(profiles[0], profiles[0])}) → {gaps_out}", json_out)


def _area_ids(svc, keys: list[str]) -> set[int] | None:
    if not keys:
        return None
    names = {int(i): str(n) for i, n in zip(svc.areas.areas["id"], svc.areas.areas["name"])}
    out = set()
    for key in keys:
        k = key.strip()
        hits = [i for i in names if k == str(i)] or [i for i, n in names.items() if k.casefold() in n.casefold()]
        if len(hits) != 1:
            known = "; ".join(f"{i} {n}" for i, n in names.items())
            fail(f"--area '{key}' matches {'no area' if not hits else 'several areas'}; the areas are: {known}.")
        out.add(hits[0])
    return out


def _verdicts(keys: list[str]) -> set[str] | None:
    if not keys:
        return None
    aliases = {"supported": "supported", "at-risk": "at risk", "at risk": "at risk", "unsupported": "unsupported",
               "not-approved": "reaches, not approved", "reaches": "reaches, not approved",
               "reaches, not approved": "reaches, not approved"}
    out = set()
    for key in keys:
        if key.strip().lower() not in aliases:
            fail(f"--verdict '{key}' is not one of supported, at-risk, unsupported, not-approved.")
        out.add(aliases[key.strip().lower()])
    return out


def _filtered(rows, areas: set[int] | None, verdicts: set[str] | None):
    keep = []
    for r in rows:
        if areas is not None and r.first.area_id not in areas:
            continue
        if verdicts is not None and not verdicts & set(r.verdicts().values()):
            continue
        keep.append(r)
    return keep


def _sorted(rows, how: str):
    if how == "area":
        return sorted(rows, key=lambda r: (r.first.area_id, not r.first.approved))
    if how == "share":
        return sorted(rows, key=lambda r: (not r.first.approved, r.worst.population_share))
    if how == "gap":
        return sorted(rows, key=lambda r: (not r.first.approved, -r.worst.gap_population))
    if how == "verdict":
        return sorted(rows, key=lambda r: (min(VERDICT_RANK.get(v, 9) for v in r.verdicts().values()),
                                           r.worst.population_share))
    return rows


def _area_cell(r) -> str:
    text = f"{r.first.area_id} {r.area_name}"
    return text if r.first.approved else f"{text} [dim](not approved)[/]"


def _print_profiles(rows, auditor, profiles: list[str]) -> None:
    """One block per unit (its name and base precision), a row per area, a column per profile: fits 80 columns."""
    from routing.audit_table import share_text

    s = auditor.settings
    table = Table(
        title=f"ASIH approval audit — approvals as of {auditor.day}, {auditor.limit_s / 60:g} min, share of the "
              "area's population reached",
        box=box.SIMPLE_HEAD, padding=(0, 1, 0, 0), pad_edge=False, title_justify="left",
    )
    table.add_column("unit / area", max_width=24, overflow="fold")
    for p in profiles:
        table.add_column(PROFILE_TITLES.get(p, p), justify="right", min_width=9, max_width=11)
    table.add_column(f"people not reached, {PROFILE_TITLES.get(profiles[-1], profiles[-1])}", justify="right",
                     max_width=10)
    unit_id = None
    for r in rows:
        if r.first.unit_id != unit_id:
            unit_id = r.first.unit_id
            table.add_row(f"[bold]{r.first.unit.removeprefix('ASIH ')}[/] [dim](base: {r.first.base_precision})[/]",
                          *[""] * (len(profiles) + 1))
        cells = []
        for row in r.rows.values():
            style = VERDICT_STYLE.get(row.verdict, "")
            word = VERDICT_SHORT.get(row.verdict, row.verdict)
            cells.append(f"{share_text(row.population_share, row.verdict, s)}\n[{style}]{word}[/]")
        last = list(r.rows.values())[-1]
        table.add_row("  " + _area_cell(r), *cells, f"{last.gap_population:,.0f}" if r.first.approved else "")
    console.print(table)
    console.print(
        f"Supported ≥ {s.audit_supported_share:.0%}, at risk ≥ {s.audit_at_risk_share:.0%} of the area's population; "
        "shares are floored (94.97 % shows 94.9 %). Free flow = posted speeds; typical and peak = calibrated to "
        "TomTom's measured city-wide congestion (data/speeds.yaml), still optimistic in absolute terms. '(base: …)' "
        "says how sure the unit's least certain base is: figures resting on an 'unknown' base are guesses. Areas 2–8 "
        "are a hypothesis.", style="dim",
    )


def _compare(svc, spec: str, rows: list[dict], json_out: bool, now: dict) -> None:
    from api.snapshots import inputs_changed, load_snapshot
    from routing.audit_table import compare_rows

    try:
        meta, old = load_snapshot(svc.settings, spec)
    except ValueError as exc:
        fail(str(exc))
    changes = compare_rows(old, rows)
    inputs = inputs_changed(meta, now)
    if json_out:
        print_json({"since": meta, "inputs_changed": inputs, "changes": changes})
        return
    since = meta.get("created", spec)
    console.print("Inputs changed since then: " + ("; ".join(
        f"{i['input']}: {i['what']} ({i['before']} → {i['after']})" for i in inputs) or "none recorded"),
        highlight=False)
    if not changes:
        console.print(f"No change since the audit of {since}.")
        return
    _print_changes(f"Changes since the audit of {since}", changes, "new", "gone")


def _what_if(svc, auditors, move, add, remove, json_out, csv_out, xlsx_out, lang) -> None:
    from geo.providers import UnknownUnit
    from routing.whatif import apply_changes, geocoder_resolver, what_if_registry, what_if_rows

    base = next(iter(auditors.values()))
    names = {int(i): str(n) for i, n in zip(svc.areas.areas["id"], svc.areas.areas["name"])}
    try:
        registry, changed = apply_changes(base.registry, list(move), list(add), list(remove),
                                          resolve=geocoder_resolver(svc.geocoder))
        rows = [row for p, a in auditors.items() for row in what_if_rows(what_if_registry(a, registry, changed), p, names)]
    except (ValueError, UnknownUnit) as exc:  # WhatIfError, and coordinates out of range
        fail(str(exc))
    rows.sort(key=lambda r: (r["unit_id"], not r["approved"], r["area_id"], list(auditors).index(r["profile"])))
    if json_out:
        print_json(rows)
    else:
        _print_what_if(rows, base)
    if csv_out or xlsx_out:
        from api.exports import about_rows, what_if_columns, what_if_table_rows, write_table
        from api.snapshots import metadata

        about = about_rows(metadata(base, list(auditors)), lang)
        for path in (p for p in (csv_out, xlsx_out) if p):
            write_table(path, what_if_columns(lang), what_if_table_rows(rows, lang), lang,
                        "Tänkt ändring" if lang == "sv" else "What-if", about)
            note(f"{path.suffix[1:].upper()} → {path}", json_out)


def _print_what_if(rows: list[dict], auditor) -> None:
    from routing.audit_table import share_text

    table = Table(title=f"What-if against today — {auditor.limit_s / 60:g} min, share of the area's population reached",
                  box=box.SIMPLE_HEAD, padding=(0, 1, 0, 0), pad_edge=False, title_justify="left")
    for col, width in (("unit / area", 20), ("profile", 9), ("before", 7), ("after", 7), ("change", 8),
                       ("verdict", 18)):
        table.add_column(col, max_width=width, justify="right" if col in ("before", "after", "change") else "left")
    unit_id = None
    for r in rows:
        if r["unit_id"] != unit_id:
            unit_id = r["unit_id"]
            table.add_row(f"[bold]{r['unit'].removeprefix('ASIH ')}[/]", *[""] * 5)
        before, after = r["population_share_before"], r["population_share_after"]
        change = "" if before is None or after is None else f"{_floor1(after) - _floor1(before):+.1f} pp"
        area = f"  {r['area_id']} {r['area_name']}" + ("" if r["approved"] else " [dim](not approved)[/]")
        vb, va = r["verdict_before"] or "—", r["verdict_after"] or "—"
        table.add_row(
            area, PROFILE_TITLES.get(r["profile"], r["profile"]),
            "—" if before is None else share_text(before), "—" if after is None else share_text(after),
            change, f"{va} (=)" if vb == va else f"{vb} → {va}",
        )
    console.print(table)
    console.print("Bases after: " + "; ".join(dict.fromkeys(b for r in rows for b in r["bases_after"])), style="dim")
    console.print("Rows for areas not approved appear only where the unit reaches ≥ the supported share under some "
                  "profile. Shares are floored.", style="dim")


def _floor1(share: float) -> float:
    """A share as a percentage floored to 0.1, as :func:`routing.audit_table.share_text` shows it."""
    import math

    return math.floor(share * 1000 + 1e-9) / 10


COMMANDS = {"audit": audit}
