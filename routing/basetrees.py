"""Drive-time trees from every provider base, computed once per network, profile and providers file.

The request path reads these trees; it never runs a graph search. Trees are unbounded (whole network) so an
answer can say "45 minutes" as well as "within 30".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geo.cache import entry_is_fresh, file_checksum, read_entry, write_entry
from geo.crs import to_metric
from geo.providers import Base, Registry, Unit
from geo.settings import Settings
from routing.network import RoadNetwork
from routing.snapping import SnapArray, snap_many
from routing.trees import drive_time_trees, times_to_snaps


@dataclass
class BaseTrees:
    """One drive-time tree per provider base.

    Attributes
    ----------
    unit_ids : list of str
        The unit of each row.
    bases : list of Base
        The base of each row.
    snaps : SnapArray
        Each base snapped to the network (``distance_m`` says how far the base is from its road).
    times : ndarray (k, n_nodes) of float64
        Drive time (s) from the base to every node; ``inf`` when unreachable.
    profile : str
        The speed profile the times were computed with.
    """

    unit_ids: list[str]
    bases: list[Base]
    snaps: SnapArray
    times: np.ndarray
    profile: str

    def rows_of(self, unit_id: str) -> np.ndarray:
        """Row indices of a unit's bases."""
        return np.flatnonzero(np.asarray(self.unit_ids) == unit_id)

    def times_to(self, net: RoadNetwork, targets: SnapArray) -> np.ndarray:
        """Drive time (s, shape k × m) from every base to each snapped target, partial edges included."""
        return times_to_snaps(net, self.times, targets, sources=self.snaps)

    def unit_times(self, net: RoadNetwork, targets: SnapArray, unit_order: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Per unit, the time (s) from its nearest base to each target, and which row (base) gave it.

        Returns
        -------
        (times, rows) : ndarray (len(unit_order), m) of seconds, and of the winning row index.
        """
        per_base = self.times_to(net, targets)
        times = np.full((len(unit_order), per_base.shape[1]), np.inf)
        rows = np.zeros((len(unit_order), per_base.shape[1]), dtype=np.int64)
        for i, uid in enumerate(unit_order):
            r = self.rows_of(uid)
            best = np.argmin(per_base[r], axis=0)
            times[i] = per_base[r][best, np.arange(per_base.shape[1])]
            rows[i] = r[best]
        return times, rows


def compute_base_trees(net: RoadNetwork, pairs: list[tuple[Unit, Base]], limit_s: float | None = None) -> BaseTrees:
    """Snap each base and grow its tree over ``net`` (bounded at ``limit_s`` seconds when given)."""
    lat = np.array([b.lat for _, b in pairs])
    lon = np.array([b.lon for _, b in pairs])
    xs, ys = to_metric(lat, lon)
    snaps = snap_many(net, np.asarray(xs), np.asarray(ys))
    times = drive_time_trees(net, snaps, limit_s)
    return BaseTrees([u.id for u, _ in pairs], [b for _, b in pairs], snaps, times, net.profile)


def load_base_trees(settings: Settings, net: RoadNetwork, registry: Registry, rebuild: bool = True) -> BaseTrees:
    """Base trees for ``net``'s profile from the cache, computed and cached when missing or stale."""
    entry = settings.cache_dir / "trees" / net.profile
    checksum = f"{net.checksum}:{file_checksum(settings.providers_file)}:{net.profile}"
    if entry_is_fresh(entry, checksum):
        return read_entry(entry, ["trees"])["trees"]
    if not rebuild:
        from geo.cache import CacheError

        raise CacheError(f"The base trees in {entry} are missing or stale; run `asih prepare`.")
    trees = compute_base_trees(net, registry.bases())
    write_entry(entry, checksum, {"trees": trees}, {"bases": len(trees.bases), "profile": net.profile})
    return trees
