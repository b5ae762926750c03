"""Contoured isochrones on small toy networks in EPSG:3006 (exact expectations) and the grid on the county."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import shapely

from core.settings import METRIC_CRS
from routing.compile import compile_network
from routing.contours import contour_bands, isochrone_bands
from routing.snapping import snap
from routing.time_grid import BEYOND_S, contour_grid, time_field
from routing.trees import drive_time_tree, times_to_snaps

X0, Y0 = 670_000.0, 6_580_000.0  # Stockholm, SWEREF 99 TM (m)
PROFILES = {"free_flow": [1.0, {}]}
EXCLUDE = ("motorway", "motorway_link", "trunk_link")


def toy_network(roads: list[tuple[tuple[float, float], tuple[float, float], str, float, bool]]):
    """A compiled network from straight roads ``(start, end, highway, km/h, two_way)`` (offsets in m from X0, Y0)."""
    G = nx.MultiDiGraph(crs=METRIC_CRS, source="toy")
    ids: dict[tuple[float, float], int] = {}
    for a, b, *_ in roads:
        for p in (a, b):
            if p not in ids:
                ids[p] = len(ids)
                G.add_node(ids[p], x=X0 + p[0], y=Y0 + p[1])
    for a, b, cls, kph, two_way in roads:
        length = float(np.hypot(b[0] - a[0], b[1] - a[1]))
        for u, v in ((a, b), (b, a)) if two_way else ((a, b),):
            G.add_edge(ids[u], ids[v], length=length, speed_kph=kph, highway=cls, ferry=False,
                       travel_time=length / (kph / 3.6))
    return compile_network(G, PROFILES, "free_flow", EXCLUDE)


@pytest.fixture(scope="module")
def motorway_net():
    """A local street from the base to a motorway junction; the motorway runs 5 km east past a village street
    that joins nothing (so it is never reached) 450 m north of the motorway."""
    return toy_network([
        ((0, 0), (0, 2000), "residential", 40, True),
        ((0, 0), (5000, 0), "motorway", 110, True),
        ((2000, 450), (5000, 450), "residential", 40, True),
    ])


def test_motorway_reaches_no_verge(motorway_net):
    net = motorway_net
    base = snap(net, X0, Y0 + 1000)
    tree = drive_time_tree(net, base)
    poly = isochrone_bands(net, tree, [600], origins=base)[0]
    # The motorway itself is drawn (a reached road)...
    assert shapely.contains_xy(poly, X0 + np.arange(500, 5000, 250), Y0 + 1).all()
    # ...but the place 250 m beside it is not reached: its own road (the village street) is not.
    place = (X0 + 4000, Y0 + 250)
    s = snap(net, *place)
    assert np.isinf(times_to_snaps(net, tree, [s], sources=[base])[0])
    assert not poly.contains(shapely.Point(place))
    # The village street is unreached and outside, whatever its distance to the reached motorway.
    assert not shapely.contains_xy(poly, X0 + np.arange(2100, 5000, 200), Y0 + 450).any()


def test_places_take_the_time_of_their_nearest_road_within_reach(motorway_net):
    net = motorway_net
    base = snap(net, X0, Y0 + 1000)
    tree = drive_time_tree(net, base)
    grid = contour_grid(net)
    poly = isochrone_bands(net, tree, [600], origins=base, grid=grid)[0]
    # West of the reached street: in at 300 m (within reach_m = 500 m), out at 800 m.
    assert poly.contains(shapely.Point(X0 - 300, Y0 + 1500))
    assert not poly.contains(shapely.Point(X0 - 800, Y0 + 1500))
    assert grid.reach_m == 500.0 and grid.cell_m == 100.0


def test_band_limits_cut_the_street_where_the_lookup_does():
    # One straight 40 km/h street: 90 s per km. 3 minutes reach 2 km from the base. The street runs along a cell
    # edge, the worst case: the cut may pass the exact point by up to two cells (the reached cell hands its time
    # to its neighbours, and a place takes the time of its nearest road cell), never fall short of it.
    net = toy_network([((0, 0), (0, 6000), "residential", 40, True)])
    base = snap(net, X0, Y0)
    tree = drive_time_tree(net, base)
    disks = isochrone_bands(net, tree, [60, 120, 180], origins=base)
    cell = contour_grid(net).cell_m
    for disk, reach_m in zip(disks, (667, 1333, 2000)):
        assert shapely.contains_xy(disk, X0 + np.array([-1, 0, 1]), Y0 + reach_m - 1).all()
        assert not disk.contains(shapely.Point(X0, Y0 + reach_m + 2 * cell + 1))
    rings = isochrone_bands(net, tree, [60, 120, 180], shape="rings", origins=base)
    assert rings[1].contains(shapely.Point(X0, Y0 + 1000)) and not rings[0].contains(shapely.Point(X0, Y0 + 1000))
    assert sum(r.area for r in rings) == pytest.approx(disks[-1].area, rel=1e-6)


def test_one_way_street_is_reached_one_way_only():
    # Base at the west end; a one-way street leads east, a two-way street back is 3 km north.
    net = toy_network([
        ((0, 0), (3000, 0), "residential", 40, False),
        ((0, 0), (0, 3000), "residential", 40, True),
        ((0, 3000), (3000, 3000), "residential", 40, True),
        ((3000, 3000), (3000, 0), "residential", 40, True),
    ])
    base = snap(net, X0 + 10, Y0)
    out_tree = drive_time_tree(net, base, direction="outbound")
    in_tree = drive_time_tree(net, base, direction="inbound")
    end = (X0 + 2900, Y0)
    out_poly = isochrone_bands(net, out_tree, [300], origins=base)[0]
    in_poly = isochrone_bands(net, in_tree, [300], direction="inbound", origins=base)[0]
    # Outbound, the east end is 4.4 min down the one-way street; inbound, the way back is 9 km around.
    assert out_poly.contains(shapely.Point(end)) and not in_poly.contains(shapely.Point(end))


def test_empty_and_invalid_limits(motorway_net):
    tree = np.full(motorway_net.n_nodes, np.inf)
    assert all(p.is_empty for p in isochrone_bands(motorway_net, tree, [300, 600]))
    field = time_field(motorway_net, tree, 600)
    assert field.empty and contour_bands(field, [600])[0].is_empty
    base = snap(motorway_net, X0, Y0 + 1000)
    tree = drive_time_tree(motorway_net, base)
    for bad in ([], [600, 300], [0], [np.inf]):
        with pytest.raises(ValueError):
            isochrone_bands(motorway_net, tree, bad)
    with pytest.raises(ValueError, match="direction"):
        isochrone_bands(motorway_net, tree, [600], direction="sideways")
    with pytest.raises(ValueError, match="beyond_s"):
        contour_bands(time_field(motorway_net, tree, 300), [300 + BEYOND_S])


def test_small_holes_filled_large_kept():
    # A 2 km × 2 km block of streets with an empty 1.2 km × 1.2 km middle (hole ~0.3 km² after reach).
    ring = [((0, 0), (2000, 0)), ((2000, 0), (2000, 2000)), ((2000, 2000), (0, 2000)), ((0, 2000), (0, 0))]
    net = toy_network([(a, b, "residential", 40, True) for a, b in ring])
    base = snap(net, X0, Y0 + 5)
    tree = drive_time_tree(net, base)
    grid = contour_grid(net, reach_m=300)
    kept = isochrone_bands(net, tree, [900], origins=base, grid=grid, max_hole_m2=0)[0]
    filled = isochrone_bands(net, tree, [900], origins=base, grid=grid, max_hole_m2=1e7)[0]
    assert sum(len(p.interiors) for p in shapely.get_parts(kept)) == 1
    assert sum(len(p.interiors) for p in shapely.get_parts(filled)) == 0
    assert filled.area > kept.area and filled.contains(shapely.Point(X0 + 1000, Y0 + 1000))


def test_county_grid_samples_lie_on_their_roads(service):
    county_net = service.network  # the county loaded once per test process (the grid is the same in every profile)
    grid = contour_grid(county_net)
    rng = np.random.default_rng(3)
    idx = rng.integers(0, len(grid.sample_edge), 5000)
    pts = shapely.line_interpolate_point(county_net.edge_geometries()[grid.sample_edge[idx]], grid.sample_frac[idx],
                                         normalized=True)
    xy = shapely.get_coordinates(pts)
    col, row = grid.sample_cell[idx] % grid.nx, grid.sample_cell[idx] // grid.nx
    # Every sample lies in its cell.
    assert (np.abs(xy[:, 0] - (grid.x0 + (col + 0.5) * grid.cell_m)) <= grid.cell_m / 2 + 1e-6).all()
    assert (np.abs(xy[:, 1] - (grid.y0 + (row + 0.5) * grid.cell_m)) <= grid.cell_m / 2 + 1e-6).all()
    # Samples of an edge run from 0 to 1, at most one cell apart along its geometry.
    geoms = county_net.edge_geometries()
    e = int(np.argmax(shapely.length(geoms)))
    frac = grid.sample_frac[grid.edge_samples[e] : grid.edge_samples[e + 1]]
    assert frac[0] == 0 and frac[-1] == 1
    assert (np.diff(frac) * geoms[e].length <= grid.cell_m + 1e-6).all()
