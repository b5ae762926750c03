"""CLI command: prepare (build every cached artifact the service and the other commands read)."""

from __future__ import annotations

import time
from typing import Annotated, Optional

import typer

from api.cli.output import console, fail
from geo.areas.definitions import AreaDataError
from geo.areas.locate import AreaLocator
from geo.areas.model import prepare_area_model
from geo.boundaries import DataFileError
from geo.geocode.sources import SourceError
from geo.providers import ProviderDataError, read_registry, validate_registry
from geo.settings import get_settings


def prepare(
    source: Annotated[
        Optional[str], typer.Option(help="Network source: matsim | osmnx-files | osm-xml | pbf | overpass.")
    ] = None,
    profile: Annotated[Optional[str], typer.Option(help="Speed profile: free_flow | rush_hour.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even when the cache is fresh.")] = False,
) -> None:
    """Build the cache: areas, road network, base drive-time trees, geocoder index. Idempotent."""
    from geo.geocode import build_index
    from routing.basetrees import load_base_trees
    from routing.population import load_samples
    from routing.prepare import load_network, prepare_network

    settings = get_settings()
    if source:
        settings = settings.model_copy(update={"network_source": source})
    profiles = [profile] if profile else ["free_flow", "rush_hour"]
    t0 = time.perf_counter()
    try:
        model = prepare_area_model(settings, force=force)
        console.print(f"Areas: {len(model.areas)} areas, land covered {model.report.land_coverage:.4%}")
        registry = read_registry(settings.providers_file)
        locator = AreaLocator(model, 0)
        validate_registry(registry, [a.id for a in model.defs.areas], locator.locate, locator.distance_to_land_m,
                          settings.base_max_from_land_m)
        console.print(f"Providers: {len(registry.units)} units, {len(registry.bases())} bases")
        if force:
            prepare_network(settings, source=settings.network_source)
        for name in profiles:
            net = load_network(settings, profile=name)
            trees = load_base_trees(settings, net, registry)
            far = [b.name for b, d in zip(trees.bases, trees.snaps.distance_m) if d > settings.snap_warning_m]
            console.print(
                f"Network ({net.source}, {name}): {net.n_nodes:,} nodes, {net.n_edges:,} edges; "
                f"{len(trees.bases)} base trees" + (f"; bases far from roads: {far}" if far else "")
            )
        samples = load_samples(settings, net, model)
        console.print(f"Coverage samples: {len(samples.population):,} population points, {len(samples.land):,} land cells")
        build_index(settings)
        console.print("Geocoder index: ready")
    except (AreaDataError, ProviderDataError, DataFileError) as exc:
        fail(str(exc))
    except SourceError as exc:
        fail(f"{exc} The geocoder reads street names from ASIH_STREET_NETWORK_FILE (an OSMnx-saved network, or an "
             ".osm/.osm.pbf file) and house numbers from ASIH_ADDRESS_OSM_FILE (';'-separated).")
    console.print(f"[green]Prepared[/] in {time.perf_counter() - t0:.1f} s → {settings.cache_dir}")


COMMANDS = {"prepare": prepare}
