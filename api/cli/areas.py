"""CLI commands: areas, locate, providers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich import box
from rich.table import Table

from api.cli.output import console, fail, get_settings, print_json

# The area model, the locator and the providers file (geopandas, scipy) are imported inside each command, so that
# `asih --help` and the other commands never pay for them.


def areas(
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    check: Annotated[bool, typer.Option("--check", help="Validate the areas file and polygons.")] = False,
    areas_file: Annotated[Optional[Path], typer.Option("--areas", help="Areas YAML to use instead of the configured one.")] = None,
) -> None:
    """List the eight ASIH areas, or check an areas file (exit 0 when valid)."""
    from core.cache import CacheError
    from geo.areas.definitions import AreaDataError
    from geo.areas.model import build_area_model, load_area_model
    from geo.boundaries import DataFileError

    settings = get_settings()
    try:
        model = build_area_model(settings, areas_file) if (check or areas_file) else load_area_model(settings)
    except (AreaDataError, DataFileError, CacheError) as exc:
        fail(str(exc))
    summary = model.summary()
    names = dict(zip(model.units["municipality_code"], model.units["municipality_name"]))
    summary["municipality_names"] = [[names.get(c, c) for c in codes] for codes in summary["municipalities"]]
    if json_out:
        print_json(summary.drop(columns=["provenance_note"]).to_dict(orient="records"))
        return
    table = Table(title="ASIH areas: municipalities and Stockholm boroughs (provenance: confirmed or hypothesis)",
                  box=box.SIMPLE_HEAD, title_justify="left", padding=(0, 1, 0, 0), pad_edge=False)
    for col in ("id", "name", "members", "land km²", "population", "provenance"):
        table.add_column(col, justify="right" if col in ("land km²", "population", "id") else "left",
                         overflow="fold", min_width=26 if col == "members" else None,
                         max_width=12 if col == "name" else None)
    for row in summary.itertuples():
        members = ", ".join([*row.municipality_names, *row.districts])
        table.add_row(str(row.id), row.name, members, f"{row.land_km2:,.0f}", f"{row.population:,}", row.provenance)
    console.print(table)
    if check:
        r = model.report
        console.print(
            f"[green]Valid:[/] {len(model.units)} members in {len(model.areas)} areas; "
            f"max pairwise overlap {r.max_overlap_km2:.6f} km²; land covered {r.land_coverage:.4%} "
            f"({max(r.land_gap_km2, 0):.3f} km² of {r.land_km2:,.0f} km² not covered); "
            f"population {int(summary.population.sum()):,}."
        )
        for line in model.district_table_mismatches:
            console.print(f"[yellow]Stadsdel table differs:[/] {line}")


def locate(
    lat: Annotated[float, typer.Argument(help="Latitude, WGS84 degrees.")],
    lon: Annotated[float, typer.Argument(help="Longitude, WGS84 degrees.")],
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Which area, municipality and district a point lies in. Exit 1 when outside Stockholm County."""
    from geo.areas.locate import AreaLocator
    from geo.areas.model import load_area_model

    settings = get_settings()
    locator = AreaLocator(load_area_model(settings), settings.border_warning_m)
    try:
        loc = locator.locate(lat, lon)
    except ValueError as exc:
        fail(str(exc))
    if json_out:
        d = loc.to_dict()
        print_json({k: d[k] for k in ("area_id", "area_name", "area_provenance", "municipality_code",
                                      "municipality_name", "district", "stadsdel", "border_warning", "message")})
    elif loc.inside:
        where = ", ".join(x for x in (loc.municipality_name, loc.district, loc.stadsdel) if x)
        console.print(f"Area {loc.area_id} {loc.area_name} ({loc.area_provenance}) — {where}")
        if loc.border_warning:
            console.print(f"[yellow]Border:[/] {loc.border_warning.message}")
        if loc.message:
            console.print(f"[yellow]Note:[/] {loc.message}")
    else:
        console.print(loc.message)
    if not loc.inside:
        raise typer.Exit(1)


def providers(
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    check: Annotated[bool, typer.Option("--check", help="Validate the providers file.")] = False,
    providers_file: Annotated[Optional[Path], typer.Option("--providers", help="Providers YAML to use.")] = None,
) -> None:
    """List the provider units with approved areas and bases (and how sure each base is)."""
    from api.cli.checks import check_providers
    from core.cache import CacheError
    from geo.areas.definitions import AreaDataError
    from geo.areas.model import load_area_model
    from geo.boundaries import DataFileError
    from geo.providers import ProviderDataError, read_registry

    settings = get_settings()
    try:
        read_registry(providers_file or settings.providers_file)  # the file's own structure first
        registry = check_providers(settings, load_area_model(settings), providers_file)
    except (ProviderDataError, AreaDataError, DataFileError, CacheError) as exc:
        fail(str(exc))
    if json_out:
        print_json([
            {
                "id": u.id,
                "unit": u.unit,
                "organisation": u.organisation,
                "areas": list(u.areas),
                "capacity_note": u.capacity_note,
                "bases": [{"name": b.name, "lat": b.lat, "lon": b.lon, "precision": b.precision, "source": b.source}
                          for b in u.bases],
            }
            for u in registry.units
        ])
        return
    table = Table(title="ASIH provider units")
    for col in ("id", "unit", "organisation", "areas", "bases (precision)"):
        table.add_column(col)
    for u in registry.units:
        bases = "; ".join(f"{b.name} ({b.precision})" for b in u.bases)
        table.add_row(u.id, u.unit, u.organisation, ", ".join(map(str, u.areas)), bases)
    console.print(table)
    if check:
        console.print(f"[green]Valid:[/] {len(registry.units)} units, {len(registry.bases())} bases, all in the county.")


COMMANDS = {"areas": areas, "locate": locate, "providers": providers}
