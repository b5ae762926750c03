"""Approval audit: does each unit's geography support the areas it is approved for?

For every unit and every approved area, from the unit's base trees and the prepared sample points
(:mod:`routing.population`): the share of the area's population, land and road network reached within the
limit; the gaps (where, how many people); a verdict; and the areas the unit reaches well without being approved
there. Every figure carries the precision of the bases it rests on. The same rows under several traffic profiles
side by side, and what changed between two audits: :mod:`routing.audit_table`.
"""

from __future__ import annotations

from collections.abc import Iterable
import math
from dataclasses import dataclass, field
from datetime import date

import geopandas as gpd
import numpy as np
import shapely

from geo.areas.model import AreaModel
from geo.providers import Registry, Unit
from core.settings import METRIC_CRS, Settings
from routing.basetrees import BaseTrees, load_base_trees
from routing.network import RoadNetwork
from routing.population import SamplePoints, Samples

VERDICTS = ("supported", "at risk", "unsupported")
NOT_APPROVED = "reaches, not approved"
AUDIT_PROFILES = ("free_flow", "typical", "peak")
"""The traffic profiles an audit shows side by side (``data/speeds.yaml``): free flow, all-day average, peak."""
PROFILE_PHRASES = {"free_flow": "at free flow", "typical": "in typical traffic", "peak": "at peak"}


@dataclass
class ApprovalAudit:
    """One (unit, area) row. Shares are fractions 0..1; population in persons."""

    unit_id: str
    unit: str
    area_id: int
    approved: bool
    population: float
    population_reached: float
    land_share: float
    road_share: float
    verdict: str
    base_precision: str
    gaps: list[dict] = field(default_factory=list)
    drive_time_p50_s: float | None = None
    """Half of the area's people live within this drive time (s) of the unit's nearest base; None: not reachable."""
    drive_time_p90_s: float | None = None
    """Nine in ten of the area's people live within this drive time (s); None: more than one in ten unreachable."""
    limit_s: float = 1800.0

    @property
    def population_share(self) -> float:
        """Share of the area's population reached (0..1)."""
        return self.population_reached / self.population if self.population else 0.0

    @property
    def margin_s(self) -> float | None:
        """Seconds to spare at the 90th percentile of people (limit − p90; negative: over the limit); None when more
        than one in ten is unreachable. Says why a verdict is what it is: a verdict that flips between profiles has a
        small margin."""
        return None if self.drive_time_p90_s is None else self.limit_s - self.drive_time_p90_s

    @property
    def gap_population(self) -> float:
        """People in the area not reached within the limit."""
        return self.population - self.population_reached

    def to_dict(self) -> dict:
        """The ``asih audit --json`` row."""
        return {
            "unit": self.unit,
            "unit_id": self.unit_id,
            "area_id": self.area_id,
            "approved": self.approved,
            "population_share": floor4(self.population_share),
            "land_share": floor4(self.land_share),
            "road_share": floor4(self.road_share),
            "verdict": self.verdict,
            "population": round(self.population),
            "gap_population": round(self.gap_population),
            "base_precision": self.base_precision,
            "drive_time_p50_s": self.drive_time_p50_s,
            "drive_time_p90_s": self.drive_time_p90_s,
            "margin_s": None if self.margin_s is None else round(self.margin_s, 1),
            "gaps": self.gaps,
            "most_out_of_reach": self.gaps[:5],
        }


@dataclass
class UnitAudit:
    """All of one unit's rows: approved areas, and the areas it reaches well but is not approved for."""

    unit: Unit
    approvals: list[ApprovalAudit]
    reaches_not_approved: list[ApprovalAudit]

    def rows(self) -> list[ApprovalAudit]:
        """Approved rows first, then the not-approved ones."""
        return [*self.approvals, *self.reaches_not_approved]


class CoverageAuditor:
    """Audits units against the prepared state (one network profile and one limit).

    Parameters
    ----------
    settings : thresholds (``audit_*``) and the default limit.
    net, model, registry, trees, samples : the prepared state.
    limit_s : drive-time limit (s); defaults to ``settings.limit_s``.
    day : the day whose approvals ``registry`` holds (:class:`registry.asof.Approvals`), stated by every output.
    road_edges : another auditor's ``(edges, edge_area)`` over the same network and areas (they do not depend on the
        profile, so :func:`profile_auditors` computes them once); computed when not given.
    """

    def __init__(
        self,
        settings: Settings,
        net: RoadNetwork,
        model: AreaModel,
        registry: Registry,
        trees: BaseTrees,
        samples: Samples,
        limit_s: float | None = None,
        day: date | None = None,
        road_edges: tuple[np.ndarray, np.ndarray] | None = None,
    ):
        self.settings = settings
        self.day = day
        """The day whose approvals ``registry`` holds (None: the providers file as read, undated)."""
        self.net = net
        self.model = model
        self.registry = registry
        self.trees = trees
        self.samples = samples
        self.limit_s = float(limit_s or settings.limit_s)
        self.area_ids = [int(a) for a in model.areas["id"]]
        self.unit_order = [u.id for u in registry.units]
        pop, land = samples.population, samples.land
        self.pop_times = trees.unit_times(net, pop.snaps, self.unit_order)[0]
        """Drive time (s, inf: unreachable) from each unit's nearest base to each population point: units × points."""
        self.pop_reached = self.pop_times <= self.limit_s
        land_ok = land.snaps.distance_m <= settings.audit_land_reach_m
        self.land_reached = (trees.unit_times(net, land.snaps, self.unit_order)[0] <= self.limit_s) & land_ok
        self._edges, self._edge_area = road_edges if road_edges is not None else self._road_edges()

    def verdict(self, share: float) -> str:
        """'supported', 'at risk' or 'unsupported' for a population share (thresholds from settings)."""
        if share >= self.settings.audit_supported_share:
            return "supported"
        if share >= self.settings.audit_at_risk_share:
            return "at risk"
        return "unsupported"

    def _not_approved(self, share: float) -> str:
        return NOT_APPROVED if share >= self.settings.audit_supported_share else "not approved"

    def node_times(self, unit_id: str) -> np.ndarray:
        """Drive time (s) from the unit's nearest base to every node."""
        return self.trees.times[self.trees.rows_of(unit_id)].min(axis=0)

    def audit_unit(self, unit_id: str, also: Iterable[int] = ()) -> UnitAudit:
        """Every approved area of one unit, and the non-approved areas it reaches at the supported share (and those
        in ``also`` whatever it reaches: the same rows under another profile)."""
        also = {int(a) for a in also}
        unit = self.registry.get(unit_id)
        i = self.unit_order.index(unit.id)
        pop, land = self.samples.population, self.samples.land
        road = self._road_reach(self.node_times(unit.id))
        road_len = self.net.edge_length_m[self._edges]
        approvals, others = [], []
        for area_id in self.area_ids:
            in_pop, in_land, in_road = pop.area_id == area_id, land.area_id == area_id, self._edge_area == area_id
            population = float(pop.weight[in_pop].sum())
            reached = float(pop.weight[in_pop & self.pop_reached[i]].sum())
            share = reached / population if population else 0.0
            approved = area_id in unit.areas
            if not approved and share < self.settings.audit_supported_share and area_id not in also:
                continue
            row = ApprovalAudit(
                unit_id=unit.id,
                unit=unit.unit,
                area_id=area_id,
                approved=approved,
                population=population,
                population_reached=reached,
                land_share=_share(land.weight, in_land, self.land_reached[i]),
                road_share=float(road[in_road].sum() / road_len[in_road].sum()) if in_road.any() else 0.0,
                verdict=self.verdict(share) if approved else self._not_approved(share),
                base_precision=unit.precision,
                drive_time_p50_s=_weighted_quantile(self.pop_times[i][in_pop], pop.weight[in_pop], 0.5),
                drive_time_p90_s=_weighted_quantile(self.pop_times[i][in_pop], pop.weight[in_pop], 0.9),
                limit_s=self.limit_s,
            )
            if approved:
                row.gaps = _gap_places(pop, in_pop & ~self.pop_reached[i])
                approvals.append(row)
            else:
                others.append(row)
        return UnitAudit(unit, approvals, others)

    def audit_all(self) -> list[UnitAudit]:
        """Audit every unit of the registry, in file order."""
        return [self.audit_unit(u.id) for u in self.registry.units]

    def gap_polygons(self, unit_id: str) -> gpd.GeoDataFrame:
        """The land of the unit's approved areas not reached within the limit, as polygons (EPSG:3006).

        Columns ``unit_id, unit, area_id, population, land_km2, where, base_precision``; one row per
        contiguous gap, largest population first.
        """
        unit = self.registry.get(unit_id)
        i = self.unit_order.index(unit.id)
        land, pop, half = self.samples.land, self.samples.population, self.samples.cell_m / 2
        frames = []
        for area_id in unit.areas:
            miss = (land.area_id == area_id) & ~self.land_reached[i]
            if not miss.any():
                continue
            boxes = shapely.box(land.x[miss] - half, land.y[miss] - half, land.x[miss] + half, land.y[miss] + half)
            area_land = self.model.land.loc[self.model.land["id"] == area_id].geometry.iloc[0]
            merged = shapely.intersection(shapely.coverage_union_all(boxes), area_land)
            parts = [p for p in shapely.get_parts(merged) if p.area > 0]
            gaps = gpd.GeoDataFrame({"area_id": [area_id] * len(parts)}, geometry=parts, crs=METRIC_CRS)
            unreached = (pop.area_id == area_id) & ~self.pop_reached[i]
            pts = shapely.points(pop.x[unreached], pop.y[unreached])
            idx_pt, idx_gap = shapely.STRtree(gaps.geometry.values).query(pts, predicate="intersects")
            gaps["population"] = np.round(
                np.bincount(idx_gap, weights=pop.weight[unreached][idx_pt], minlength=len(gaps))
            ).astype(int)
            frames.append(gaps)
        if not frames:
            return gpd.GeoDataFrame(
                {c: [] for c in ("unit_id", "unit", "area_id", "population", "land_km2", "where", "base_precision")},
                geometry=[], crs=METRIC_CRS,
            )
        gaps = gpd.GeoDataFrame(gpd.pd.concat(frames, ignore_index=True), crs=METRIC_CRS)
        gaps.insert(0, "unit", unit.unit)
        gaps.insert(0, "unit_id", unit.id)
        gaps["land_km2"] = gaps.geometry.area / 1e6
        gaps["where"] = [", ".join(_names_in(self.samples.land, g)) for g in gaps.geometry]
        gaps["base_precision"] = unit.precision
        return gaps.sort_values(["population", "land_km2"], ascending=False).reset_index(drop=True)

    def unreached_by_deso(self, unit_id: str) -> gpd.GeoDataFrame:
        """The people of the unit's approved areas out of reach, per DeSO (EPSG:3006): ``deso, area_id, population,
        unreached`` (persons) and ``x, y`` (their centre), for the DeSOs with anyone out of reach, most first. Maps shade gaps by
        these, not by land: a forest nobody lives in is not a gap in care."""
        unit = self.registry.get(unit_id)
        pop = self.samples.population
        miss = np.isin(pop.area_id, list(unit.areas)) & ~self.pop_reached[self.unit_order.index(unit.id)]
        codes, inverse = np.unique(pop.deso[miss].astype(str), return_inverse=True)
        w = pop.weight[miss]
        people = np.bincount(inverse, weights=w) if codes.size else np.zeros(0)
        cx = np.bincount(inverse, weights=w * pop.x[miss]) / np.maximum(people, 1e-12) if codes.size else people
        cy = np.bincount(inverse, weights=w * pop.y[miss]) / np.maximum(people, 1e-12) if codes.size else people
        deso = self.model.deso.reset_index(drop=True)
        out = deso[deso["deso"].isin(codes[people >= 0.5])][["deso", "area_id", "population", "geometry"]].copy()
        at = {c: k for k, c in enumerate(codes)}
        k = out["deso"].map(at).to_numpy(dtype=int)
        out["unreached"] = np.round(people[k]).astype(int)
        out["x"], out["y"] = cx[k], cy[k]  # where the people out of reach live (their weighted centre, EPSG:3006)
        return out.sort_values("unreached", ascending=False).reset_index(drop=True)

    def _road_edges(self) -> tuple[np.ndarray, np.ndarray]:
        """One directed edge per road (two-way roads once, ferries excluded), and its area by midpoint."""
        net = self.net
        first = ((net.edge_rev < 0) | (np.arange(net.n_edges) < net.edge_rev)) & ~net.edge_ferry
        edges = np.flatnonzero(first)
        mid = shapely.points(
            (net.node_x[net.edge_u[edges]] + net.node_x[net.edge_v[edges]]) / 2,
            (net.node_y[net.edge_u[edges]] + net.node_y[net.edge_v[edges]]) / 2,
        )
        units = self.model.units
        idx_pt, idx_unit = shapely.STRtree(units.geometry.values).query(mid, predicate="within")
        area = np.full(edges.size, -1, dtype=np.int64)
        area[idx_pt] = units["area_id"].to_numpy()[idx_unit]
        return edges, area

    def _road_reach(self, times: np.ndarray) -> np.ndarray:
        """Reached length (m) of each road: from either end, as far as the remaining time allows."""
        net, e = self.net, self._edges
        from_u = np.clip((self.limit_s - times[net.edge_u[e]]) / np.maximum(net.edge_time_s[e], 1e-9), 0, 1)
        rev = net.edge_rev[e]
        t_rev = np.maximum(net.edge_time_s[np.maximum(rev, 0)], 1e-9)
        from_v = np.where(rev >= 0, np.clip((self.limit_s - times[net.edge_v[e]]) / t_rev, 0, 1), 0.0)
        return np.minimum(1.0, from_u + from_v) * net.edge_length_m[e]


def profile_auditors(auditor: CoverageAuditor, profiles: Iterable[str] = AUDIT_PROFILES,
                     rebuild: bool = True) -> dict[str, CoverageAuditor]:
    """Auditors of the same state (samples, registry, limit) under each profile, in the order given.

    The network's arrays and snap index are shared, and so are the roads and their areas (the same in every
    profile: ≈ 0.4 s each); each profile reads its base trees from the cache (computed, in a fraction of a second,
    when missing and ``rebuild``).
    """
    out = {}
    for name in profiles:
        net = auditor.net.with_profile(name)
        if net is auditor.net:
            out[name] = auditor
            continue
        trees = load_base_trees(auditor.settings, net, auditor.registry, rebuild=rebuild)
        out[name] = CoverageAuditor(auditor.settings, net, auditor.model, auditor.registry, trees, auditor.samples,
                                    auditor.limit_s, day=auditor.day, road_edges=(auditor._edges, auditor._edge_area))
    return out


def floor_share(share: float | None, decimals: int = 2) -> float | None:
    """The one share rounding: a share (0..1) as a percentage floored, never rounded, to ``decimals``
    (0.94997 → 94.99, so a share below a verdict threshold never shows at it). None (or NaN) stays None."""
    if share is None or share != share:
        return None
    scale = 10**decimals
    return math.floor(float(share) * 100 * scale + 1e-9) / scale


def floor4(share: float) -> float:
    """A share floored (not rounded) to 4 decimals of the fraction (:func:`floor_share` at 2 decimals of a
    percent): 0.94997 stays below the 0.95 threshold as 0.9499."""
    return round(floor_share(share, 2) / 100, 6)


def _weighted_quantile(times: np.ndarray, weight: np.ndarray, q: float) -> float | None:
    """The people-weighted ``q`` quantile of drive times (s, rounded to 0.1), the smallest time by which a share
    ``q`` of the weight is reached; None when it is not reached at all (unreachable points count as infinite)."""
    total = float(weight.sum())
    if total <= 0:
        return None
    order = np.argsort(times, kind="stable")
    cum = np.cumsum(weight[order])
    k = int(np.searchsorted(cum, q * total - 1e-9))
    t = float(times[order][min(k, order.size - 1)])
    return round(t, 1) if math.isfinite(t) else None


def _share(weight: np.ndarray, mask: np.ndarray, reached: np.ndarray) -> float:
    total = float(weight[mask].sum())
    return float(weight[mask & reached].sum()) / total if total else 0.0


def _gap_places(points: SamplePoints, unreached: np.ndarray, top: int = 10) -> list[dict]:
    """Unreached population by place (Stockholm stadsdel or municipality), most people first."""
    if not unreached.any():
        return []
    places, inverse = np.unique(points.place[unreached].astype(str), return_inverse=True)
    pop = np.bincount(inverse, weights=points.weight[unreached])
    order = np.argsort(-pop)[:top]
    return [{"where": str(places[k]), "population": int(round(pop[k]))} for k in order if pop[k] >= 0.5]


def _names_in(land: SamplePoints, geom: shapely.Geometry, top: int = 4) -> list[str]:
    """Places of the land cells whose centres fall in ``geom``, largest land first."""
    xmin, ymin, xmax, ymax = geom.bounds
    box = (land.x >= xmin) & (land.x <= xmax) & (land.y >= ymin) & (land.y <= ymax)
    idx = np.flatnonzero(box)
    inside = idx[shapely.contains_xy(geom, land.x[idx], land.y[idx])]
    if inside.size == 0:
        return []
    places, inverse = np.unique(land.place[inside].astype(str), return_inverse=True)
    km2 = np.bincount(inverse, weights=land.weight[inside])
    return [str(places[k]) for k in np.argsort(-km2)[:top]]
