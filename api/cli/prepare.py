"""CLI command: prepare (build every cached artifact the service and the other commands read).

Idempotent and self-repairing: an entry whose inputs changed, or whose stored files are damaged (a content hash
that differs, a truncated file, implausible values), is rebuilt without ``--force``. Several ``asih prepare`` runs,
or a run and starting servers, may overlap: each entry is built once, under its lock. The road network must pass
the plausibility checks (:func:`routing.prepare.check_network_plausibility`) or the command stops with exit 2.
"""

from __future__ import annotations

import time
from typing import Annotated, Optional

import typer

from api.cli.output import console, fail, get_settings


def prepare(
    source: Annotated[
        Optional[str], typer.Option(help="Network source: matsim | osmnx-files | osm-xml | pbf | overpass.")
    ] = None,
    profile: Annotated[Optional[str], typer.Option(help="Speed profile: free_flow | typical | peak.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even when the cache is fresh and intact.")] = False,
) -> None:
    """Build the cache: areas, road network, base drive-time trees, geocoder index. Idempotent; repairs damage."""
    from api.cli.checks import check_providers, implausible_message
    from core.cache import CacheError
    from core.settings import UnknownSetting, verify_environment
    from geo.areas.definitions import AreaDataError
    from geo.areas.model import prepare_area_model
    from geo.boundaries import DataFileError
    from geo.geocode import build_index
    from geo.geocode.sources import SourceError
    from geo.providers import ProviderDataError
    from routing.basetrees import load_base_trees
    from routing.population import load_samples
    from routing.prepare import check_network_plausibility, load_network, prepare_network
    from maps.basemap import load_basemap

    try:
        verify_environment()
    except UnknownSetting as exc:
        fail(str(exc))
    settings = get_settings()
    if source:
        settings = settings.model_copy(update={"network_source": source})
    from routing.audit import AUDIT_PROFILES

    profiles = [profile] if profile else list(AUDIT_PROFILES)
    t0 = time.perf_counter()
    try:
        model = prepare_area_model(settings, force=force)
        console.print(f"Areas: {len(model.areas)} areas, land covered {model.report.land_coverage:.4%}")
        registry = check_providers(settings, model)
        console.print(f"Providers: {len(registry.units)} units, {len(registry.bases())} bases")
        if force:
            prepare_network(settings, source=settings.network_source)
        checked = None
        for name in profiles:
            net = load_network(settings, profile=name)
            trees = load_base_trees(settings, net, registry)
            far = [b.name for b, d in zip(trees.bases, trees.snaps.distance_m) if d > settings.snap_warning_m]
            console.print(
                f"Network ({net.source}, {name}): {net.n_nodes:,} nodes, {net.n_edges:,} edges; "
                f"{len(trees.bases)} base trees" + (f"; bases far from roads: {far}" if far else "")
            )
            checked = checked or (net, trees)
        samples = load_samples(settings, net, model)
        console.print(f"Coverage samples: {len(samples.population):,} population points, "
                      f"{len(samples.land):,} land cells")
        problems = check_network_plausibility(checked[0], registry, checked[1], samples)
        if problems:
            fail(implausible_message(settings, problems))
        console.print("Network plausibility: connected, covers the county's population, every unit reaches its areas")
        build_index(settings)
        console.print("Geocoder index: ready")
        console.print(f"Base map: {len(load_basemap(settings, force=force).text) // 1024:,} kB")
    except (AreaDataError, ProviderDataError, DataFileError, CacheError) as exc:
        fail(str(exc))
    except SourceError as exc:
        fail(f"{exc} The geocoder reads street names from ASIH_STREET_NETWORK_FILE (an OSMnx-saved network, or an "
             ".osm/.osm.pbf file) and house numbers from ASIH_ADDRESS_OSM_FILE (';'-separated).")
    console.print(f"[green]Prepared[/] in {time.perf_counter() - t0:.1f} s → {settings.cache_dir}")


COMMANDS = {"prepare": prepare}
