"""CLI commands: routing (``drive-time``, ``prepare-network``, ``isochrone``, ``split``)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from api.cli.output import get_settings

_console = Console(stderr=True)


def drive_time_cmd(
    from_lat: Annotated[float, typer.Argument(help="Start latitude (WGS84).")],
    from_lon: Annotated[float, typer.Argument(help="Start longitude (WGS84).")],
    to_lat: Annotated[float, typer.Argument(help="Destination latitude (WGS84).")],
    to_lon: Annotated[float, typer.Argument(help="Destination longitude (WGS84).")],
    profile: Annotated[str | None, typer.Option(help="Speed profile (free_flow, rush_hour).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Drive time between two points (the provider drives from FROM to TO)."""
    from pyproj import Transformer

    from core.settings import METRIC_CRS, WGS84
    from routing.prepare import load_network
    from routing.trees import drive_time

    settings = get_settings()
    for lat, lon in ((from_lat, from_lon), (to_lat, to_lon)):
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise typer.BadParameter(f"({lat}, {lon}) is not a latitude, longitude pair.")
    net = load_network(settings, profile=profile, progress=not as_json)
    to_metric = Transformer.from_crs(WGS84, METRIC_CRS, always_xy=True)
    a = to_metric.transform(from_lon, from_lat)
    b = to_metric.transform(to_lon, to_lat)
    seconds, from_m, to_m = drive_time(net, a, b)
    reachable = math.isfinite(seconds)
    result = {
        "seconds": round(seconds, 1) if reachable else None,
        "minutes": round(seconds / 60.0, 1) if reachable else None,
        "from_snap_m": round(from_m, 1),
        "to_snap_m": round(to_m, 1),
        "from_far": from_m > settings.snap_warning_m,
        "to_far": to_m > settings.snap_warning_m,
        "profile": net.profile,
    }
    if as_json:
        typer.echo(json.dumps(result))
        return
    if not reachable:
        typer.echo("Unreachable on the road network.")
    else:
        typer.echo(f"{result['minutes']} min ({result['seconds']} s), profile {net.profile}")
    typer.echo(f"snapping: start {result['from_snap_m']} m, destination {result['to_snap_m']} m from the road")
    if result["from_far"] or result["to_far"]:
        _console.print(f"[yellow]warning: a point is more than {settings.snap_warning_m:.0f} m from any road[/]")


def prepare_network_cmd(
    source: Annotated[str | None, typer.Option(help="matsim, osmnx-files, osm-xml, pbf or overpass.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress display.")] = False,
) -> None:
    """Build the compiled road network cache from the raw network source."""
    from routing.prepare import network_cache_dir, prepare_network

    settings = get_settings()
    net = prepare_network(settings, source=source, progress=not quiet)
    typer.echo(f"{net.source}: {net.n_nodes} nodes, {net.n_edges} edges → {network_cache_dir(settings)}")


def isochrone_cmd(
    unit: Annotated[str, typer.Argument(help="Unit id or name from data/providers.yaml.")],
    minutes: Annotated[str, typer.Option(help="Band limits in minutes, comma-separated, e.g. 10,20,30.")] = "30",
    out: Annotated[Path, typer.Option(help="GeoJSON file to write (EPSG:4326).")] = Path("isochrone.geojson"),
    direction: Annotated[str, typer.Option(help="outbound (from the unit's bases) or inbound (to them).")] = "outbound",
    shape: Annotated[str, typer.Option(help="disks (each holds the smaller) or rings (between limits).")] = "disks",
    profile: Annotated[str | None, typer.Option(help="Speed profile (free_flow, rush_hour).")] = None,
) -> None:
    """Write a unit's reach from its nearest base: one feature per band with minutes, population and area (km²)."""
    from lookup.service import Service
    from geo.providers import UnknownUnit
    from routing.isochrones import unit_isochrones, verify_minutes

    if direction not in ("outbound", "inbound"):
        raise typer.BadParameter("--direction is outbound or inbound.")
    if shape not in ("disks", "rings"):
        raise typer.BadParameter("--shape is disks or rings.")
    try:
        limits = verify_minutes(minutes.split(","))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    settings = get_settings()
    svc = Service.load(settings, profile=profile, eager=False)
    try:
        u = svc.registry.get(unit)
    except UnknownUnit as exc:
        _console.print(f"[red]Error:[/] {exc}")
        raise typer.Exit(2) from None
    collection = unit_isochrones(settings, svc.network, svc.areas, svc.eligibility.trees, u, limits, shape, direction)
    out.write_text(json.dumps(collection), encoding="utf-8")
    for f in collection["features"]:
        p = f["properties"]
        lower = p["lower_minutes"]
        band = f"{lower:g}–{p['minutes']:g}" if lower is not None else f"≤ {p['minutes']:g}"
        typer.echo(f"{u.unit}, {direction}, {band} min: {p['area_km2']:,.0f} km², {p['population']:,} people")
    typer.echo(f"→ {out}")


def split_cmd(
    minutes: Annotated[float | None, typer.Option(min=1, max=240, help="Places beyond this go to no unit.")] = None,
    out: Annotated[Path | None, typer.Option(help="GeoJSON file to write (EPSG:4326).")] = None,
    direction: Annotated[str, typer.Option(help="outbound (from the bases) or inbound (to them).")] = "outbound",
    all_units: Annotated[bool, typer.Option("--all-units", help="Every unit competes, not only approved.")] = False,
    profile: Annotated[str | None, typer.Option(help="Speed profile: free_flow | typical | peak; default the "
                                                "configured one (ASIH_PROFILE, typical).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the table as JSON.")] = False,
    on: Annotated[str | None, typer.Option("--date", help="Approvals in force on this day, from the live registry "
                                           "(YYYY-MM-DD; default today in Stockholm).")] = None,
) -> None:
    """Each area divided among its units by drive time: who gets to each place first, with population; as of a
    day's approvals."""
    from api.cli.output import as_of_line, day_option
    from lookup.service import Service
    from routing.split import split_collection

    if direction not in ("outbound", "inbound"):
        raise typer.BadParameter("--direction is outbound or inbound.")
    settings = get_settings()
    day = day_option(on)
    svc = Service.load(settings, profile=profile, eager=False)
    approvals = svc.approvals_on(day)
    collection = split_collection(settings, svc.network, svc.areas, svc.eligibility.trees, svc.registry_on(approvals),
                                  minutes, not all_units, direction)
    collection["date"], collection["profile"] = approvals.day.isoformat(), svc.network.profile
    if out is not None:
        out.write_text(json.dumps(collection), encoding="utf-8")
    rows = [{k: f["properties"][k] for k in ("area_id", "unit_id", "population", "population_share", "area_km2")}
            for f in collection["features"]]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    typer.echo(as_of_line(approvals.day, svc.network.profile))
    for r in rows:
        unit = r["unit_id"] or f"(none within {minutes:g} min)"
        typer.echo(f"area {r['area_id']}  {unit:<34} {r['population']:>9,} people {r['population_share']:>7.1%}"
                   f"  {r['area_km2']:>8,.1f} km²")
    if out is not None:
        typer.echo(f"→ {out}")


COMMANDS = {
    "drive-time": drive_time_cmd, "prepare-network": prepare_network_cmd, "isochrone": isochrone_cmd,
    "split": split_cmd,
}
