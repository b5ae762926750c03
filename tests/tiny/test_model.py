"""The tiny model (``tests/tiny/model.py``) is small, real and a faithful part of the county's (EPSG:3006)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import shapely
from scipy.sparse.csgraph import connected_components, dijkstra

from core.crs import to_metric
from core.settings import PROJECT_ROOT
from routing.network import RoadNetwork
from routing.prepare import network_cache_dir
from tests.tiny.model import BOX_WGS84, PROFILE, UNITS
from tests.tiny.reference import with_point

FJALLGATAN = (59.3148, 18.0843)  # Fjällgatan 44, Södermalm: area 4 (tests/conftest.py KNOWN_PLACES)
CENTRALEN = (59.3310, 18.0590)  # Stockholm Central, Norrmalm: area 5


@pytest.fixture(scope="module")
def county_net(settings):
    """The county network of the project's prepared cache (``asih prepare``), in the tiny model's profile."""
    return RoadNetwork.load(network_cache_dir(settings), profile=PROFILE)


def test_it_is_small_and_lies_in_its_box(tiny):
    net = tiny.network
    assert 300 <= net.n_nodes <= 1000 and net.n_edges >= net.n_nodes
    assert shapely.contains_xy(tiny.box.buffer(1e-6), net.node_x, net.node_y).all()
    assert net.crs == "EPSG:3006" and net.profile == PROFILE and net.source == "matsim"
    n_parts, _ = connected_components(net.csr, directed=True, connection="strong")
    assert n_parts == 1  # every node reaches every other: no dead end left by the cut


def test_it_is_built_from_files_outside_the_repository(tiny, settings):
    s = tiny.settings
    for path in (s.data_dir, s.cache_dir, s.areas_file, s.providers_file):
        assert not path.resolve().is_relative_to(PROJECT_ROOT), path
    assert s.speeds_file == settings.speeds_file  # the project's speeds, not a copy
    assert s.registry_url != settings.registry_url  # a live registry of its own


def test_its_roads_are_the_countys(tiny, county_net):
    """Same nodes, coordinates and link times as the county's network: cut, not re-made."""
    net = tiny.network
    index = {int(i): k for k, i in enumerate(county_net.node_id)}
    at = np.array([index[int(i)] for i in net.node_id])
    assert np.array_equal(county_net.node_x[at], net.node_x) and np.array_equal(county_net.node_y[at], net.node_y)
    def links(n: RoadNetwork) -> dict[tuple[int, int], list[float]]:
        out: dict[tuple[int, int], list[float]] = {}
        for u, v, t in zip(n.node_id[n.edge_u], n.node_id[n.edge_v], n.edge_time_s, strict=True):
            out.setdefault((int(u), int(v)), []).append(float(t))
        return {k: sorted(ts) for k, ts in out.items()}

    ours, whole = links(net), links(county_net)
    for pair, times in ours.items():  # every link between two kept nodes is kept, parallel links included
        assert times == pytest.approx(whole[pair]), pair


def test_a_part_is_never_faster_than_the_whole(tiny, county_net):
    """Drive times inside the cut are at least the county's between the same nodes (fewer roads, never faster),
    and equal for most nodes near the source."""
    net = tiny.network
    index = {int(i): k for k, i in enumerate(county_net.node_id)}
    at = np.array([index[int(i)] for i in net.node_id])
    source = int(np.argmin(np.hypot(net.node_x - net.node_x.mean(), net.node_y - net.node_y.mean())))
    ours = dijkstra(net.csr, indices=source)
    whole = dijkstra(county_net.csr, indices=at[source])[at]
    assert np.isfinite(ours).all()
    assert (ours >= whole - 1e-6).all()
    assert np.mean(np.isclose(ours, whole)) > 0.5


def test_two_areas_with_their_real_border(tiny, locator):
    assert list(tiny.areas.areas["id"]) == [4, 5]
    assert set(tiny.areas.units["unit"]) >= {"Södermalm", "Norrmalm"}
    assert tiny.locator.locate(*FJALLGATAN).area_id == 4
    assert tiny.locator.locate(*CENTRALEN).area_id == 5
    # Everywhere on land in the box, away from its edge, the tiny model gives the county's area.
    s, w, n, e = BOX_WGS84
    lats, lons = np.meshgrid(np.linspace(s, n, 12)[1:-1], np.linspace(w, e, 12)[1:-1])
    checked = 0
    for lat, lon in zip(lats.ravel(), lons.ravel()):
        county = locator.locate(lat, lon)
        if county.border_warning is None and tiny.locator.distance_to_land_m(lat, lon) == 0:
            assert tiny.locator.locate(lat, lon).area_id == county.area_id, (lat, lon)
            checked += 1
    assert checked >= 20


def test_two_units_with_one_base_each(tiny):
    units = {u.id: u for u in tiny.registry.units}
    assert set(units) == set(UNITS)
    assert units["ersta-diakoni"].areas == (4, 5) and units["rehabhotellet"].areas == (5,)
    assert all(len(u.bases) == 1 for u in units.values())
    for unit, base in tiny.registry.bases():
        assert tiny.box.contains(shapely.Point(*map(float, to_metric(base.lat, base.lon)))), unit.id
    assert tiny.trees.times.shape == (2, tiny.network.n_nodes) and tiny.trees.profile == PROFILE
    assert (tiny.trees.snaps.distance_m < 100).all()


def test_drive_times_are_finite_and_match_networkx(tiny):
    net, trees = tiny.network, tiny.trees
    G = net.to_networkx()
    for row in range(len(trees.bases)):
        s = trees.snaps[row]
        ref = nx.single_source_dijkstra_path_length(with_point(G, net, s, "base"), "base", weight="travel_time")
        assert np.isfinite(trees.times[row]).all()
        assert np.max(np.abs(trees.times[row] - np.array([ref[i] for i in range(net.n_nodes)]))) < 1e-6


def test_drive_times_are_plausible(tiny):
    """No faster than the crow flies at the network's top speed; a 2 × 3 km box is crossed within 10 minutes."""
    net, trees = tiny.network, tiny.trees
    top_mps = net.edge_speed_kph.max() / 3.6
    for row in range(len(trees.bases)):
        s = trees.snaps[row]
        crow = np.hypot(net.node_x - s.x, net.node_y - s.y)
        assert (trees.times[row] >= crow / top_mps - 1e-6).all()
        assert 60 < trees.times[row].max() < 600


def test_its_service_answers_a_lookup(tiny_service, tiny):
    """``Service.load`` of the tiny settings: its own geocoder index, live registry and base trees."""
    answer = tiny_service.eligibility.at(*FJALLGATAN)
    assert answer.location.area_id == 4
    assert [a.unit.id for a in answer.eligible] == ["ersta-diakoni"]  # the one unit approved for area 4
    assert answer.eligible[0].within_limit and answer.eligible[0].drive_time_s < 60  # Ersta's entrance is here
    [other] = answer.reachable_not_approved
    assert other.unit.id == "rehabhotellet" and not other.approved and other.within_limit
    assert set(tiny_service.approvals_on().as_dict()) == set(UNITS)  # its own registry, not the tests' shared one
    text = tiny_service.lookup_text("Fjällgatan 44, Stockholm")
    assert text["area"]["status"] == "certain" and text["area"]["id"] == 4
    assert [u["id"] for u in text["eligible"]] == ["ersta-diakoni"]
