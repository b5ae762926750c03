"""Sample points for coverage: where the people are, and a grid over the land, both snapped to the network.

How a DeSO counts: its 2023 population is spread evenly over the road-network nodes inside it that touch a
road a house can lie on (motorways excluded). A DeSO with no such node (small or roadless) puts its whole
population on its representative point. So a DeSO half-reached within the limit counts half, instead of all or
nothing by its centroid.

How land counts: the county's land (DeSO polygons, clipped to the areas) is cut into square cells
(``settings.audit_land_cell_m``); a cell is reached when the nearest drivable road point to its centre is reached
within the limit and lies within ``settings.audit_land_reach_m`` of it. Cells carry their true land area (km²).

Everything is built and snapped once, at prepare time, and cached.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from geo.areas.model import AreaModel
from geo.cache import entry_is_fresh, manifest_checksum, read_entry, write_entry
from geo.settings import Settings
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


def load_samples(settings: Settings, net: RoadNetwork, model: AreaModel) -> Samples:
    """Population points and land cells for ``net`` from the cache (built when missing or stale)."""
    entry = settings.cache_dir / "samples"
    checksum = (
        f"{SAMPLES_VERSION}:{net.checksum}:{manifest_checksum(settings.cache_dir / 'areas')}:{settings.audit_land_cell_m}"
    )
    if entry_is_fresh(entry, checksum):
        return read_entry(entry, ["samples"])["samples"]
    samples = Samples(
        build_population_points(net, model), build_land_cells(net, model, settings.audit_land_cell_m),
        settings.audit_land_cell_m,
    )
    write_entry(entry, checksum, {"samples": samples}, {"population_points": len(samples.population),
                                                         "land_cells": len(samples.land)})
    return samples
