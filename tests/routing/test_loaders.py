import networkx as nx
import numpy as np
import osmium
import pytest

from core.settings import METRIC_CRS
from routing.loaders import load_graph, network_path, normalise_graph

RAW_OSM = "stockholm-ostermalm-sample-2020.osm"


def _check_common(G: nx.MultiDiGraph, source: str) -> None:
    assert G.graph["crs"] == METRIC_CRS
    assert G.graph["source"] == source
    xs = np.array([d["x"] for _, d in G.nodes(data=True)])
    ys = np.array([d["y"] for _, d in G.nodes(data=True)])
    # Stockholm County in SWEREF 99 TM.
    assert 560_000 < xs.min() and xs.max() < 760_000
    assert 6_500_000 < ys.min() and ys.max() < 6_700_000
    for _, _, d in G.edges(data=True):
        assert d["length"] >= 0 and isinstance(d["highway"], str)
        assert d["speed_kph"] > 0 and d["travel_time"] >= 0
        assert d["ferry"] is False
        assert d["travel_time"] == pytest.approx(d["length"] / (d["speed_kph"] / 3.6))


def test_matsim_county(matsim_graph):
    G = matsim_graph
    assert len(G) == 34_972
    assert G.number_of_edges() == 80_866
    _check_common(G, "matsim")
    classes = {d["highway"] for _, _, d in G.edges(data=True)}
    assert {"motorway", "motorway_link", "residential", "tertiary"} <= classes
    assert nx.is_strongly_connected(G)


def test_osmnx_files(inner_graph):
    G = inner_graph
    assert len(G) == 6_974
    assert G.number_of_edges() == 15_021
    _check_common(G, "osmnx-files")
    u, v, d = next((u, v, d) for u, v, d in G.edges(data=True) if "geometry" in d)
    start = d["geometry"].coords[0]
    assert min(np.hypot(start[0] - G.nodes[n]["x"], start[1] - G.nodes[n]["y"]) for n in (u, v)) < 1.0
    names = {d.get("name") for _, _, d in G.edges(data=True)}
    assert "Sveavägen" in names


@pytest.fixture(scope="module")
def xml_graph(settings):
    """The OSM XML sample loaded once (``test_osm_xml_sample`` checks it, ``test_pbf_matches_xml`` compares with it;
    neither changes it)."""
    return load_graph(settings, "osm-xml")


def test_osm_xml_sample(xml_graph):
    G = xml_graph
    _check_common(G, "osm-xml")
    classes = {d["highway"] for _, _, d in G.edges(data=True)}
    assert classes <= {"residential", "tertiary", "unclassified", "service", "secondary", "tertiary_link",
                       "living_street", "primary"}
    assert "footway" not in classes
    assert 200 < len(G) < 400


def test_pbf_matches_xml(settings, xml_graph, tmp_path):
    pbf = tmp_path / "sample.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        for obj in osmium.FileProcessor(str(settings.raw(RAW_OSM))):
            writer.add(obj)
    from_pbf = load_graph(settings, "pbf", path=pbf)
    from_xml = xml_graph
    _check_common(from_pbf, "pbf")
    assert len(from_pbf) == len(from_xml)
    assert from_pbf.number_of_edges() == from_xml.number_of_edges()


def test_default_paths_and_errors(settings):
    assert network_path(settings, "matsim").name == "stockholm-county-matsim-network-2014.xml.gz"
    assert network_path(settings, "overpass") is None
    with pytest.raises(ValueError, match="Unknown network source"):
        load_graph(settings, "shapefile")
    with pytest.raises(FileNotFoundError, match="ASIH_NETWORK_FILE"):
        load_graph(settings, "pbf")


def test_ferry_edge_gets_fixed_time(model):
    G = nx.MultiDiGraph(crs=METRIC_CRS)
    G.add_node(1, x=670_000.0, y=6_580_000.0)
    G.add_node(2, x=671_000.0, y=6_580_000.0)
    G.add_edge(1, 2, length=1000.0, highway="ferry", ferry=True, duration="00:15")
    G = normalise_graph(G, "test", model)
    d = G.edges[1, 2, 0]
    assert d["travel_time"] == 900.0 + model.ferry_wait_s
    assert d["highway"] == "ferry"
