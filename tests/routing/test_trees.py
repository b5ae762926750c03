"""Drive-time trees on the tiny real model (``tiny``), checked against networkx's Dijkstra on the same graph."""

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
from tests.tiny.reference import with_point

BASE = (59.3150, 18.0850)  # Ersta sjukhus, Södermalm
PATIENT = (59.3310, 18.0590)  # Stockholm Central, Norrmalm
BLASIEHOLMEN = (59.3300, 18.0780)


@pytest.fixture(scope="module")
def tiny_nx(tiny):
    return tiny.network.to_networkx()


def test_node_tree_matches_networkx(tiny, tiny_nx):
    net = tiny.network
    source = nearest_node(net, *metric(*BASE))
    ours = node_tree(net, source, limit_s=120)
    ref = nx.single_source_dijkstra_path_length(tiny_nx, source, cutoff=120, weight="travel_time")
    reached = np.flatnonzero(np.isfinite(ours))
    assert set(reached.tolist()) == set(ref)
    assert np.max(np.abs(ours[reached] - np.array([ref[i] for i in reached]))) < 1e-6
    assert 50 < len(reached) < net.n_nodes  # the limit cuts the tree


def test_point_tree_and_drive_time_match_networkx(tiny, tiny_nx):
    net = tiny.network
    a, b = metric(*BASE), metric(*PATIENT)
    sa, sb = snap(net, *a), snap(net, *b)
    H = with_point(with_point(tiny_nx, net, sa, "A"), net, sb, "B")
    ref = nx.single_source_dijkstra_path_length(H, "A", weight="travel_time")
    tree = drive_time_tree(net, sa)
    nodes = np.arange(net.n_nodes)
    assert np.max(np.abs(tree - np.array([ref[i] for i in nodes]))) < 1e-6
    seconds, from_m, to_m = drive_time(net, a, b)
    assert abs(seconds - ref["B"]) < 1e-6
    assert 120 < seconds < 600  # Ersta → Centralen, 2.2 km apart across Slussen, is a 2-10 minute drive
    assert from_m == pytest.approx(sa.distance_m) and to_m == pytest.approx(sb.distance_m)


def test_same_road(tiny):
    net = tiny.network
    x, y = metric(*PATIENT)
    s = snap(net, x, y)
    e = s.edge
    line = net.edge_geometries()[e]
    further = line.interpolate(min(1.0, s.fraction + 0.2), normalized=True)
    target = snap_many(net, [further.x], [further.y])
    assert target.edge[0] in (e, net.edge_rev[e])
    tree = drive_time_tree(net, s)
    t = times_to_snaps(net, tree, target, sources=[s])[0]
    g = target.fraction[0] if target.edge[0] == e else 1 - target.fraction[0]
    assert t == pytest.approx(abs(g - s.fraction) * net.edge_time_s[e], abs=1e-6)
    assert t <= times_to_snaps(net, tree, target)[0]


def test_many_sources_and_limit(tiny):
    net = tiny.network
    pts = np.array([metric(*BASE), metric(*PATIENT), metric(*BLASIEHOLMEN)])
    snaps = snap_many(net, pts[:, 0], pts[:, 1])
    trees = drive_time_trees(net, snaps, limit_s=1800)
    assert trees.shape == (3, net.n_nodes)
    for i in range(3):
        assert np.array_equal(trees[i], drive_time_tree(net, snaps[i], 1800))
    assert np.nanmax(np.where(np.isfinite(trees), trees, np.nan)) <= 1800
    times = times_to_snaps(net, trees, snaps, sources=snaps)
    assert times.shape == (3, 3) and np.allclose(np.diag(times), 0.0)
    assert np.isfinite(times).all()  # all three within 30 minutes of each other at free flow
    short = times_to_snaps(net, drive_time_trees(net, snaps, limit_s=120), snaps, sources=snaps)
    assert np.isinf(short[0, 2]) and np.isinf(short[0, 1])  # not within 2 minutes
    assert short[0, 0] == 0.0
    # A bounded tree answers exactly the times within its bound and nothing beyond.
    assert np.array_equal(short, np.where(times <= 120, times, np.inf))
