"""Eligibility: for a point, its area and every approved unit ranked by drive time from its nearest base.

Reads the precomputed base trees only (a snap and a few array lookups per request; no graph search).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from geo.areas.locate import AreaLocator, Location
from core.crs import to_metric, verify_lat_lon
from geo.providers import Base, Registry, Unit
from core.words import Note
from routing.basetrees import BaseTrees
from routing.network import RoadNetwork
from routing.snapping import Snap, SnapArray, snap_many

PRECISION_TEXTS = {"place": "base_precision_place", "unknown": "base_precision_unknown"}
"""The catalogue text (core/words.yaml) of the ``base_precision`` note for bases known by place only, or guessed."""


@dataclass(frozen=True)
class UnitAnswer:
    """One unit's answer for a point: drive time (s) from its nearest base, and whether it is approved there."""

    unit: Unit
    drive_time_s: float | None
    within_limit: bool
    base: Base
    approved: bool
    base_snap_m: float = 0.0


@dataclass
class PointAnswer:
    """Eligibility at one point. ``eligible`` is ranked by drive time; unreachable units come last."""

    location: Location
    snap: Snap | None
    eligible: list[UnitAnswer] = field(default_factory=list)
    reachable_not_approved: list[UnitAnswer] = field(default_factory=list)
    warnings: list[Note] = field(default_factory=list)
    snaps: SnapArray | None = None
    """The point snapped to the network (one row), for drive times under other profiles (same geometry)."""


class Eligibility:
    """Answers "who may take a patient here, and how far is each" from the prepared state.

    Parameters
    ----------
    net : the compiled road network (EPSG:3006).
    registry : provider units.
    locator : point → area.
    trees : drive-time trees of every base, on ``net``.
    limit_s : the ASIH drive-time limit (s).
    snap_warning_m : a point or base farther than this from the network (m) is flagged.
    """

    def __init__(
        self,
        net: RoadNetwork,
        registry: Registry,
        locator: AreaLocator,
        trees: BaseTrees,
        limit_s: float,
        snap_warning_m: float = 500.0,
    ):
        self.net = net
        self.registry = registry
        self.locator = locator
        self.trees = trees
        self.limit_s = float(limit_s)
        self.snap_warning_m = float(snap_warning_m)
        self._unit_order = [u.id for u in registry.units]

    def at(self, lat: float, lon: float, area_id: int | None = None,
           approvals: dict[str, tuple[int, ...]] | None = None) -> PointAnswer:
        """Eligibility at a WGS84 point (degrees): the point located, then :meth:`at_location`. Raises
        ``ValueError`` only for invalid coordinates."""
        verify_lat_lon(lat, lon)
        x, y = (float(v) for v in to_metric(lat, lon))
        return self.at_location(self.locator.locate_xy(x, y, lat=lat, lon=lon), x, y, area_id, approvals)

    def at_location(self, location: Location, x: float, y: float, area_id: int | None = None,
                    approvals: dict[str, tuple[int, ...]] | None = None) -> PointAnswer:
        """Eligibility at an EPSG:3006 point (metres) already located (``location``, from
        :meth:`geo.areas.locate.AreaLocator.locate_xy`): nothing is located or converted again.

        ``area_id`` is the area decided for the region around the point (or chosen by the user where the data cannot
        decide); when it differs from the point's own, the location takes it and drops its border warning, which
        was weighed. ``approvals`` (unit id → area ids in force, from the live registry for a date) replaces the
        units' approvals from the providers file; units it does not name keep theirs.
        """
        if area_id is not None and location.area_id != area_id:
            location = replace(
                location, area_id=area_id, area_name=self.locator.area_names[area_id],
                area_provenance=self.locator.area_provenance[area_id], border_warning=None, note=None,
            )
        if not location.inside:
            return PointAnswer(location, None, warnings=[location.note])
        snaps = snap_many(self.net, np.array([x], dtype=float), np.array([y], dtype=float))
        times, rows = self.trees.unit_times(self.net, snaps, self._unit_order)
        answer = self._answer(location, snaps[0], times[:, 0], rows[:, 0], approvals)
        answer.snaps = snaps
        return answer

    def _answer(self, location: Location, snap: Snap, times: np.ndarray, rows: np.ndarray,
                approvals: dict[str, tuple[int, ...]] | None = None) -> PointAnswer:
        answers = []
        for unit, t, row in zip(self.registry.units, times, rows):
            reachable = bool(np.isfinite(t))
            answers.append(
                UnitAnswer(
                    unit=unit,
                    drive_time_s=round(float(t), 1) if reachable else None,
                    within_limit=bool(reachable and t <= self.limit_s),
                    base=self.trees.bases[int(row)],
                    approved=location.area_id in (unit.areas if approvals is None else approvals.get(unit.id, unit.areas)),
                    base_snap_m=float(self.trees.snaps.distance_m[int(row)]),
                )
            )
        order = sorted(answers, key=lambda a: (a.drive_time_s is None, a.drive_time_s or 0.0))
        eligible = [a for a in order if a.approved]
        others = [a for a in order if not a.approved and a.within_limit]
        return PointAnswer(location, snap, eligible, others, self._warnings(location, snap, eligible))

    def _warnings(self, location: Location, snap: Snap, eligible: list[UnitAnswer]) -> list[Note]:
        warnings = []
        if location.border_warning:
            warnings.append(location.border_warning.note)
        if location.note:
            warnings.append(location.note)
        if location.area_provenance != "confirmed":
            warnings.append(Note("area_hypothesis", "info", {"area": location.area_id}))
        if snap.far:
            warnings.append(Note("far_from_road", "decisive", {"distance_m": float(snap.distance_m)}))
        for precision, text in PRECISION_TEXTS.items():
            names = [a.unit.unit for a in eligible if a.base.precision == precision]
            if names:
                warnings.append(Note("base_precision", "info", {"units": names}, text))
        for a in eligible:
            if a.base_snap_m > self.snap_warning_m:
                warnings.append(Note("base_far_from_road", "info", {"unit": a.unit.unit, "base": a.base.name,
                                                                    "distance_m": float(a.base_snap_m)}))
        if eligible and not any(a.within_limit for a in eligible):
            warnings.append(Note("none_within_limit", "decisive", {"minutes": self.limit_s / 60}))
        if not eligible:
            warnings.append(Note("none_approved", "decisive", {"area": location.area_id}))
        return warnings

