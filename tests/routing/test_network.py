"""The compiled network and its cache, on the tiny real model (``tiny``: the county's MATSim network cut to
Riddarfjärden's shores, EPSG:3006); the county's own counts are checked in ``test_loaders.py``."""

import shutil

import numpy as np
import pytest

from routing.network import RoadNetwork
from routing.prepare import (
    StaleNetworkError,
    cache_status,
    load_network,
    network_cache_dir,
    prepare_network,
)


def test_arrays(tiny):
    net = tiny.network
    assert (net.n_nodes, net.n_edges) == tiny.cut  # every node and car link of its file, nothing else
    assert net.edge_u.dtype == np.int32 and net.node_x.dtype == np.float64
    assert net.csr.shape == (net.n_nodes, net.n_nodes)
    assert np.all(net.geom_offsets[1:] - net.geom_offsets[:-1] >= 2)
    first = net.geom_xy[net.geom_offsets[:-1]]
    assert np.allclose(first[:, 0], net.node_x[net.edge_u]) and np.allclose(first[:, 1], net.node_y[net.edge_u])
    rev = net.edge_rev
    two_way = np.flatnonzero(rev >= 0)
    assert len(two_way) > net.n_edges // 2
    assert np.all(net.edge_u[rev[two_way]] == net.edge_v[two_way])
    assert np.all(rev[rev[two_way]] == two_way)


def test_csr_keeps_fastest_parallel_edge(tiny):
    net = tiny.network
    key = net.edge_u.astype(np.int64) * net.n_nodes + net.edge_v
    uniq, counts = np.unique(key[net.edge_u != net.edge_v], return_counts=True)
    assert net.csr.nnz == len(uniq)
    dup = uniq[counts > 1][0]
    u, v = divmod(int(dup), net.n_nodes)
    assert net.csr[u, v] == net.edge_time_s[key == dup].min()


def test_profiles_share_arrays(tiny):
    net = tiny.network
    rush = net.with_profile("rush_hour")
    assert rush.edge_length_m is net.edge_length_m
    assert np.all(rush.edge_time_s >= net.edge_time_s)
    assert rush.edge_time_s.sum() > 1.1 * net.edge_time_s.sum()
    with pytest.raises(ValueError, match="Unknown speed profile"):
        net.with_profile("sunday")


def test_cache_round_trip(tiny, tmp_path):
    settings = tiny.settings.model_copy(update={"cache_dir": tmp_path / "cache"})
    built = prepare_network(settings, progress=False)
    assert cache_status(settings) == "fresh"
    loaded = load_network(settings, rebuild=False)
    for name in ("node_x", "node_id", "edge_u", "edge_v", "edge_time_s", "edge_class", "edge_rev", "geom_xy"):
        assert np.array_equal(getattr(loaded, name), getattr(built, name)), name
    assert (loaded.csr != built.csr).nnz == 0
    assert loaded.checksum == built.checksum and loaded.source == "matsim"


def test_stale_cache_detected(tiny, tmp_path):
    speeds = tmp_path / "speeds.yaml"
    shutil.copy(tiny.settings.speeds_file, speeds)
    small = tiny.settings.model_copy(update={"cache_dir": tmp_path / "cache", "speeds_file": speeds})
    with pytest.raises(StaleNetworkError, match="missing"):
        load_network(small, rebuild=False)
    net = load_network(small)
    assert cache_status(small) == "fresh"
    speeds.write_text(speeds.read_text().replace("residential: 40", "residential: 35"))
    assert cache_status(small) == "stale"
    with pytest.raises(StaleNetworkError, match="stale"):
        load_network(small, rebuild=False)
    rebuilt = load_network(small)
    assert rebuilt.checksum != net.checksum
    assert RoadNetwork.load(network_cache_dir(small)).checksum == rebuilt.checksum
