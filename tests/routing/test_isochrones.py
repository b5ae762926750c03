import numpy as np
import shapely

from routing.isochrones import isochrone, reached_lines, to_geojson
from routing.snapping import snap
from routing.trees import drive_time_tree
from tests.routing.conftest import metric

BASE = (59.3340, 18.0630)


def test_polygon_contains_base_and_reached_nodes(county_net):
    s = snap(county_net, *metric(*BASE))
    tree = drive_time_tree(county_net, s, limit_s=900)
    poly = isochrone(county_net, tree, 600, origin=s)
    assert poly.is_valid and poly.geom_type in ("Polygon", "MultiPolygon")
    assert poly.contains(shapely.Point(metric(*BASE)))
    reached = np.flatnonzero(tree <= 600)
    assert shapely.contains_xy(poly, county_net.node_x[reached], county_net.node_y[reached]).all()
    far = np.flatnonzero(np.isinf(tree))[:1000]
    assert not shapely.contains_xy(poly, county_net.node_x[far], county_net.node_y[far]).any()


def test_partial_edges_end_at_the_limit(county_net):
    s = snap(county_net, *metric(*BASE))
    tree = drive_time_tree(county_net, s)
    small, large = reached_lines(county_net, tree, 300), reached_lines(county_net, tree, 600)
    assert 0 < small.length < large.length
    # Every vertex of the 5-minute network lies on the 10-minute network.
    points = shapely.points(shapely.get_coordinates(small))
    _, gap = shapely.STRtree(shapely.get_parts(large)).query_nearest(points, return_distance=True)
    assert gap.max() < 0.01
    bigger = isochrone(county_net, tree, 600, origin=s)
    assert bigger.area > isochrone(county_net, tree, 300, origin=s).area


def test_holes_filled_and_geojson(county_net):
    s = snap(county_net, *metric(*BASE))
    tree = drive_time_tree(county_net, s, limit_s=900)
    open_holes = isochrone(county_net, tree, 900, max_hole_m2=0)
    filled = isochrone(county_net, tree, 900, max_hole_m2=1e12)
    assert sum(len(p.interiors) for p in shapely.get_parts(filled)) == 0
    assert filled.area >= open_holes.area
    gj = to_geojson(filled)
    lon, lat = np.array(gj["coordinates"][0] if gj["type"] == "Polygon" else gj["coordinates"][0][0]).T
    assert 17.5 < lon.min() and lon.max() < 18.7 and 59.0 < lat.min() and lat.max() < 59.7
