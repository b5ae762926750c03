import numpy as np
import shapely

from routing.snapping import snap, snap_many
from tests.routing.conftest import metric

BESIDE_ESSINGELEDEN = (59.3245, 18.0035)  # on Lilla Essingen, under the E4 viaduct


def test_motorway_is_never_a_target(county_net):
    x, y = metric(*BESIDE_ESSINGELEDEN)
    nearest_any = int(np.argmin(shapely.distance(county_net.edge_geometries(), shapely.Point(x, y))))
    assert county_net.edge_class[nearest_any] == "motorway"  # the test point really is beside E4
    s = snap(county_net, x, y)
    assert county_net.edge_class[s.edge] not in county_net.snap_exclude
    assert s.distance_m < 50 and not s.far


def test_snap_geometry(county_net):
    x, y = metric(59.3340, 18.0630)  # Norrmalm
    s = snap(county_net, x, y)
    line = county_net.edge_geometries()[s.edge]
    assert 0.0 <= s.fraction <= 1.0
    assert np.hypot(s.x - x, s.y - y) == np.float64(s.distance_m) or abs(np.hypot(s.x - x, s.y - y) - s.distance_m) < 1e-6
    assert line.distance(shapely.Point(s.x, s.y)) < 1e-6


def test_snap_many_matches_single_and_flags_far(county_net):
    pts = [metric(59.3340, 18.0630), metric(59.2790, 18.3000), metric(59.60, 19.40)]  # last: open sea
    xs, ys = np.array(pts).T
    many = snap_many(county_net, xs, ys)
    assert len(many) == 3
    for i, (x, y) in enumerate(pts):
        one = snap(county_net, x, y)
        assert one.edge == many.edge[i] and abs(one.fraction - many.fraction[i]) < 1e-12
    assert list(many.far) == [False, False, True]
