"""Sample points for coverage: where the people are, and a grid over the land, both snapped to the network.

How a DeSO counts: its 2023 population is spread evenly over the road-network nodes inside it that touch a
road a house can lie on (motorways excluded). A DeSO with no such node (small or roadless) puts its whole
population on its representative point. So a DeSO half-reached within the limit counts half, instead of all or
nothing by its centroid.

How land counts: the county's land (DeSO polygons, clipped to the areas) is cut into square cells
(``settings.audit_land_cell_m``); a cell is reached when the nearest drivable road point to its centre is reached
within the limit and lies within ``settings.audit_land_reach_m`` of it. Cells carry their true land area (km²).

Everything is built and snapped once, at prepare time, and cached (``samples.npz`` + ``samples.json``, hashed and
checked on load: lengths, finite weights, known areas, the population adding up to the county's).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely

from geo.areas.model import AreaModel
from core.cache import load_or_build, manifest_checksum, require
from core.encoding import json_bytes, json_value, npz_arrays, npz_bytes
from core.settings import Settings
from routing.network import RoadNetwork
from routing.snapping import SnapArray, snap_candidates, snap_many


SAMPLES_VERSION = 2
"""Bump when the way samples are built changes, so cached samples are rebuilt."""


@dataclass
class SamplePoints:
    """Parallel arrays, one row per point (EPSG:3006 metres).

    ``weight`` is persons (population points) or km² of land (land cells); ``place`` names where the point is:
    'stadsdelsområde / stadsdel' in Stockholm city, else the municipality.
    """

    area_id: np.ndarray
    place: np.ndarray
    weight: np.ndarray
    x: np.ndarray
    y: np.ndarray
    snaps: SnapArray
    deso: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.weight.shape[0])


@dataclass
class Samples:
    """Population points and land cells, with the cell side (m) used."""

    population: SamplePoints
    land: SamplePoints
    cell_m: float


def _place_names(model: AreaModel, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """'Stadsdelsområde / stadsdel' in Stockholm, else the municipality, of each point (nearest unit on a border)."""
    pts = shapely.points(x, y)
    names = np.empty(len(x), dtype=object)
    units = model.units.reset_index(drop=True)
    idx = shapely.STRtree(units.geometry.values).query_nearest(pts, all_matches=False)
    names[idx[0]] = units["municipality_name"].to_numpy()[idx[1]]
    districts = model.districts.reset_index(drop=True)
    in_pt, in_d = shapely.STRtree(districts.geometry.values).query(pts, predicate="within")
    stockholm = units["municipality_code"].to_numpy()[idx[1]] == "0180"
    in_sthlm = np.zeros(len(x), dtype=bool)
    in_sthlm[idx[0][stockholm]] = True
    keep = in_sthlm[in_pt]
    labels = (districts["borough"].astype(str) + " / " + districts["name"].astype(str)).to_numpy()
    names[in_pt[keep]] = labels[in_d[keep]]
    return names


def build_population_points(net: RoadNetwork, model: AreaModel) -> SamplePoints:
    """Spread each DeSO's population over its populated road nodes (see module docstring)."""
    deso = model.deso.reset_index(drop=True)
    snappable = snap_candidates(net)
    populated = np.zeros(net.n_nodes, dtype=bool)
    populated[net.edge_u[snappable]] = True
    populated[net.edge_v[snappable]] = True
    nodes = np.flatnonzero(populated)
    tree = shapely.STRtree(deso.geometry.values)
    node_idx, deso_idx = tree.query(shapely.points(net.node_x[nodes], net.node_y[nodes]), predicate="within")
    node_idx, first = np.unique(node_idx, return_index=True)  # a node on a shared border keeps its first DeSO
    deso_idx = deso_idx[first]
    counts = np.bincount(deso_idx, minlength=len(deso))
    empty = np.flatnonzero(counts == 0)
    reps = deso.geometry.iloc[empty].representative_point()
    x = np.concatenate([net.node_x[nodes[node_idx]], reps.x.to_numpy()])
    y = np.concatenate([net.node_y[nodes[node_idx]], reps.y.to_numpy()])
    owner = np.concatenate([deso_idx, empty]).astype(np.int64)
    counts = np.bincount(owner, minlength=len(deso))
    population = deso["population"].to_numpy(dtype=float)
    return SamplePoints(
        area_id=deso["area_id"].to_numpy(dtype=np.int64)[owner],
        place=_place_names(model, x, y),
        weight=population[owner] / counts[owner],
        x=x,
        y=y,
        snaps=snap_many(net, x, y),
        deso=deso["deso"].to_numpy()[owner],
    )


def build_land_cells(net: RoadNetwork, model: AreaModel, cell_m: float) -> SamplePoints:
    """Square cells over each area's land, weighted by their land area (km²)."""
    xs, ys, areas, weights = [], [], [], []
    for area_id, land in zip(model.land["id"], model.land.geometry):
        minx, miny, maxx, maxy = land.bounds
        gx, gy = np.meshgrid(np.arange(minx, maxx, cell_m), np.arange(miny, maxy, cell_m))
        boxes = shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + cell_m, gy.ravel() + cell_m)
        shapely.prepare(land)
        hit = shapely.intersects(land, boxes)
        inside = shapely.contains_properly(land, boxes[hit])
        km2 = np.full(hit.sum(), cell_m * cell_m / 1e6)
        edge = ~inside
        km2[edge] = shapely.area(shapely.intersection(boxes[hit][edge], land)) / 1e6
        keep = km2 > 0
        xs.append(gx.ravel()[hit][keep] + cell_m / 2)
        ys.append(gy.ravel()[hit][keep] + cell_m / 2)
        areas.append(np.full(keep.sum(), int(area_id)))
        weights.append(km2[keep])
    x, y = np.concatenate(xs), np.concatenate(ys)
    return SamplePoints(
        area_id=np.concatenate(areas),
        place=_place_names(model, x, y),
        weight=np.concatenate(weights),
        x=x,
        y=y,
        snaps=snap_many(net, x, y),
    )


def load_samples(settings: Settings, net: RoadNetwork, model: AreaModel, rebuild: bool = True) -> Samples:
    """Population points and land cells for ``net`` from the cache (built when missing, stale or damaged).

    Raises :class:`~core.cache.CacheError` (one sentence naming the entry or file and the fix) when the entry is not
    usable and ``rebuild`` is False.
    """
    entry = settings.cache_dir / "samples"
    checksum = (
        f"{SAMPLES_VERSION}:{net.checksum}:{manifest_checksum(settings.cache_dir / 'areas')}:{settings.audit_land_cell_m}"
    )

    def build() -> Samples:
        return Samples(
            build_population_points(net, model), build_land_cells(net, model, settings.audit_land_cell_m),
            settings.audit_land_cell_m,
        )

    return load_or_build(
        entry, checksum, what="The coverage samples", names=[NPZ, META],
        decode=lambda files: _samples_from_files(files, entry, net, model),
        build=build,
        encode=_samples_files,
        info=lambda s: {"population_points": len(s.population), "land_cells": len(s.land)},
        rebuild=rebuild,
    )


NPZ = "samples.npz"
META = "samples.json"
_SNAP_FIELDS = ("edge", "fraction", "distance_m", "x", "y", "far")


def _samples_files(samples: Samples) -> dict[str, bytes]:
    """Parallel arrays in one ``.npz``; place and DeSO names as codes into name lists kept in JSON."""
    arrays: dict[str, np.ndarray] = {}
    meta: dict = {"version": SAMPLES_VERSION, "cell_m": samples.cell_m}
    for kind in ("population", "land"):
        pts: SamplePoints = getattr(samples, kind)
        for name in ("area_id", "weight", "x", "y"):
            arrays[f"{kind}_{name}"] = getattr(pts, name)
        for f in _SNAP_FIELDS:
            arrays[f"{kind}_snap_{f}"] = getattr(pts.snaps, f)
        names, codes = np.unique(np.asarray(pts.place, dtype=str), return_inverse=True)
        arrays[f"{kind}_place"] = codes.astype(np.int32)
        meta[f"{kind}_places"] = names.tolist()
        if pts.deso is not None:
            desos, codes = np.unique(np.asarray(pts.deso, dtype=str), return_inverse=True)
            arrays[f"{kind}_deso"] = codes.astype(np.int32)
            meta[f"{kind}_desos"] = desos.tolist()
    return {NPZ: npz_bytes(arrays), META: json_bytes(meta)}


def _samples_from_files(files: dict[str, bytes], entry: Path, net: RoadNetwork, model: AreaModel) -> Samples:
    """Samples from verified files, checked: lengths agree, weights finite ≥ 0, known areas, snaps on the network,
    and the population points add up to the area model's population."""
    meta = json_value(files[META])
    a = npz_arrays(files[NPZ])
    path = entry / NPZ
    require(meta.get("version") == SAMPLES_VERSION, entry / META, f"version {meta.get('version')}")
    area_ids = model.areas["id"].to_numpy()
    out = {}
    for kind in ("population", "land"):
        n = a[f"{kind}_weight"].shape[0]
        names = [f"{kind}_{c}" for c in ("area_id", "weight", "x", "y", "place")] + [
            f"{kind}_snap_{f}" for f in _SNAP_FIELDS]
        require(all(a[c].shape == (n,) for c in names), path, f"{kind} arrays of different lengths")
        weight = a[f"{kind}_weight"]
        require(bool((np.isfinite(weight) & (weight >= 0)).all()), path, f"{kind} weights negative or not finite")
        require(bool(np.isin(a[f"{kind}_area_id"], area_ids).all()), path, f"{kind} points in unknown areas")
        edge = a[f"{kind}_snap_edge"]
        require(bool(((edge >= 0) & (edge < net.n_edges)).all()), path, f"{kind} snaps on unknown edges")
        require(bool(np.isfinite(a[f"{kind}_snap_distance_m"]).all()), path, f"{kind} snap distances not finite")
        places = np.array(meta[f"{kind}_places"], dtype=object)
        codes = a[f"{kind}_place"]
        require(bool(((codes >= 0) & (codes < len(places))).all()), path, f"{kind} place codes out of range")
        deso = None
        if f"{kind}_deso" in a:
            desos = np.array(meta[f"{kind}_desos"], dtype=object)
            require(bool(((a[f"{kind}_deso"] >= 0) & (a[f"{kind}_deso"] < len(desos))).all()), path,
                    f"{kind} DeSO codes out of range")
            deso = desos[a[f"{kind}_deso"]]
        out[kind] = SamplePoints(
            area_id=a[f"{kind}_area_id"], place=places[codes], weight=weight, x=a[f"{kind}_x"], y=a[f"{kind}_y"],
            snaps=SnapArray(*(a[f"{kind}_snap_{f}"] for f in _SNAP_FIELDS)), deso=deso,
        )
    total = float(model.deso["population"].sum())
    got = float(out["population"].weight.sum())
    require(abs(got - total) <= 1e-6 * max(total, 1.0) + 1.0, path,
            f"population points add up to {got:,.0f}, not the county's {total:,.0f}")
    return Samples(out["population"], out["land"], float(meta["cell_m"]))
