import networkx as nx
import numpy as np
import pytest

from routing.snapping import nearest_node, snap, snap_many
from routing.trees import (
    drive_time,
    drive_time_tree,
    drive_time_trees,
    node_tree,
    times_to_snaps,
)
from tests.routing.conftest import metric

BASE = (59.3070, 18.1600)  # Nacka
PATIENT = (59.3450, 18.0300)  # Vasastan


@pytest.fixture(scope="module")
def county_nx(county_net):
    return county_net.to_networkx()


def _with_point(G: nx.MultiDiGraph, net, s, name) -> nx.MultiDiGraph:
    """networkx reference: the snapped point as a real node splitting its edge(s)."""
    H = G.copy()
    e, f, rev = s.edge, s.fraction, net.edge_rev[s.edge]
    u, v = int(net.edge_u[e]), int(net.edge_v[e])
    H.add_edge(name, v, travel_time=(1 - f) * net.edge_time_s[e])
    H.add_edge(u, name, travel_time=f * net.edge_time_s[e])
    if rev >= 0:
        H.add_edge(name, u, travel_time=f * net.edge_time_s[rev])
        H.add_edge(v, name, travel_time=(1 - f) * net.edge_time_s[rev])
    return H


def test_node_tree_matches_networkx(county_net, county_nx):
    source = nearest_node(county_net, *metric(*BASE))
    ours = node_tree(county_net, source, limit_s=1800)
    ref = nx.single_source_dijkstra_path_length(county_nx, source, cutoff=1800, weight="travel_time")
    reached = np.flatnonzero(np.isfinite(ours))
    assert set(reached.tolist()) == set(ref)
    assert np.max(np.abs(ours[reached] - np.array([ref[i] for i in reached]))) < 1e-6
    assert 1000 < len(reached) < county_net.n_nodes


def test_point_tree_and_drive_time_match_networkx(county_net, county_nx):
    a, b = metric(*BASE), metric(*PATIENT)
    sa, sb = snap(county_net, *a), snap(county_net, *b)
    H = _with_point(_with_point(county_nx, county_net, sa, "A"), county_net, sb, "B")
    ref = nx.single_source_dijkstra_path_length(H, "A", weight="travel_time")
    tree = drive_time_tree(county_net, sa)
    nodes = np.arange(county_net.n_nodes)
    assert np.max(np.abs(tree - np.array([ref[i] for i in nodes]))) < 1e-6
    seconds, from_m, to_m = drive_time(county_net, a, b)
    assert abs(seconds - ref["B"]) < 1e-6
    assert 600 < seconds < 1800  # Nacka → Vasastan is a 10-30 minute drive
    assert from_m == pytest.approx(sa.distance_m) and to_m == pytest.approx(sb.distance_m)


def test_same_road(county_net):
    x, y = metric(*PATIENT)
    s = snap(county_net, x, y)
    e = s.edge
    line = county_net.edge_geometries()[e]
    further = line.interpolate(min(1.0, s.fraction + 0.2), normalized=True)
    target = snap_many(county_net, [further.x], [further.y])
    assert target.edge[0] in (e, county_net.edge_rev[e])
    tree = drive_time_tree(county_net, s)
    t = times_to_snaps(county_net, tree, target, sources=[s])[0]
    g = target.fraction[0] if target.edge[0] == e else 1 - target.fraction[0]
    assert t == pytest.approx(abs(g - s.fraction) * county_net.edge_time_s[e], abs=1e-6)
    assert t <= times_to_snaps(county_net, tree, target)[0]


def test_many_sources_and_limit(county_net):
    pts = np.array([metric(*BASE), metric(*PATIENT), metric(59.1920, 17.6340)])
    snaps = snap_many(county_net, pts[:, 0], pts[:, 1])
    trees = drive_time_trees(county_net, snaps, limit_s=1800)
    assert trees.shape == (3, county_net.n_nodes)
    for i in range(3):
        assert np.array_equal(trees[i], drive_time_tree(county_net, snaps[i], 1800))
    assert np.nanmax(np.where(np.isfinite(trees), trees, np.nan)) <= 1800
    times = times_to_snaps(county_net, trees, snaps, sources=snaps)
    assert times.shape == (3, 3) and np.allclose(np.diag(times), 0.0)
    assert np.isfinite(times).all()  # all three within 30 minutes of each other at free flow
    short = times_to_snaps(county_net, drive_time_trees(county_net, snaps, limit_s=300), snaps, sources=snaps)
    assert np.isinf(short[0, 2]) and np.isinf(short[0, 1])  # not within 5 minutes
    assert short[0, 0] == 0.0
