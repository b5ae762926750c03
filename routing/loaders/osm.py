"""OpenStreetMap sources → OSMnx graphs (still in their own CRS; :mod:`routing.loaders` normalises).

- ``osmnx-files``: an OSMnx graph saved as shapefiles (``nodes.*``, ``edges.*``), optionally in a
  ``.tar.gz``; read with geopandas and rebuilt with ``ox.graph_from_gdfs``.
- ``osm-xml``: an OSM XML file, ``ox.graph_from_xml``; non-drivable ways are dropped afterwards.
- ``pbf``: an ``.osm.pbf`` (e.g. Geofabrik's Sweden extract): pyosmium keeps the drivable ways (and
  car ferries) plus the nodes they reference, writes OSM XML to a temporary directory, then ``osm-xml``.
- ``overpass``: ``ox.graph_from_polygon(polygon, network_type="drive")`` (needs internet).
"""

from __future__ import annotations

import ast
import contextlib
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import geopandas as gpd
import networkx as nx
import osmnx as ox
from shapely.geometry.base import BaseGeometry

from core.settings import WGS84

EXTRA_WAY_TAGS = ["motor_vehicle", "motorcar", "route", "duration"]
"""OSM way tags kept beyond OSMnx's defaults (drivability and ferries)."""

_NO = {"no", "private"}


@contextlib.contextmanager
def _way_tags() -> Iterator[None]:
    saved = list(ox.settings.useful_tags_way)
    ox.settings.useful_tags_way = list(dict.fromkeys(saved + EXTRA_WAY_TAGS))
    try:
        yield
    finally:
        ox.settings.useful_tags_way = saved


def graph_from_osmnx_files(path: str | Path) -> nx.MultiDiGraph:
    """Rebuild an OSMnx graph saved as ``nodes``/``edges`` shapefiles (directory or ``.tar.gz``).

    Parameters
    ----------
    path : str or Path
        A directory holding ``nodes.shp`` and ``edges.shp``, or a tar archive of them.

    Returns
    -------
    nx.MultiDiGraph
        In the files' CRS (EPSG:4326 for OSMnx's ``save_graph_shapefile``).
    """
    path = Path(path)
    if path.is_dir():
        return _graph_from_shp_dir(path)
    with tempfile.TemporaryDirectory(prefix="asih-osmnx-") as tmp:
        with tarfile.open(path) as tar:
            tar.extractall(tmp, filter="data")
        shp = next(Path(tmp).rglob("nodes.shp"), None)
        if shp is None:
            raise FileNotFoundError(f"{path} holds no nodes.shp/edges.shp (an OSMnx shapefile export).")
        return _graph_from_shp_dir(shp.parent)


def _graph_from_shp_dir(folder: Path) -> nx.MultiDiGraph:
    nodes = gpd.read_file(folder / "nodes.shp")
    edges = gpd.read_file(folder / "edges.shp")
    nodes["osmid"] = nodes["osmid"].astype("int64")
    nodes = nodes.set_index("osmid")
    nodes["x"] = nodes.geometry.x
    nodes["y"] = nodes.geometry.y
    for col in ("u", "v", "key"):
        edges[col] = edges[col].astype("int64")
    edges = edges.set_index(["u", "v", "key"])
    for col in ("highway", "maxspeed", "name", "osmid", "lanes", "ref"):
        if col in edges:
            edges[col] = edges[col].map(_literal)
    edges["length"] = edges["length"].astype(float)
    return ox.graph_from_gdfs(nodes, edges, graph_attrs={"crs": str(nodes.crs)})


def _literal(value: object) -> object:
    """Shapefiles store lists as their Python repr ("['50', '70']"): restore them."""
    if isinstance(value, str) and value.startswith("["):
        with contextlib.suppress(ValueError, SyntaxError):
            return ast.literal_eval(value)
    return value


def graph_from_osm_xml(path: str | Path, drivable: Sequence[str], service_exclude: Sequence[str]) -> nx.MultiDiGraph:
    """Load the drivable network (and car ferries) of an OSM XML file.

    Parameters
    ----------
    path : str or Path
        ``.osm`` XML file.
    drivable : sequence of str
        ``highway`` values to keep.
    service_exclude : sequence of str
        ``service`` values to drop (parking aisles, private driveways…).

    Returns
    -------
    nx.MultiDiGraph
        Simplified, largest weakly connected component, EPSG:4326.
    """
    with _way_tags():
        G = ox.graph_from_xml(path, simplify=False, retain_all=True)
    keep_cls, drop_service = set(drivable), set(service_exclude)
    remove = []
    for u, v, k, d in G.edges(keys=True, data=True):
        ferry = d.get("route") == "ferry" and (d.get("motor_vehicle") == "yes" or d.get("motorcar") == "yes")
        if ferry:
            d["ferry"] = True
            d.setdefault("highway", "ferry")
            continue
        if (
            d.get("highway") not in keep_cls
            or d.get("access") in _NO
            or d.get("motor_vehicle") in _NO
            or d.get("motorcar") in _NO
            or d.get("area") == "yes"
            or d.get("service") in drop_service
        ):
            remove.append((u, v, k))
    G.remove_edges_from(remove)
    G.remove_nodes_from([n for n, deg in G.degree() if deg == 0])
    if len(G) == 0:
        raise ValueError(f"{path} holds no drivable roads.")
    G = ox.truncate.largest_component(G, strongly=False)
    return ox.simplify_graph(G)


def pbf_to_osm_xml(pbf: str | Path, out_xml: str | Path, drivable: Sequence[str]) -> Path:
    """Keep drivable ways and car ferries of an ``.osm.pbf`` (with their nodes) and write them as OSM XML.

    Parameters
    ----------
    pbf : str or Path
        Input ``.osm.pbf`` (any format pyosmium reads).
    out_xml : str or Path
        Output ``.osm`` file (overwritten).
    drivable : sequence of str
        ``highway`` values to keep.

    Returns
    -------
    Path
        ``out_xml``.
    """
    import osmium

    filters = [("highway", c) for c in drivable]
    with osmium.BackReferenceWriter(str(out_xml), ref_src=str(pbf), overwrite=True) as writer:
        for way in osmium.FileProcessor(str(pbf), osmium.osm.WAY).with_filter(osmium.filter.TagFilter(*filters)):
            writer.add(way)
        for way in osmium.FileProcessor(str(pbf), osmium.osm.WAY).with_filter(
            osmium.filter.TagFilter(("route", "ferry"))
        ):
            writer.add(way)
    return Path(out_xml)


def graph_from_pbf(path: str | Path, drivable: Sequence[str], service_exclude: Sequence[str]) -> nx.MultiDiGraph:
    """Load the drivable network of an ``.osm.pbf`` (pyosmium filter → OSM XML → :func:`graph_from_osm_xml`)."""
    with tempfile.TemporaryDirectory(prefix="asih-pbf-") as tmp:
        xml = pbf_to_osm_xml(path, Path(tmp) / "drive.osm", drivable)
        return graph_from_osm_xml(xml, drivable, service_exclude)


def graph_from_overpass(polygon_wgs84: BaseGeometry) -> nx.MultiDiGraph:
    """Download the drive network inside a polygon from Overpass (needs internet; untested offline).

    Parameters
    ----------
    polygon_wgs84 : shapely Polygon or MultiPolygon
        Area in EPSG:4326 (lon, lat), e.g. the county.

    Returns
    -------
    nx.MultiDiGraph
        OSMnx ``network_type="drive"`` graph, EPSG:4326.
    """
    with _way_tags():
        return ox.graph_from_polygon(polygon_wgs84, network_type="drive", truncate_by_edge=True)


def county_polygon_wgs84(municipalities: str | Path, county_code: str) -> BaseGeometry:
    """Union of a county's municipalities (Lantmäteriet ``LAN_KOD``) as a WGS84 polygon."""
    gdf = gpd.read_file(municipalities)
    gdf = gdf[gdf["LAN_KOD"].astype(str).str.zfill(2) == county_code]
    if gdf.empty:
        raise ValueError(f"No municipality with LAN_KOD == {county_code!r} in {municipalities}.")
    return gdf.to_crs(WGS84).union_all()


__all__ = [
    "county_polygon_wgs84",
    "graph_from_osm_xml",
    "graph_from_osmnx_files",
    "graph_from_overpass",
    "graph_from_pbf",
    "pbf_to_osm_xml",
]
