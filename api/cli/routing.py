"""CLI commands: routing (``drive-time``, ``prepare-network``)."""

from __future__ import annotations

import json
import math
from typing import Annotated

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


COMMANDS = {"drive-time": drive_time_cmd, "prepare-network": prepare_network_cmd}
