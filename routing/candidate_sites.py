"""Candidate sites for new bases, and which population points each reaches (EPSG:3006 metres throughout).

One site per populated DeSO, at the population-weighted centre of its points snapped to the nearest road a house can
lie on (never a motorway), thinned greedily, most populous first, so that no two sites are closer than
:data:`SITING_SPACING_M`: about 320 sites over the county, wherever people live. A site reaches a point when its
drive-time tree (bounded at the limit, :mod:`routing.trees`) gets there within the limit, partial edges included,
as the audit measures it. :mod:`routing.siting` chooses among these sites.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.crs import to_wgs84
from routing.network import RoadNetwork
from routing.population import SamplePoints
from routing.snapping import SnapArray, snap_many
from routing.trees import drive_time_trees, times_to_snaps

SITING_SPACING_M = 1500.0
"""Least distance between two candidate sites (m): about 320 sites over the county."""
_BATCH = 64
"""Candidate trees computed at once (memory: batch × nodes × 8 bytes)."""


@dataclass
class Candidates:
    """Candidate sites (EPSG:3006 metres, snapped), with where they are."""

    snaps: SnapArray
    lat: np.ndarray
    lon: np.ndarray
    deso: np.ndarray
    place: np.ndarray
    population: np.ndarray
    centre_x: np.ndarray
    centre_y: np.ndarray

    def __len__(self) -> int:
        return int(self.lat.shape[0])


def candidate_sites(net: RoadNetwork, points: SamplePoints, spacing_m: float = SITING_SPACING_M) -> Candidates:
    """One site per populated DeSO (its points' population-weighted centre, snapped), thinned to ``spacing_m``."""
    codes, inverse = np.unique(points.deso.astype(str), return_inverse=True)
    weight = np.bincount(inverse, weights=points.weight)
    cx = np.bincount(inverse, weights=points.weight * points.x) / np.maximum(weight, 1e-12)
    cy = np.bincount(inverse, weights=points.weight * points.y) / np.maximum(weight, 1e-12)
    keep: list[int] = []
    for i in np.argsort(-weight, kind="stable"):
        if weight[i] <= 0:
            break
        if keep and np.hypot(cx[keep] - cx[i], cy[keep] - cy[i]).min() < spacing_m:
            continue
        keep.append(int(i))
    keep_arr = np.array(keep)
    snaps = snap_many(net, cx[keep_arr], cy[keep_arr])
    lat, lon = to_wgs84(snaps.x, snaps.y)
    # The place of each site: that of the DeSO's most populous point ('borough / district' or the municipality).
    order = np.lexsort((-points.weight, inverse))
    first = order[np.r_[0, np.flatnonzero(np.diff(inverse[order])) + 1]]
    place = points.place[first].astype(str)
    return Candidates(snaps, np.asarray(lat), np.asarray(lon), codes[keep_arr], place[keep_arr], weight[keep_arr],
                      cx[keep_arr], cy[keep_arr])


def reach_matrix(net: RoadNetwork, sources: SnapArray, targets: SnapArray, limit_s: float) -> np.ndarray:
    """Bool (sources × targets): the target is reached from the source within ``limit_s`` (audit's measure)."""
    out = np.zeros((len(sources), len(targets)), dtype=bool)
    for start in range(0, len(sources), _BATCH):
        part = SnapArray(*(getattr(sources, f)[start:start + _BATCH]
                           for f in ("edge", "fraction", "distance_m", "x", "y", "far")))
        with np.errstate(invalid="ignore"):
            trees = drive_time_trees(net, part, limit_s)
            out[start:start + len(part)] = times_to_snaps(net, trees, targets, sources=part) <= limit_s
    return out
