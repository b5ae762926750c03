"""Drive times over a region: when the patient may be anywhere along a street, in a postcode or in a town, each
unit's time is a range over the region's points, not the time to one "most likely" point.

Method. The region's points are its known points (a street's pieces, a postcode's register addresses; one weight
each) or, for a region made of administrative units (a municipality, a borough, a district), the coverage
population points inside those units (:mod:`routing.population`: road nodes where people live, each weighted by the
persons of its DeSO). At most :data:`MAX_POINTS` are used, picked evenly through the list, so the same query always
gives the same answer; population points were snapped at prepare time, known points are snapped here
(:func:`~routing.snapping.snap_many`). Each unit's time to every point is read from the precomputed base trees
(:meth:`~routing.basetrees.BaseTrees.unit_times`: array lookups, no graph search), and summarised as the minimum,
the (people-weighted) median and the maximum, and the (people-weighted) share of the points within the limit.

Accuracy: as the trees' (a point's time ends at its road, ±1 edge). The range covers the points used: a region of
more than :data:`MAX_POINTS` points is sampled, so its true extremes may lie a little beyond the range and its
share is an estimate; a postcode's known addresses are a sample of it. Shares are floored (4 decimals), so 1.0
means every point is within the limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from geo.areas.units import AdminUnits
from geo.geocode.result import Region
from routing.basetrees import BaseTrees
from routing.network import RoadNetwork
from routing.population import SamplePoints
from routing.snapping import SnapArray, snap_many

MAX_POINTS = 2000
"""Most points a region's drive times are computed over (snapping 2000 points takes ≈ 25 ms; the trees ≈ 1 ms per
profile): a lookup stays well under 100 ms."""
_SNAP_FIELDS = ("edge", "fraction", "distance_m", "x", "y", "far")


@dataclass(frozen=True)
class RegionPoints:
    """The points a region's drive times are computed over.

    Attributes
    ----------
    snaps : SnapArray
        The points snapped to the network (EPSG:3006).
    weight : ndarray of float
        Persons (``people``) or 1 per known point; all > 0.
    people : bool
        True for population points (weights are persons), False for the region's own known points.
    total : int
        How many points the region has before sampling (``len(snaps)`` when not sampled).
    """

    snaps: SnapArray
    weight: np.ndarray
    people: bool
    total: int

    def __len__(self) -> int:
        return len(self.snaps)

    @property
    def far_share(self) -> float:
        """Share (weighted, floored to 4 decimals) of the points farther from a drivable road than the warning
        distance their snaps were flagged with."""
        far = np.asarray(self.snaps.far, dtype=bool)
        if far.all() or not far.any():
            return float(far.all())
        return min(_floor_share(float(self.weight[far].sum()) / float(self.weight.sum())), 0.9999)


@dataclass(frozen=True)
class TimeRange:
    """One unit's drive times over a region (s; None = some point, or for ``p50`` the median, is unreachable).

    ``share`` is the (weighted) share of the points within the limit, floored to 4 decimals; ``within`` is True
    only when every point is. ``rows`` are the base rows (:class:`BaseTrees`) nearest to some point of the region,
    the one nearest for most of it (``row``) first.
    """

    min_s: float | None
    p50_s: float | None
    max_s: float | None
    share: float
    within: bool
    rows: tuple[int, ...]

    @property
    def row(self) -> int:
        """The base row nearest for most of the region."""
        return self.rows[0]

    def to_dict(self) -> dict[str, float | None]:
        """``{"min", "p50", "max"}`` in seconds, as the lookup contract gives it."""
        return {"min": self.min_s, "p50": self.p50_s, "max": self.max_s}


class RegionSampler:
    """The points of a region: its own known points, or the population points inside its administrative units.

    Parameters
    ----------
    net : the road network the population points were snapped on (EPSG:3006).
    units : the county's municipalities, boroughs and districts.
    population : the coverage population points (:func:`routing.population.load_samples`), snapped on ``net``.
    """

    def __init__(self, net: RoadNetwork, units: AdminUnits, population: SamplePoints):
        self.net = net
        self.units = units
        keep = np.flatnonzero(population.weight > 0)
        self._weight = population.weight[keep]
        self._snaps = _take(population.snaps, keep)
        x, y = population.x[keep], population.y[keep]
        mun, borough, _ = units.at(x, y)
        district = np.full(len(keep), None, dtype=object)
        city = np.flatnonzero(np.not_equal(borough, None))
        district[city] = units.districts_at(x[city], y[city])
        # Point indices by unit token, so a lookup concatenates a few index arrays instead of comparing names.
        self._by_token: dict[tuple[str, str], np.ndarray] = {}
        for kind, names in (("municipality", mun), ("borough", borough), ("district", district)):
            known = np.flatnonzero(np.not_equal(names, None))
            labels, inverse = np.unique(names[known].astype(str), return_inverse=True)
            for j, label in enumerate(labels):
                self._by_token[(kind, label)] = known[inverse == j]

    def points(self, region: Region) -> RegionPoints | None:
        """The points of ``region`` (at most :data:`MAX_POINTS`), or None when it has none to compute over."""
        if region.units:
            idx = np.unique(np.concatenate([self._inside(token) for token in region.units]))
            if idx.size == 0:
                return None
            pick = idx[_even(idx.size)]
            return RegionPoints(_take(self._snaps, pick), self._weight[pick], True, int(idx.size))
        if not region.points:
            return None
        xy = np.asarray(region.points, dtype=float)
        pick = _even(len(xy))
        snaps = snap_many(self.net, xy[pick, 0], xy[pick, 1])
        return RegionPoints(snaps, np.ones(len(pick)), False, len(xy))

    def _inside(self, token: str) -> np.ndarray:
        """Indices of the population points inside a unit (none for an unknown token)."""
        unit = self.units.get(token)
        if unit is None:
            return np.zeros(0, dtype=np.int64)
        key = {"municipality": unit.municipality_code, "borough": unit.borough}.get(unit.kind, unit.name)
        return self._by_token.get((unit.kind, key), np.zeros(0, dtype=np.int64))


def unit_ranges(trees: BaseTrees, net: RoadNetwork, points: RegionPoints, unit_ids: list[str],
                limit_s: float) -> dict[str, TimeRange]:
    """Each unit's drive times over ``points`` from its bases' trees on ``net`` (any profile: the snaps depend on the
    geometry only), with the share within ``limit_s`` seconds. See the module docstring."""
    times, rows = trees.unit_times(net, points.snaps, unit_ids)
    weight = points.weight
    total = float(weight.sum())
    order = np.argsort(times, axis=1)
    out = {}
    for i, uid in enumerate(unit_ids):
        t = times[i]
        sorted_t = t[order[i]]
        half = int(np.searchsorted(np.cumsum(weight[order[i]]), 0.5 * total))
        within = t <= limit_s
        every = bool(within.all())
        out[uid] = TimeRange(
            min_s=_seconds(sorted_t[0]),
            p50_s=_seconds(sorted_t[min(half, len(t) - 1)]),
            max_s=_seconds(sorted_t[-1]),
            share=1.0 if every else min(_floor_share(float(weight[within].sum()) / total), 0.9999),
            within=every,
            rows=_by_weight(rows[i], weight),
        )
    return out


def _by_weight(rows: np.ndarray, weight: np.ndarray) -> tuple[int, ...]:
    """The distinct rows, heaviest first (ties: lower row first)."""
    sums = np.bincount(rows, weights=weight)
    used = np.flatnonzero(sums > 0)
    return tuple(int(r) for r in used[np.argsort(-sums[used], kind="stable")])


def _seconds(t: float) -> float | None:
    return round(float(t), 1) if np.isfinite(t) else None


def _floor_share(share: float) -> float:
    """Floored to 4 decimals, never rounded up: 0.99996 is 0.9999, not 1.0 (the 1e-9 only undoes float error such as
    0.7 * 10 000 = 6999.999…)."""
    return math.floor(share * 10_000 + 1e-9) / 10_000


def _even(n: int) -> np.ndarray:
    """Indices of at most :data:`MAX_POINTS` of ``n`` items, evenly spread and always the same."""
    if n <= MAX_POINTS:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, MAX_POINTS).round().astype(np.int64))


def _take(snaps: SnapArray, idx: np.ndarray) -> SnapArray:
    return SnapArray(*(getattr(snaps, f)[idx] for f in _SNAP_FIELDS))


__all__ = ["MAX_POINTS", "RegionPoints", "RegionSampler", "TimeRange", "unit_ranges"]
