"""Drive-time ranges over a region (routing.region_times) on a toy: fixed times per unit and point, so the
minimum, the people-weighted median, the maximum, the share within the limit and the base nearest for most of the
region are exact; and on the tiny real model (``tiny``), where the ranges must be the point-to-point drives."""

from __future__ import annotations

import math

import numpy as np

from core.crs import to_metric
from routing.region_times import MAX_POINTS, RegionPoints, _even, unit_ranges
from routing.snapping import SnapArray, snap_many
from routing.trees import drive_time

LIMIT_S = 1800.0


class _Trees:
    """Stands in for BaseTrees: unit_times gives fixed (units × points) times and winning base rows."""

    def __init__(self, times, rows):
        self.times, self.rows = np.array(times, dtype=float), np.array(rows, dtype=np.int64)

    def unit_times(self, net, snaps, unit_order):
        assert len(snaps) == self.times.shape[1] and len(unit_order) == self.times.shape[0]
        return self.times, self.rows


def _points(weight, far=None) -> RegionPoints:
    m = len(weight)
    zeros = np.zeros(m)
    far = np.zeros(m, dtype=bool) if far is None else np.array(far)
    snaps = SnapArray(np.zeros(m, dtype=np.int64), zeros, zeros, zeros, zeros, far)
    return RegionPoints(snaps, np.array(weight, dtype=float), True, m)


def test_min_weighted_median_max_and_share():
    trees = _Trees([[100, 200, 300, 2000], [900, 600, 2500, np.inf]], [[0, 0, 1, 1], [2, 2, 2, 2]])
    even = unit_ranges(trees, None, _points([1, 1, 1, 1]), ["a", "b"], LIMIT_S)
    assert (even["a"].min_s, even["a"].p50_s, even["a"].max_s) == (100.0, 200.0, 2000.0)
    assert (even["a"].share, even["a"].within) == (0.75, False)
    # Unreachable somewhere: the maximum is None, the median still the middle point's.
    assert (even["b"].min_s, even["b"].p50_s, even["b"].max_s, even["b"].share) == (600.0, 900.0, None, 0.5)
    heavy = unit_ranges(trees, None, _points([1, 1, 1, 5]), ["a", "b"], LIMIT_S)
    # Five people at the far point: the median person is there, and 3 of 8 people are within the limit.
    assert (heavy["a"].p50_s, heavy["a"].share) == (2000.0, 0.375)
    assert heavy["a"].rows == (1, 0) and heavy["a"].row == 1 and heavy["b"].rows == (2,)
    assert heavy["a"].to_dict() == {"min": 100.0, "p50": 2000.0, "max": 2000.0}


def test_the_share_is_floored_and_whole_only_when_every_point_is_within():
    trees = _Trees([[100, 1801], [100, 1800]], [[0, 0], [0, 0]])
    r = unit_ranges(trees, None, _points([99_996, 4]), ["a", "b"], LIMIT_S)
    assert (r["a"].share, r["a"].within) == (0.9999, False)  # 0.99996, never rounded up to 1
    assert (r["b"].share, r["b"].within) == (1.0, True)  # 1800 s is within 30 min


def test_far_share_weighs_people():
    assert _points([1, 3], far=[False, True]).far_share == 0.75
    assert _points([1, 3], far=[True, True]).far_share == 1.0
    assert _points([1, 3]).far_share == 0.0


def test_large_regions_are_sampled_evenly_and_always_alike():
    idx = _even(5000)
    assert len(idx) == MAX_POINTS and idx[0] == 0 and idx[-1] == 4999
    assert np.array_equal(idx, _even(5000)) and np.all(np.diff(idx) > 0)
    assert np.array_equal(_even(7), np.arange(7))


def test_ranges_on_the_tiny_model_are_its_point_to_point_drives(tiny):
    """Real base trees (the tiny model, EPSG:3006): each unit's range over four real points is made of the drive
    times a fresh search from its base gives to each point; five people at the last point make it the median."""
    net, trees = tiny.network, tiny.trees
    # Fjällgatan, Centralen, Blasieholmen, Skeppsholmen
    places = [(59.3148, 18.0843), (59.3310, 18.0590), (59.3300, 18.0780), (59.3255, 18.0860)]
    xy = [tuple(float(v) for v in to_metric(lat, lon)) for lat, lon in places]
    snaps = snap_many(net, np.array([x for x, _ in xy]), np.array([y for _, y in xy]))
    weight = np.array([1.0, 1.0, 1.0, 5.0])
    limit = 120.0
    ranges = unit_ranges(trees, net, RegionPoints(snaps, weight, True, 4), ["ersta-diakoni", "rehabhotellet"], limit)
    for unit in ("ersta-diakoni", "rehabhotellet"):
        [row] = trees.rows_of(unit)
        base = trees.bases[row]
        t = np.array([drive_time(net, to_metric(base.lat, base.lon), p)[0] for p in xy])
        r = ranges[unit]
        assert (r.min_s, r.p50_s, r.max_s) == (round(t.min(), 1), round(t[3], 1), round(t.max(), 1))
        assert r.share == math.floor(weight[t <= limit].sum() / weight.sum() * 10_000) / 10_000
        assert r.within == bool((t <= limit).all()) and r.rows == (int(row),)
    assert ranges["ersta-diakoni"].min_s < 60 < limit < ranges["rehabhotellet"].max_s  # near and far: a real spread
