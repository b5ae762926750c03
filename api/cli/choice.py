"""CLI command: choice (how many approved units, as of a day, really reach each place: real patient choice)."""

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
    XlsxOpt,
    auditors_on,
    load_service,
    note,
    profiles_of,
)
from api.cli.output import as_of_line, console, day_option, fail, get_settings, print_json


def choice(
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    csv_out: CsvOpt = None,
    xlsx_out: XlsxOpt = None,
    lang: LangOpt = "sv",
    layer_out: Annotated[Optional[Path], typer.Option("--out", help="Write the DeSO choice layer (.geojson/.gpkg).")] = None,
    profile: Annotated[Optional[str], typer.Option(
        help="Speed profile: free_flow | typical | peak; default the configured one (ASIH_PROFILE, typical).")] = None,
    limit_minutes: LimitOpt = None,
    on: DateOpt = None,
) -> None:
    """How many approved units (as of a day, default today) really reach each place within the limit: population
    with 0, 1, 2, 3+ choices."""
    from routing.choice import choice_layer, choice_summary

    if lang not in ("sv", "en"):
        fail(f"--lang must be sv or en, not '{lang}'.")
    [name] = profiles_of(profile or get_settings().profile, False)
    day = day_option(on)
    auditor = auditors_on(load_service(), [name], limit_minutes, day)[name]
    summary = {"date": auditor.day.isoformat(), "profile": name, **choice_summary(auditor)}
    note(as_of_line(auditor.day, name), json_out)
    if json_out:
        print_json(summary)
    else:
        table = Table(title=f"Real patient choice — approved units reaching within {auditor.limit_s / 60:g} min "
                      f"({PROFILE_TITLES.get(auditor.net.profile, auditor.net.profile)})", box=box.SIMPLE_HEAD,
                      padding=(0, 1, 0, 0), pad_edge=False, title_justify="left")
        table.add_column("area", max_width=26)
        for col in ("population", "0 units", "1", "2", "3+"):
            table.add_column(col, justify="right")
        for r in [*summary["by_area"], {"area_id": "", "area_name": "County", **summary["county"]}]:
            table.add_row(f"{r['area_id']} {r['area_name']}".strip(), f"{r['population']:,}", f"{r['pop_0']:,}",
                          f"{r['pop_1']:,}", f"{r['pop_2']:,}", f"{r['pop_3plus']:,}")
        console.print(table)
        console.print(summary["base_precision_note"], style="dim")
    if csv_out or xlsx_out:
        from api.exports import about_rows, choice_columns, choice_table_rows, write_table
        from api.snapshots import metadata

        about = about_rows(metadata(auditor, [auditor.net.profile]), lang)
        for path in (p for p in (csv_out, xlsx_out) if p):
            write_table(path, choice_columns(lang), choice_table_rows(summary, lang), lang,
                        "Valmöjlighet" if lang == "sv" else "Choice", about)
            note(f"{path.suffix[1:].upper()} → {path}", json_out)
    if layer_out:
        from maps.export import export_layer

        export_layer(choice_layer(auditor), layer_out, layer="choice")
        note(f"Choice layer → {layer_out}", json_out)


COMMANDS = {"choice": choice}
