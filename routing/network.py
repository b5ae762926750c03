"""The compiled road network: flat numpy arrays and a sparse travel-time matrix (EPSG:3006).

A :class:`RoadNetwork` is compiled once from a normalised graph (:mod:`routing.loaders`, :mod:`routing.compile`),
saved as one ``.npz`` plus a small ``.json`` (a :mod:`core.cache` entry: content hashes checked and arrays
sanity-checked on load) and loaded in well under a second. It stores free-flow speeds and road classes, so
:meth:`RoadNetwork.with_profile` derives the times of any profile without the graph.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
import shapely

from core.cache import (
    CacheError,
    EntryDamaged,
    entry_lock,
    read_entry,
    read_manifest,
    require,
    write_entry,
)
from core.encoding import npz_arrays, npz_bytes
from core.settings import METRIC_CRS

if TYPE_CHECKING:
    import networkx as nx

FORMAT_VERSION = 2
"""Bump when the cache layout or the compile step (:mod:`routing.compile`) changes (invalidates old caches).
2: hashed cache entry."""
NPZ = "network.npz"
META = "network.json"

_ARRAYS = (
    "node_x", "node_y", "node_id", "edge_u", "edge_v", "edge_length_m", "edge_speed_kph", "edge_class",
    "edge_ferry", "edge_fixed_s", "edge_rev", "edge_name", "geom_xy", "geom_offsets",
)


@dataclass(eq=False)
class RoadNetwork:
    """A directed road network as arrays, in EPSG:3006.

    Attributes
    ----------
    node_x, node_y : ndarray of float64, shape (n,)
        Node coordinates (m).
    node_id : ndarray, shape (n,)
        Original node ids (OSM ids for OSM and MATSim sources).
    edge_u, edge_v : ndarray of int32, shape (m,)
        Node indices of each directed edge.
    edge_length_m, edge_speed_kph : ndarray of float64
        Length (m) and free-flow speed (km/h).
    edge_class : ndarray of str
        OSM ``highway`` class.
    edge_ferry : ndarray of bool; edge_fixed_s : ndarray of float64
        Ferry edges and their fixed crossing time (s; 0 for roads).
    edge_rev : ndarray of int32
        Index of the opposite edge of a two-way road, -1 for one-way edges.
    edge_name : ndarray of str
        Street name or "".
    geom_xy : ndarray of float64, shape (k, 2); geom_offsets : ndarray of int64, shape (m + 1,)
        Edge geometries from ``edge_u`` to ``edge_v``: edge ``e`` is ``geom_xy[geom_offsets[e]:geom_offsets[e+1]]``.
    profiles : dict
        Profile name → ``[default_factor, {class: factor}]`` (from ``speeds.yaml``).
    profile : str
        Active profile; ``edge_time_s`` and ``csr`` belong to it.
    source, checksum : str
        Network source and checksum of the inputs (file + speeds.yaml).
    snap_exclude : tuple of str
        Classes a point may not snap to.
    isochrone : dict
        The ``isochrone`` section of ``speeds.yaml`` (``cell_m``, ``reach_m``, ``max_hole_m2``), set by
        :func:`routing.prepare.load_network`; empty: the modules' defaults.
    snap_warning_m : float
        A point farther than this from the network (m) is flagged ``far`` when snapped (``settings.snap_warning_m``,
        set by :func:`routing.prepare.load_network`).
    edge_time_s : ndarray of float64
        Travel time (s) of each edge under ``profile``.
    csr : scipy.sparse.csr_matrix, shape (n, n)
        Travel time (s) from row node to column node; parallel edges reduced to the fastest, no self-loops. Built
        on first use: only growing trees and isochrones needs it, not reading the prepared trees.
    """

    node_x: np.ndarray
    node_y: np.ndarray
    node_id: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_length_m: np.ndarray
    edge_speed_kph: np.ndarray
    edge_class: np.ndarray
    edge_ferry: np.ndarray
    edge_fixed_s: np.ndarray
    edge_rev: np.ndarray
    edge_name: np.ndarray
    geom_xy: np.ndarray
    geom_offsets: np.ndarray
    profiles: dict[str, Any]
    profile: str = "free_flow"
    source: str = ""
    checksum: str = ""
    snap_exclude: tuple[str, ...] = ()
    isochrone: dict[str, float] = field(default_factory=dict, repr=False)
    snap_warning_m: float = 500.0
    edge_time_s: np.ndarray = field(init=False, repr=False)
    _cache: dict[str, Any] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        _verify_profile(self.profiles, self.profile)
        self.edge_time_s = _edge_times(self)

    @property
    def csr(self) -> sp.csr_matrix:
        """The travel-time matrix of the active profile (see the class docstring), built on first use (≈ 0.05 s a
        profile; two threads asking first may both build it, with the same result)."""
        key = ("csr", self.profile)
        if key not in self._cache:
            self._cache[key] = _time_matrix(self.edge_u, self.edge_v, self.edge_time_s, self.n_nodes)
        return self._cache[key]

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.node_x.shape[0])

    @property
    def n_edges(self) -> int:
        """Number of directed edges."""
        return int(self.edge_u.shape[0])

    @property
    def crs(self) -> str:
        """Always EPSG:3006."""
        return METRIC_CRS

    def with_profile(self, name: str) -> RoadNetwork:
        """The same network with edge times and CSR of another profile (arrays are shared, not copied)."""
        if name == self.profile:
            return self
        other = replace(self, profile=name)
        other._cache = self._cache  # geometries and the snap index do not depend on the profile
        return other

    def edge_coords(self, edge: int) -> np.ndarray:
        """Coordinates (k, 2) of one edge's geometry, from ``edge_u`` to ``edge_v`` (m)."""
        return self.geom_xy[self.geom_offsets[edge] : self.geom_offsets[edge + 1]]

    def edge_geometries(self) -> np.ndarray:
        """Shapely LineStrings of all edges (cached)."""
        if "geoms" not in self._cache:
            idx = np.repeat(np.arange(self.n_edges), np.diff(self.geom_offsets))
            self._cache["geoms"] = shapely.linestrings(self.geom_xy, indices=idx)
        return self._cache["geoms"]

    def to_networkx(self) -> nx.MultiDiGraph:
        """A networkx graph of this network (node = index, ``travel_time`` of the active profile)."""
        import networkx as nx  # only here: loading the network for a lookup or an audit never needs it (≈ 0.15 s)

        G = nx.MultiDiGraph(crs=METRIC_CRS, source=self.source, profile=self.profile)
        G.add_nodes_from(
            (i, {"x": x, "y": y, "osmid": o})
            for i, (x, y, o) in enumerate(zip(self.node_x, self.node_y, self.node_id, strict=True))
        )
        G.add_edges_from(
            (int(u), int(v), {"travel_time": t, "length": length, "highway": c, "edge": e})
            for e, (u, v, t, length, c) in enumerate(
                zip(self.edge_u, self.edge_v, self.edge_time_s, self.edge_length_m, self.edge_class, strict=True)
            )
        )
        return G

    def save(self, folder: str | Path) -> Path:
        """Write ``network.npz`` and ``network.json`` into the cache entry ``folder`` (replaced whole, under its
        lock, with the files' SHA-256 in its manifest); returns the folder."""
        folder = Path(folder)
        with entry_lock(folder, exclusive=True):
            write_entry(folder, self.checksum, self.files(), {"source": self.source, "n_nodes": self.n_nodes,
                                                                "n_edges": self.n_edges})
        return folder

    def files(self) -> dict[str, bytes]:
        """The cache files of this network: ``network.npz`` (arrays) and ``network.json`` (metadata)."""
        meta = {
            "format": FORMAT_VERSION, "source": self.source, "checksum": self.checksum, "profile": self.profile,
            "profiles": self.profiles, "snap_exclude": list(self.snap_exclude), "crs": METRIC_CRS,
            "n_nodes": self.n_nodes, "n_edges": self.n_edges,
        }
        return {
            NPZ: npz_bytes({name: getattr(self, name) for name in _ARRAYS}),
            META: json.dumps(meta, indent=1).encode("utf-8"),
        }

    @classmethod
    def load(cls, folder: str | Path, profile: str | None = None) -> RoadNetwork:
        """Read a network written by :meth:`save`, checking each file's SHA-256 and the arrays' plausibility.

        Raises
        ------
        FileNotFoundError
            When the folder holds no network.
        core.cache.CacheError
            When a file is damaged (the sentence names it and says to run ``asih prepare``).
        """
        folder = Path(folder)
        with entry_lock(folder, exclusive=False):
            if read_manifest(folder) is None:
                raise FileNotFoundError(f"No compiled network in {folder}; run `asih prepare`.")
            files = read_entry(folder, [NPZ, META], what="The compiled network")
        return cls.from_files(files, folder, profile)

    @classmethod
    def from_files(cls, files: dict[str, bytes], folder: Path, profile: str | None = None) -> RoadNetwork:
        """A network from the verified contents of ``network.npz`` and ``network.json`` (see :meth:`files`)."""
        try:
            meta = json.loads(files[META].decode("utf-8"))
        except ValueError:
            raise EntryDamaged(_damaged(folder / META, "not valid JSON")) from None
        require(isinstance(meta, dict) and meta.get("format") == FORMAT_VERSION, folder / META,
                f"not a network description of format {FORMAT_VERSION}")
        try:
            arrays = npz_arrays(files[NPZ])
        except (ValueError, OSError, EOFError) as exc:
            raise EntryDamaged(_damaged(folder / NPZ, f"not a readable .npz: {exc}")) from None
        _verify_arrays(arrays, meta, folder / NPZ)
        profiles = meta.get("profiles")
        require(isinstance(profiles, dict) and all(isinstance(p, list) and len(p) == 2 for p in profiles.values()),
                folder / META, "no speed profiles")
        profile = profile or meta.get("profile")
        if profile not in profiles:
            raise ValueError(f"Unknown speed profile {profile!r}; available: {sorted(profiles)}.")
        return cls(
            **{name: arrays[name] for name in _ARRAYS}, profiles=profiles, profile=profile,
            source=str(meta.get("source", "")), checksum=str(meta.get("checksum", "")),
            snap_exclude=tuple(meta.get("snap_exclude", ())),
        )


def read_meta(folder: str | Path) -> dict | None:
    """The ``network.json`` of a cache folder, or None when missing, unreadable or of another format version."""
    folder = Path(folder)
    try:
        manifest = read_manifest(folder)
        meta = json.loads((folder / META).read_text(encoding="utf-8"))
    except (CacheError, OSError, ValueError):
        return None
    if manifest is None or not (folder / NPZ).exists() or not isinstance(meta, dict):
        return None
    return meta if meta.get("format") == FORMAT_VERSION else None


def _damaged(path: Path, reason: str) -> str:
    return f"The cache file {path} is damaged ({reason}); run `asih prepare` to rebuild it."


def _verify_arrays(a: dict[str, np.ndarray], meta: dict, path: Path) -> None:
    """Shapes, index ranges and finite, non-negative values of a stored network (raises ``EntryDamaged``)."""
    missing = [name for name in _ARRAYS if name not in a]
    require(not missing, path, f"arrays missing: {', '.join(missing)}")
    n, m = a["node_x"].shape[0], a["edge_u"].shape[0]
    require(n > 0 and m > 0, path, "no nodes or no edges")
    require(meta.get("n_nodes") == n and meta.get("n_edges") == m, path,
            f"{n} nodes and {m} edges where network.json says {meta.get('n_nodes')} and {meta.get('n_edges')}")
    for name in ("node_x", "node_y", "node_id"):
        require(a[name].shape == (n,), path, f"{name} has shape {a[name].shape}, not ({n},)")
    for name in ("edge_u", "edge_v", "edge_length_m", "edge_speed_kph", "edge_class", "edge_ferry", "edge_fixed_s",
                 "edge_rev", "edge_name"):
        require(a[name].shape == (m,), path, f"{name} has shape {a[name].shape}, not ({m},)")
    for name in ("node_x", "node_y"):
        require(a[name].dtype.kind == "f" and bool(np.isfinite(a[name]).all()), path, f"{name} is not finite")
    for name in ("edge_u", "edge_v"):
        require(a[name].dtype.kind in "iu" and bool(((a[name] >= 0) & (a[name] < n)).all()), path,
                f"{name} points outside the {n} nodes")
    require(a["edge_rev"].dtype.kind in "iu" and bool(((a["edge_rev"] >= -1) & (a["edge_rev"] < m)).all()), path,
            "edge_rev points outside the edges")
    for name, low in (("edge_length_m", 0.0), ("edge_fixed_s", 0.0)):
        require(a[name].dtype.kind == "f" and bool((np.isfinite(a[name]) & (a[name] >= low)).all()), path,
                f"{name} has negative or non-finite values")
    speed = a["edge_speed_kph"]
    require(speed.dtype.kind == "f" and bool((np.isfinite(speed) & (speed > 0)).all()), path,
            "edge_speed_kph has values ≤ 0 or not finite")
    require(a["edge_ferry"].dtype == bool, path, "edge_ferry is not boolean")
    geom, offsets = a["geom_xy"], a["geom_offsets"]
    require(geom.ndim == 2 and geom.shape[1] == 2 and bool(np.isfinite(geom).all()), path,
            "geom_xy is not a finite (k, 2) array")
    require(offsets.shape == (m + 1,) and offsets.dtype.kind in "iu" and int(offsets[0]) == 0
            and int(offsets[-1]) == geom.shape[0] and bool((np.diff(offsets) >= 2).all()), path,
            "geom_offsets do not index geom_xy")


def _verify_profile(profiles: dict, name: str) -> None:
    if name not in profiles:
        raise ValueError(f"Unknown speed profile {name!r}; available: {sorted(profiles)}.")


def _edge_times(net: RoadNetwork) -> np.ndarray:
    default, table = net.profiles[net.profile]
    uniq, inverse = np.unique(net.edge_class, return_inverse=True)
    factor = np.array([table.get(str(c), default) for c in uniq], dtype=np.float64)[inverse]
    times = net.edge_length_m / (net.edge_speed_kph * factor / 3.6)
    return np.where(net.edge_ferry, net.edge_fixed_s, times)


def _time_matrix(u: np.ndarray, v: np.ndarray, t: np.ndarray, n: int) -> sp.csr_matrix:
    keep = u != v
    u, v, t = u[keep], v[keep], t[keep]
    order = np.lexsort((t, v, u))
    u, v, t = u[order], v[order], t[order]
    first = np.ones(len(u), dtype=bool)
    first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    u, v, t = u[first], v[first], t[first]
    indptr = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(u, minlength=n), out=indptr[1:])
    return sp.csr_matrix((t, v.astype(np.int32), indptr), shape=(n, n))
