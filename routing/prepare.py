"""Prepare and cache the compiled road network (``settings.cache_dir / "network"``).

``prepare_network`` runs raw source → normalised graph → speeds → :class:`RoadNetwork` → ``.npz``/``.json``.
The cache records a checksum of its inputs (the network file, ``speeds.yaml`` and the compile format) and of its
own files, so ``load_network`` notices when an input changed or a file was damaged and rebuilds (or refuses, with
``rebuild=False``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, TypeVar

import numpy as np
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from shapely.geometry.base import BaseGeometry

from core.cache import CacheError, EntryMissing, EntryStale, entry_lock, load_or_build, manifest_checksum
from core.settings import Settings
from routing.loaders import load_graph, network_path
from routing.network import FORMAT_VERSION, META, NPZ, RoadNetwork, read_meta
from routing.snapping import build_snap_index
from routing.speeds import load_speed_model

T = TypeVar("T")


class StaleNetworkError(CacheError):
    """The cached network is missing or was built from other inputs."""


def network_cache_dir(settings: Settings) -> Path:
    """Folder of the compiled network cache."""
    return Path(settings.cache_dir) / "network"


def input_checksum(settings: Settings, source: str | None = None, polygon_wgs84: BaseGeometry | None = None) -> str:
    """SHA-256 of the network inputs: source name, network file (or Overpass polygon), speeds.yaml, format.

    Parameters
    ----------
    settings : Settings
    source : str, optional
        Defaults to ``settings.network_source``.
    polygon_wgs84 : shapely geometry, optional
        Overpass area (hashed instead of a file).

    Returns
    -------
    str
        Hex digest.
    """
    source = source or settings.network_source
    h = hashlib.sha256(f"{source}|format={FORMAT_VERSION}|".encode())
    file = network_path(settings, source)
    if file is not None:
        with open(file, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    elif polygon_wgs84 is not None:
        h.update(polygon_wgs84.wkb)
    h.update(Path(settings.speeds_file).read_bytes())
    return h.hexdigest()


@contextmanager
def _steps(enabled: bool) -> Iterator[Callable[[str, Callable[[], T]], T]]:
    if not enabled:
        yield lambda _label, fn: fn()
        return
    columns = (SpinnerColumn(), TextColumn("[bold]{task.description}"), TimeElapsedColumn())
    with Progress(*columns, transient=False) as progress:

        def run(label: str, fn: Callable[[], T]) -> T:
            task = progress.add_task(label, total=1)
            result = fn()
            progress.update(task, completed=1)
            return result

        yield run


def prepare_network(
    settings: Settings, source: str | None = None, progress: bool = True, polygon_wgs84: BaseGeometry | None = None
) -> RoadNetwork:
    """Build the compiled network from the raw source and write it to the cache (under the entry's lock).

    Parameters
    ----------
    settings : Settings
        Source, files, speeds file, cache directory and profile.
    source : str, optional
        Network source; defaults to ``settings.network_source``.
    progress : bool
        Show rich progress for the long steps.
    polygon_wgs84 : shapely geometry, optional
        Overpass area (EPSG:4326); see :func:`routing.loaders.load_graph`.

    Returns
    -------
    RoadNetwork
        In ``settings.profile``.
    """
    source = source or settings.network_source
    entry = network_cache_dir(settings)
    with entry_lock(entry, exclusive=True):
        net = _build_network(settings, source, progress, polygon_wgs84)
        net.save(entry)
    return net.with_profile(load_speed_model(settings.speeds_file).canonical(settings.profile))


def _build_network(
    settings: Settings, source: str, progress: bool, polygon_wgs84: BaseGeometry | None = None
) -> RoadNetwork:
    from routing.compile import compile_network  # networkx and pandas: only to build, never to load (issue 24)

    model = load_speed_model(settings.speeds_file)
    with _steps(progress) as step:
        checksum = step("Checksum of inputs", lambda: input_checksum(settings, source, polygon_wgs84))
        G = step(f"Load network ({source})", lambda: load_graph(settings, source, polygon_wgs84=polygon_wgs84, model=model))
        return step(
            "Compile arrays",
            lambda: compile_network(G, model.profiles, "free_flow", model.snap_exclude, checksum),
        )


def cache_status(settings: Settings, source: str | None = None) -> str:
    """``"fresh"``, ``"missing"`` or ``"stale"`` for the cached network (content hashes are checked on load)."""
    meta = read_meta(network_cache_dir(settings))
    if meta is None:
        return "missing"
    source = source or settings.network_source
    if meta.get("source") != source or manifest_checksum(network_cache_dir(settings)) != input_checksum(settings, source):
        return "stale"
    return "fresh"


def load_network(
    settings: Settings, profile: str | None = None, rebuild: bool = True, progress: bool = False
) -> RoadNetwork:
    """Load the cached network, rebuilding it when missing, stale or damaged.

    Parameters
    ----------
    settings : Settings
    profile : str, optional
        Speed profile; defaults to ``settings.profile``. An old name (``rush_hour``) loads the profile it stands for.
    rebuild : bool
        Rebuild a missing, stale or damaged cache (True) or raise (False): :class:`StaleNetworkError` when missing
        or stale, :class:`~core.cache.CacheError` naming the damaged file.
    progress : bool
        Progress display while rebuilding.

    Returns
    -------
    RoadNetwork
        With its snap index built.
    """
    speeds = load_speed_model(settings.speeds_file)
    profile = speeds.canonical(profile or settings.profile)  # rush_hour → peak
    entry = network_cache_dir(settings)
    try:
        net = load_or_build(
            entry, _expected_checksum(settings), what="The compiled network", names=[NPZ, META],
            decode=lambda files: RoadNetwork.from_files(files, entry),
            build=lambda: _build_network(settings, settings.network_source, progress),
            encode=RoadNetwork.files,
            info=lambda n: {"source": n.source, "n_nodes": n.n_nodes, "n_edges": n.n_edges},
            rebuild=rebuild,
        )
    except (EntryMissing, EntryStale) as exc:
        raise StaleNetworkError(str(exc)) from None
    net.isochrone, net.snap_warning_m = dict(speeds.isochrone), float(settings.snap_warning_m)  # settings passed in
    net = net.with_profile(profile)
    build_snap_index(net)
    return net


def _expected_checksum(settings: Settings) -> str:
    """Overpass downloads have no file to hash: a cache of the right source is trusted."""
    if settings.network_source != "overpass":
        return input_checksum(settings)
    meta = read_meta(network_cache_dir(settings)) or {}
    return manifest_checksum(network_cache_dir(settings)) if meta.get("source") == "overpass" else "overpass: none"


# -- plausibility ---------------------------------------------------------------------------------------------------

LARGEST_COMPONENT_MIN_SHARE = 0.90
"""The largest strongly connected part must hold at least this share of the network's nodes (county MATSim network:
100 %); less means a partial or broken extract, where many trips have no route."""
NEAR_ROAD_M = 1000.0
"""A person counts as served by the network when their population point lies within this distance (m) of a road."""
POPULATION_NEAR_ROAD_MIN_SHARE = 0.95
"""At least this share of the county's population must live within ``NEAR_ROAD_M`` of a road of the network (county
MATSim network: 98.9 %)."""


def check_network_plausibility(net: RoadNetwork, registry, trees, samples) -> list[str]:
    """What makes a network implausible for the county, one sentence each (empty when plausible).

    Checks the share of nodes in the largest strongly connected part, the share of the county's population within
    ``NEAR_ROAD_M`` of a road, and that every unit reaches each of its approved areas at all (some population point
    of the area, near a road, has a finite drive time from one of its bases).

    Parameters
    ----------
    net : RoadNetwork
    registry : geo.providers.Registry
    trees : routing.basetrees.BaseTrees
        Of ``net``.
    samples : routing.population.Samples
        Of ``net`` (population points snapped to it).

    Returns
    -------
    list of str
    """
    from scipy.sparse.csgraph import connected_components  # ≈ 0.2 s to import: only prepare and the start checks

    problems = []
    _, labels = connected_components(net.csr, directed=True, connection="strong")
    largest = np.bincount(labels).max() / net.n_nodes
    if largest < LARGEST_COMPONENT_MIN_SHARE:
        problems.append(
            f"Its largest connected part holds {largest:.1%} of its {net.n_nodes:,} nodes (at least "
            f"{LARGEST_COMPONENT_MIN_SHARE:.0%} expected)."
        )
    pop = samples.population
    near = pop.snaps.distance_m <= NEAR_ROAD_M
    share = float(pop.weight[near].sum() / pop.weight.sum()) if pop.weight.sum() > 0 else 0.0
    if share < POPULATION_NEAR_ROAD_MIN_SHARE:
        problems.append(
            f"Only {share:.1%} of the county's population lives within {NEAR_ROAD_M:,.0f} m of one of its roads (at "
            f"least {POPULATION_NEAR_ROAD_MIN_SHARE:.0%} expected)."
        )
    units = list(registry.units)
    times, _ = trees.unit_times(net, pop.snaps, [u.id for u in units])
    for i, unit in enumerate(units):
        unreached = [a for a in unit.areas if not bool((near & np.isfinite(times[i]) & (pop.area_id == a)).any())]
        if unreached:
            areas = ", ".join(str(a) for a in unreached)
            problems.append(f"Unit {unit.id} cannot reach its approved area{'s' if len(unreached) > 1 else ''} "
                            f"{areas} at all from its bases.")
    return problems


def describe(settings: Settings) -> str:
    """A one-line JSON description of the cached network (for the CLI)."""
    meta = read_meta(network_cache_dir(settings)) or {}
    keep = ("source", "n_nodes", "n_edges", "profile", "checksum")
    return json.dumps({k: meta.get(k) for k in keep} | {"status": cache_status(settings)})
