"""Prepare and cache the compiled road network (``settings.cache_dir / "network"``).

``prepare_network`` runs raw source → normalised graph → speeds → :class:`RoadNetwork` → ``.npz``/``.json``.
The cache records a checksum of its inputs (the network file, ``speeds.yaml`` and the compile format), so
``load_network`` notices when either changed and rebuilds (or refuses, with ``rebuild=False``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, TypeVar

from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from shapely.geometry.base import BaseGeometry

from geo.settings import Settings
from routing.loaders import load_graph, network_path
from routing.network import FORMAT_VERSION, RoadNetwork, compile_network, read_meta
from routing.snapping import build_snap_index
from routing.speeds import load_speed_model

T = TypeVar("T")


class StaleNetworkError(RuntimeError):
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
    """Build the compiled network from the raw source and write it to the cache.

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
    model = load_speed_model(settings.speeds_file)
    with _steps(progress) as step:
        checksum = step("Checksum of inputs", lambda: input_checksum(settings, source, polygon_wgs84))
        G = step(f"Load network ({source})", lambda: load_graph(settings, source, polygon_wgs84=polygon_wgs84, model=model))
        net = step(
            "Compile arrays",
            lambda: compile_network(G, model.profiles, "free_flow", model.snap_exclude, checksum),
        )
        step("Save cache", lambda: net.save(network_cache_dir(settings)))
    return net.with_profile(settings.profile)


def cache_status(settings: Settings, source: str | None = None) -> str:
    """``"fresh"``, ``"missing"`` or ``"stale"`` for the cached network."""
    meta = read_meta(network_cache_dir(settings))
    if meta is None:
        return "missing"
    source = source or settings.network_source
    if meta.get("source") != source or meta.get("checksum") != input_checksum(settings, source):
        return "stale"
    return "fresh"


def load_network(
    settings: Settings, profile: str | None = None, rebuild: bool = True, progress: bool = False
) -> RoadNetwork:
    """Load the cached network, rebuilding it when missing or stale.

    Parameters
    ----------
    settings : Settings
    profile : str, optional
        Speed profile; defaults to ``settings.profile``.
    rebuild : bool
        Rebuild a missing or stale cache (True) or raise :class:`StaleNetworkError` (False).
    progress : bool
        Progress display while rebuilding.

    Returns
    -------
    RoadNetwork
        With its snap index built.
    """
    profile = profile or settings.profile
    status = cache_status(settings) if settings.network_source != "overpass" else _overpass_status(settings)
    if status != "fresh":
        if not rebuild:
            raise StaleNetworkError(
                f"The compiled network in {network_cache_dir(settings)} is {status}; run `asih prepare-network`."
            )
        net = prepare_network(settings, progress=progress)
    else:
        net = RoadNetwork.load(network_cache_dir(settings))
    net = net.with_profile(profile)
    build_snap_index(net)
    return net


def _overpass_status(settings: Settings) -> str:
    """Overpass downloads have no file to hash: a cache of the right source is trusted."""
    meta = read_meta(network_cache_dir(settings))
    if meta is None:
        return "missing"
    return "fresh" if meta.get("source") == "overpass" else "stale"


def describe(settings: Settings) -> str:
    """A one-line JSON description of the cached network (for the CLI)."""
    meta = read_meta(network_cache_dir(settings)) or {}
    keep = ("source", "n_nodes", "n_edges", "profile", "checksum")
    return json.dumps({k: meta.get(k) for k in keep} | {"status": cache_status(settings)})
