"""Road-network loaders: every source becomes one OSMnx-style ``nx.MultiDiGraph`` in EPSG:3006.

Sources (``settings.network_source``) and their default file in ``settings.data_dir`` when
``settings.network_file`` is not set:

==============  ==========================================  ===========================================
source          default file                                 reader
==============  ==========================================  ===========================================
``matsim``      ``stockholm-county-matsim-network-2014.xml.gz``  :func:`~routing.loaders.matsim.graph_from_matsim`
``osmnx-files`` ``settings.street_network_file``             :func:`~routing.loaders.osm.graph_from_osmnx_files`
``osm-xml``     ``settings.address_osm_file``                :func:`~routing.loaders.osm.graph_from_osm_xml`
``pbf``         ``stockholm-county.osm.pbf``                 :func:`~routing.loaders.osm.graph_from_pbf`
``overpass``    none (county polygon, see ``polygon_wgs84``)  :func:`~routing.loaders.osm.graph_from_overpass`
==============  ==========================================  ===========================================

Every graph leaves here with ``G.graph["crs"] == "EPSG:3006"``, ``G.graph["source"]``, node ``x``/``y`` (m)
and edge ``length`` (m), ``highway`` (one class string), ``speed_kph``, ``travel_time`` (s, free flow),
``ferry`` (bool), and ``geometry`` (EPSG:3006 LineString) / ``name`` when the source has them.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from shapely.geometry.base import BaseGeometry

from core.settings import COUNTY_CODE, METRIC_CRS, Settings
from routing.speeds import SpeedModel, add_speeds, load_speed_model, road_class

if TYPE_CHECKING:
    import networkx as nx

SOURCES = ("matsim", "osmnx-files", "osm-xml", "pbf", "overpass")
DEFAULT_MATSIM_FILE = "stockholm-county-matsim-network-2014.xml.gz"
DEFAULT_PBF_FILE = "stockholm-county.osm.pbf"


def network_path(settings: Settings, source: str | None = None, path: str | Path | None = None) -> Path | None:
    """The input file of a network source (None for ``overpass``).

    Parameters
    ----------
    settings : Settings
    source : str, optional
        Defaults to ``settings.network_source``.
    path : str or Path, optional
        Explicit file; relative paths are taken inside ``settings.data_dir``.

    Returns
    -------
    Path or None
    """
    source = _verify_source(source or settings.network_source)
    if source == "overpass":
        return None
    if path is None and settings.network_file and source == settings.network_source:
        path = settings.network_file
    if path is None:
        path = {
            "matsim": DEFAULT_MATSIM_FILE,
            "osmnx-files": settings.street_network_file,
            "osm-xml": settings.address_osm_file,
            "pbf": DEFAULT_PBF_FILE,
        }[source]
    path = Path(path)
    return path if path.is_absolute() else settings.raw(str(path))


def _verify_source(source: str) -> str:
    if source not in SOURCES:
        raise ValueError(f"Unknown network source {source!r}; choose one of {', '.join(SOURCES)}.")
    return source


def _verify_file(path: Path, source: str) -> None:
    if not path.exists():
        raise FileNotFoundError(
            f"Network file for source {source!r} not found: {path}. Set ASIH_NETWORK_FILE or ASIH_DATA_DIR."
        )


def load_graph(
    settings: Settings,
    source: str | None = None,
    path: str | Path | None = None,
    polygon_wgs84: BaseGeometry | None = None,
    model: SpeedModel | None = None,
) -> nx.MultiDiGraph:
    """Load a road network from any supported source, normalised to EPSG:3006 with speeds.

    Parameters
    ----------
    settings : Settings
        Data directory, default source/file and the speeds file.
    source : str, optional
        ``"matsim"``, ``"osmnx-files"``, ``"osm-xml"``, ``"pbf"`` or ``"overpass"``; defaults to
        ``settings.network_source``.
    path : str or Path, optional
        Input file; defaults per source (module docstring).
    polygon_wgs84 : shapely geometry, optional
        Area to download for ``overpass`` (EPSG:4326); defaults to the county's municipalities.
    model : SpeedModel, optional
        Defaults to ``settings.speeds_file``.

    Returns
    -------
    nx.MultiDiGraph
        See the module docstring for the guaranteed attributes.
    """
    source = _verify_source(source or settings.network_source)
    model = model or load_speed_model(settings.speeds_file)
    file = network_path(settings, source, path)
    if file is not None:
        _verify_file(file, source)
    # The readers (networkx and pandas; for OSM also OSMnx with scikit-learn and matplotlib, ~1.3 s) are imported
    # only to build a network: no command or server that loads the prepared cache needs them (issue 24).
    if source == "matsim":
        from routing.loaders.matsim import graph_from_matsim

        return normalise_graph(graph_from_matsim(file), source, model)
    from routing.loaders import osm

    if source == "osmnx-files":
        G = osm.graph_from_osmnx_files(file)
    elif source == "osm-xml":
        G = osm.graph_from_osm_xml(file, model.drivable, model.service_exclude)
    elif source == "pbf":
        G = osm.graph_from_pbf(file, model.drivable, model.service_exclude)
    else:
        if polygon_wgs84 is None:
            polygon_wgs84 = osm.county_polygon_wgs84(settings.raw(settings.municipalities_file), COUNTY_CODE)
        G = osm.graph_from_overpass(polygon_wgs84)
    return normalise_graph(G, source, model)


def normalise_graph(G: nx.MultiDiGraph, source: str, model: SpeedModel) -> nx.MultiDiGraph:
    """Project to EPSG:3006 and give every edge the common attributes (module docstring).

    Parameters
    ----------
    G : nx.MultiDiGraph
        Any CRS given in ``G.graph["crs"]``.
    source : str
        Stored in ``G.graph["source"]``.
    model : SpeedModel

    Returns
    -------
    nx.MultiDiGraph
    """
    if str(G.graph.get("crs", METRIC_CRS)).upper() != METRIC_CRS:
        import osmnx as ox  # only for graphs of the OSM sources (see load_graph)

        G = ox.project_graph(G, to_crs=METRIC_CRS)
    G.graph["crs"] = METRIC_CRS
    G.graph["source"] = source
    for _, _, d in G.edges(data=True):
        d["highway"] = "ferry" if d.get("ferry") else road_class(d.get("highway"))
        d["ferry"] = bool(d.get("ferry", False))
        d["length"] = float(d["length"])
        name = d.get("name")
        if isinstance(name, list):
            d["name"] = "; ".join(str(n) for n in name)
        elif name is None or (isinstance(name, float) and math.isnan(name)):
            d.pop("name", None)
    return add_speeds(G, model, "free_flow")


__all__ = ["SOURCES", "load_graph", "network_path", "normalise_graph"]
