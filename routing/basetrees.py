"""Drive-time trees from every provider base, computed once per network, profile and providers file.

The request path reads these trees; it never runs a graph search. Trees are unbounded (whole network) so an
answer can say "45 minutes" as well as "within 30". Cached as ``trees.npz`` + ``trees.json`` (hashed; times checked
finite-or-unreachable and ≥ 0, shapes checked against the network and the providers file on load).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from core.cache import file_checksum, load_or_build, require
from core.crs import to_metric
from core.encoding import json_bytes, json_value, npz_arrays, npz_bytes
from geo.providers import Base, Registry, Unit
from core.settings import Settings
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
    """Base trees for ``net``'s profile from the cache, computed and cached when missing, stale or damaged.

    Raises :class:`~core.cache.CacheError` (one sentence naming the entry or file and the fix) when the entry is not
    usable and ``rebuild`` is False.
    """
    entry = settings.cache_dir / "trees" / net.profile
    checksum = f"{net.checksum}:{file_checksum(settings.providers_file)}:{net.profile}"
    pairs = registry.bases()
    return load_or_build(
        entry, checksum, what="The base trees", names=[NPZ, META],
        decode=lambda files: _trees_from_files(files, entry, net, pairs),
        build=lambda: compute_base_trees(net, pairs),
        encode=_trees_files,
        info=lambda t: {"bases": len(t.bases), "profile": t.profile},
        rebuild=rebuild,
    )


NPZ = "trees.npz"
META = "trees.json"
_SNAP_FIELDS = ("edge", "fraction", "distance_m", "x", "y", "far")


def _trees_files(trees: BaseTrees) -> dict[str, bytes]:
    arrays = {"times": trees.times} | {f"snap_{f}": getattr(trees.snaps, f) for f in _SNAP_FIELDS}
    meta = {"unit_ids": list(trees.unit_ids), "bases": [asdict(b) for b in trees.bases], "profile": trees.profile}
    return {NPZ: npz_bytes(arrays), META: json_bytes(meta)}


def _trees_from_files(
    files: dict[str, bytes], entry: Path, net: RoadNetwork, pairs: list[tuple[Unit, Base]]
) -> BaseTrees:
    """Trees from verified files, checked against the network and the providers (shapes, finite times ≥ 0)."""
    meta = json_value(files[META])
    arrays = npz_arrays(files[NPZ])
    path = entry / NPZ
    k = len(pairs)
    bases = [Base(**b) for b in meta["bases"]]
    require(meta["unit_ids"] == [u.id for u, _ in pairs] and bases == [b for _, b in pairs], entry / META,
            "its bases differ from the providers file")
    require(meta["profile"] == net.profile, entry / META, f"profile {meta['profile']!r}, not {net.profile!r}")
    times = arrays["times"]
    require(times.dtype == np.float64 and times.shape == (k, net.n_nodes), path,
            f"times of shape {times.shape}, not ({k}, {net.n_nodes})")
    require(not bool(np.isnan(times).any()) and bool((times >= 0).all()), path,
            "drive times below 0 s or not a number")
    snaps = SnapArray(*(arrays[f"snap_{f}"] for f in _SNAP_FIELDS))
    require(all(a.shape == (k,) for a in (arrays[f"snap_{f}"] for f in _SNAP_FIELDS)), path,
            "base snaps of the wrong length")
    require(bool(((snaps.edge >= 0) & (snaps.edge < net.n_edges)).all()), path, "base snaps on unknown edges")
    require(bool(((snaps.fraction >= 0) & (snaps.fraction <= 1)).all()), path, "base snap positions outside 0..1")
    require(bool((np.isfinite(snaps.distance_m) & (snaps.distance_m >= 0)).all()), path,
            "base snap distances negative or not finite")
    return BaseTrees([u.id for u, _ in pairs], bases, snaps, times, net.profile)
