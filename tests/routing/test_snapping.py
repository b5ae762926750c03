"""Snapping on the tiny real model (``tiny``: Riddarfjärden's shores, EPSG:3006)."""

import numpy as np
import shapely

from routing.snapping import snap, snap_many
from tests.routing.conftest import metric

BESIDE_SODERLEDEN = (59.3200, 18.0686)  # Södermalm, beside Söderleden (a motorway in the MATSim network)
NORRMALM = (59.3340, 18.0630)


def test_motorway_is_never_a_target(tiny):
    net = tiny.network
    x, y = metric(*BESIDE_SODERLEDEN)
    nearest_any = int(np.argmin(shapely.distance(net.edge_geometries(), shapely.Point(x, y))))
    assert net.edge_class[nearest_any] == "motorway"  # the test point really is beside Söderleden
    s = snap(net, x, y)
    assert net.edge_class[s.edge] not in net.snap_exclude
    assert s.distance_m < 50 and not s.far


def test_snap_geometry(tiny):
    net = tiny.network
    x, y = metric(*NORRMALM)
    s = snap(net, x, y)
    line = net.edge_geometries()[s.edge]
    assert 0.0 <= s.fraction <= 1.0
    assert abs(np.hypot(s.x - x, s.y - y) - s.distance_m) < 1e-6
    assert line.distance(shapely.Point(s.x, s.y)) < 1e-6


def test_snap_many_matches_single_and_flags_far(tiny):
    # Norrmalm and Södermalm are on the tiny model's roads; Saltsjöbaden is 15 km beyond them.
    pts = [metric(*NORRMALM), metric(59.3148, 18.0843), metric(59.2790, 18.3000)]
    xs, ys = np.array(pts).T
    many = snap_many(tiny.network, xs, ys)
    assert len(many) == 3
    for i, (x, y) in enumerate(pts):
        one = snap(tiny.network, x, y)
        assert one.edge == many.edge[i] and abs(one.fraction - many.fraction[i]) < 1e-12
    assert list(many.far) == [False, False, True]
