"""CLI commands: routing (``drive-time``, ``prepare-network``)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import shapely
import typer
from pyproj import Transformer
from rich.console import Console

from geo.settings import METRIC_CRS, WGS84, get_settings

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
    minutes: Annotated[float, typer.Option(min=1, max=240, help="Minutes of driving from the unit's bases.")] = 30,
    out: Annotated[Path, typer.Option(help="GeoJSON file to write (EPSG:4326).")] = Path("isochrone.geojson"),
    profile: Annotated[str | None, typer.Option(help="Speed profile (free_flow, rush_hour).")] = None,
) -> None:
    """Write a unit's reach within MINUTES from all its bases: one feature per base and their union."""
    from api.service import Service
    from geo.providers import UnknownUnit
    from routing.isochrones import isochrone, to_geojson

    settings = get_settings()
    svc = Service.load(settings, profile=profile)
    try:
        u = svc.registry.get(unit)
    except UnknownUnit as exc:
        _console.print(f"[red]Error:[/] {exc}")
        raise typer.Exit(2) from None
    trees, limit_s = svc.eligibility.trees, minutes * 60.0
    features, parts = [], []
    for row in trees.rows_of(u.id):
        geom = isochrone(svc.network, trees.times[row], limit_s, origin=trees.snaps[int(row)])
        parts.append(geom)
        base = trees.bases[int(row)]
        features.append({"type": "Feature", "geometry": to_geojson(geom), "properties": {
            "kind": "base", "unit": u.unit, "unit_id": u.id, "base": base.name, "precision": base.precision,
            "minutes": minutes, "profile": svc.network.profile, "area_km2": round(geom.area / 1e6, 2)}})
    union = shapely.union_all(parts)
    features.append({"type": "Feature", "geometry": to_geojson(union), "properties": {
        "kind": "unit", "unit": u.unit, "unit_id": u.id, "precision": u.precision, "minutes": minutes,
        "profile": svc.network.profile, "area_km2": round(union.area / 1e6, 2)}})
    out.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    typer.echo(f"{u.unit}: {minutes:g} min reach, {union.area / 1e6:,.0f} km² from {len(parts)} base(s) → {out}")


COMMANDS = {"drive-time": drive_time_cmd, "prepare-network": prepare_network_cmd, "isochrone": isochrone_cmd}
