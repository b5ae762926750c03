"""The what-if engine (one for the planning page, the planning tables and the CLI): a unit's bases moved, added or
removed, answered in tens of milliseconds.

Method. Only the bases that moved or were added get new trees — point trees grown over the whole network exactly as
the prepared base trees are (:func:`routing.basetrees.compute_base_trees`, ~5 ms each); the unit's other bases keep
their prepared rows. From the unit's trees, in one pass:

- the limit's polygon is one contour of one time field, the minimum over the unit's bases
  (:func:`routing.isochrones.unit_bands` on the prepared contour grid of the network);
- the audit rows are :meth:`routing.audit.CoverageAuditor.audit_unit` of an auditor holding only this unit's trees,
  sharing the prepared auditor's sample points, settings and road index: the same figures and verdicts as
  ``asih audit`` / ``GET /v1/audit/{unit}`` would give with the bases so placed.

"Before" is the prepared state, as ``GET /v1/audit/{unit}`` answers today. Results are memoised in small, bounded,
thread-safe caches with single-flight (:class:`Memo`): dragging a base back to where it was costs nothing, and two
requests for the same placement compute it once. At most :data:`MAX_PARALLEL` computations run at once.

Polygons are written by :mod:`routing.whatif_geojson` (simplified for drawing) as :class:`core.geojson.GeoJSONText`,
so :func:`api.executor.json_bytes` embeds them as written. ``asih audit --move-base`` and
``POST /v1/planning/what-if`` parse their text changes in :mod:`routing.whatif` and audit "after" here
(:meth:`LiveWhatIf.audit_with`).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from geo.areas.locate import AreaLocator
from core.crs import verify_lat_lon
from core.geojson import GeoJSONText
from core.memo import Memo
from geo.providers import Base, Registry, Unit
from routing.audit import ApprovalAudit, CoverageAuditor, UnitAudit
from routing.basetrees import BaseTrees, compute_base_trees
from routing.isochrones import subset_snaps, unit_bands
from routing.snapping import SnapArray
from routing.time_grid import contour_grid
from routing.whatif_geojson import COORD_DECIMALS, SIMPLIFY_M, dumps, geojson_geometry  # noqa: F401 - re-exported

MAX_CHANGES = 5
"""Most changes (moves, additions and removals together) in one what-if."""

MAX_PARALLEL = 2
"""Most what-if computations at once (each uses one core for ~50 ms; the machine has two)."""

_ROW_KEYS = ("unit", "unit_id", "area_id", "approved")
"""Keys of ``ApprovalAudit.to_dict`` that name the row rather than describe a side (before / after)."""

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

WHAT_IF_PRECISION = "address"
"""A base given as coordinates by the user is exact for the question asked."""


class WhatIfError(ValueError):
    """A what-if change names an unknown unit or base, or leaves a unit without bases."""


class TooManyChanges(WhatIfError):
    """More than :data:`MAX_CHANGES` changes in one what-if."""


class UnknownBase(WhatIfError):
    """A change names a base the unit does not have, or names one base twice."""


class OutsideCounty(WhatIfError):
    """A new position lies outside the areas (Stockholm County)."""


@dataclass(frozen=True)
class BaseMove:
    """Base ``base`` (0-based index into the unit's bases, as ``GET /v1/providers/{unit}`` lists them) moved to
    ``lat``, ``lon`` (WGS84 degrees)."""

    base: int
    lat: float
    lon: float


@dataclass(frozen=True)
class Changes:
    """What a planner changed: moves, additions (lat, lon in WGS84 degrees) and removals (0-based base indices)."""

    move: tuple[BaseMove, ...] = ()
    add: tuple[tuple[float, float], ...] = ()
    remove: tuple[int, ...] = ()

    def __len__(self) -> int:
        return len(self.move) + len(self.add) + len(self.remove)


@dataclass(frozen=True)
class PlacedBase:
    """A base of the unit after the changes: ``index`` is its index before (None for an added base); ``change`` is
    ``"moved"``, ``"added"`` or None."""

    base: Base
    index: int | None
    change: str | None


class _UnitAuditor(CoverageAuditor):
    """A :class:`CoverageAuditor` over one unit's trees that borrows the prepared auditor's road index (building it
    costs 0.2 s; it depends only on the network and the areas)."""

    def __init__(self, prepared: CoverageAuditor, unit: Unit, trees: BaseTrees):
        self._prepared = prepared
        super().__init__(prepared.settings, prepared.net, prepared.model, Registry((unit,), prepared.registry.version),
                         trees, prepared.samples, prepared.limit_s)

    def _road_edges(self) -> tuple[np.ndarray, np.ndarray]:
        return self._prepared._edges, self._prepared._edge_area


class LiveWhatIf:
    """What-if answers for one prepared state (an auditor: network, profile, limit, samples, registry, base trees).

    Parameters
    ----------
    auditor : CoverageAuditor
        The prepared auditor (``Service.auditor()``): "before" is its audit.
    locator : AreaLocator
        Decides whether a new position lies in the county.
    max_changes : int
        See :data:`MAX_CHANGES`.
    """

    def __init__(self, auditor: CoverageAuditor, locator: AreaLocator, max_changes: int = MAX_CHANGES):
        self.auditor = auditor
        self.locator = locator
        self.max_changes = max_changes
        self.net = auditor.net
        self.trees = auditor.trees
        self.limit_s = auditor.limit_s
        self.area_names = {int(i): str(n) for i, n in zip(auditor.model.areas["id"], auditor.model.areas["name"])}
        contour_grid(self.net)  # built once per network (~0.3 s), here rather than in the first request
        self._base_trees: Memo = Memo(64)  # one row (~0.3 MB) per new position
        self._reaches: Memo = Memo(32)  # bases and polygon per placement (what a drag asks for)
        self._answers: Memo = Memo(32)  # audit per placement
        self._before: Memo = Memo(32)
        self._slots = threading.BoundedSemaphore(MAX_PARALLEL)

    # -- the one call -------------------------------------------------------------------------------------------------
    def answer(self, unit_key: str, changes: Changes = Changes(), parts: str = "all") -> dict[str, Any]:
        """The what-if of one unit (id or name): its bases, the audit rows of its approved areas before and after,
        and the limit's polygon before and after (GeoJSON Features, EPSG:4326).

        With ``parts="polygon"`` (a base being dragged, or sent alongside the full answer so the map is redrawn
        before the table): the bases and the polygon after only, its ``population`` null; no audit (about half the
        work), no polygon before. The polygon is memoised apart from the audit: a full answer and a polygon answer
        for the same placement computed at once share the polygon and run the audit beside it.

        Raises
        ------
        geo.providers.UnknownUnit
            No such unit.
        WhatIfError
            :class:`TooManyChanges`, :class:`UnknownBase`, :class:`OutsideCounty`, a removal that leaves no base, or
            coordinates that are not WGS84 degrees (each with a sentence).
        """
        unit = self.auditor.registry.get(unit_key)
        placed = self.place(unit, changes)
        key = (unit.id, tuple((p.base.lat, p.base.lon, p.index, p.change) for p in placed))
        if parts != "polygon":  # the audit first: a polygon request sent alongside computes the polygon meanwhile
            after = self._answers.get_or_compute(key, lambda: self._bounded(lambda: self._after(unit, placed)))
        reach = self._reaches.get_or_compute(key, lambda: self._bounded(lambda: self._reach(unit, placed)))
        head = {"unit": unit.id, "unit_name": unit.unit, "limit_s": self.limit_s, "profile": self.net.profile,
                "changes": len(changes), "bases": reach["bases"]}
        if parts == "polygon":
            return {**head, "polygon": reach["polygon"]}
        before = self._before.get_or_compute(unit.id, lambda: self._bounded(lambda: self._before_of(unit)))
        polygon = reach["polygon"]
        return {
            **head,
            "rows": _pair_rows(before["audit"].approvals, after["audit"].approvals, self.area_names),
            "reaches_not_approved": _pair_rows(before["audit"].reaches_not_approved,
                                               after["audit"].reaches_not_approved, self.area_names),
            "polygon": {**polygon, "properties": {**polygon["properties"], "population": after["population"]}},
            "before_polygon": before["polygon"],
        }

    def place(self, unit: Unit, changes: Changes) -> list[PlacedBase]:
        """The unit's bases after ``changes`` (moves in place, removals dropped, additions last); checks every change.

        Raises :class:`WhatIfError` (see :meth:`answer`)."""
        _verify_count(changes, self.max_changes)
        n = len(unit.bases)
        named: set[int] = set()
        for what, index in [*((f"move[{i}]", m.base) for i, m in enumerate(changes.move)),
                            *((f"remove[{i}]", r) for i, r in enumerate(changes.remove))]:
            if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < n:
                raise UnknownBase(f"{what}: {unit.unit} has {_bases_text(n)}; base indices start at 0 as in "
                                  f"GET /v1/providers/{unit.id}.")
            if index in named:
                raise UnknownBase(f"{what}: base {index} is named by more than one change; give one change per base.")
            named.add(index)
        if len(changes.remove) == n and not changes.add:
            raise WhatIfError(f"{unit.unit} would have no base left: move a base instead of removing the last one.")
        for i, m in enumerate(changes.move):
            self._verify_point(f"move[{i}]", m.lat, m.lon)
        for i, (lat, lon) in enumerate(changes.add):
            self._verify_point(f"add[{i}]", lat, lon)

        moved = {m.base: m for m in changes.move}
        removed = set(changes.remove)
        placed = []
        for i, b in enumerate(unit.bases):
            if i in removed:
                continue
            if i in moved:
                m = moved[i]
                placed.append(PlacedBase(Base(b.name, float(m.lat), float(m.lon), WHAT_IF_PRECISION, "what-if: moved"),
                                         i, "moved"))
            else:
                placed.append(PlacedBase(b, i, None))
        for k, (lat, lon) in enumerate(changes.add):
            placed.append(PlacedBase(Base(f"Added base {k + 1}", float(lat), float(lon), WHAT_IF_PRECISION,
                                          "what-if: added"), None, "added"))
        return placed

    # -- computing ------------------------------------------------------------------------------------------------------
    def _bounded(self, compute: Callable[[], V]) -> V:
        with self._slots:
            return compute()

    def _verify_point(self, what: str, lat: float, lon: float) -> None:
        try:
            lat, lon = float(lat), float(lon)
            verify_lat_lon(lat, lon)
        except (TypeError, ValueError) as exc:
            raise WhatIfError(f"{what}: {exc}" if isinstance(exc, ValueError) else
                              f"{what}: lat and lon must be numbers (WGS84 degrees).") from None
        loc = self.locator.locate(lat, lon)
        if not loc.inside:
            raise OutsideCounty(f"{what}: {loc.message or 'Outside Stockholm County.'} Place the base inside the county.")

    def _tree_of(self, unit: Unit, base: Base) -> BaseTrees:
        key = (self.net.profile, round(base.lat, 7), round(base.lon, 7))
        return self._base_trees.get_or_compute(key, lambda: _point_tree(self.net, unit, base))

    def unit_trees(self, unit: Unit, placed: Sequence[PlacedBase]) -> BaseTrees:
        """The trees of the unit's bases after the changes: prepared rows for the bases that stay, new point trees for
        the moved and added ones (memoised per position)."""
        rows = self.trees.rows_of(unit.id)
        parts: list[BaseTrees] = []
        for p in placed:
            if p.change is None:
                r = rows[p.index : p.index + 1]
                parts.append(BaseTrees([unit.id], [p.base], subset_snaps(self.trees.snaps, r), self.trees.times[r],
                                       self.trees.profile))
            else:
                t = self._tree_of(unit, p.base)
                parts.append(BaseTrees([unit.id], [p.base], t.snaps, t.times, t.profile))
        return _stack(parts)

    def audit_with(self, before: Unit, after: Unit) -> UnitAudit:
        """The audit of unit ``before`` with its bases replaced by ``after``'s (the same unit, bases changed by the
        CLI's or the planning tables' what-if): bases it keeps read the prepared trees, the others get a point tree
        (memoised per position), as every answer of this engine."""
        kept = {(b.name, b.lat, b.lon): i for i, b in enumerate(before.bases)}
        placed = [PlacedBase(b, kept[(b.name, b.lat, b.lon)], None) if (b.name, b.lat, b.lon) in kept
                  else PlacedBase(b, None, "moved") for b in after.bases]
        trees = self.unit_trees(before, placed)
        with np.errstate(invalid="ignore"):  # 0 · inf on one-way roads, as in _point_tree
            return _UnitAuditor(self.auditor, after, trees).audit_unit(after.id)

    def _reach(self, unit: Unit, placed: Sequence[PlacedBase]) -> dict[str, Any]:
        """The bases after the changes (with their snap distances) and the limit's polygon, population unknown."""
        trees = self.unit_trees(unit, placed)
        bases = [{"index": p.index, "name": p.base.name, "lat": p.base.lat, "lon": p.base.lon,
                  "precision": p.base.precision, "change": p.change,
                  "snap_m": round(float(trees.snaps.distance_m[k]), 1), "far_from_road": bool(trees.snaps.far[k])}
                 for k, p in enumerate(placed)]
        return {"bases": bases, "polygon": self._polygon(unit, trees, None)}

    def _after(self, unit: Unit, placed: Sequence[PlacedBase]) -> dict[str, Any]:
        """The audit after the changes and the people reached within the limit."""
        trees = self.unit_trees(unit, placed)
        changed = Unit(unit.id, unit.unit, unit.organisation, unit.areas, tuple(p.base for p in placed),
                       unit.capacity_note, unit.contact)
        with np.errstate(invalid="ignore"):  # 0 · inf on one-way roads, as in _point_tree
            auditor = _UnitAuditor(self.auditor, changed, trees)
        audit = auditor.audit_unit(changed.id)
        people = float(auditor.samples.population.weight[auditor.pop_reached[0]].sum())
        return {"audit": audit, "population": int(round(people))}

    def _before_of(self, unit: Unit) -> dict[str, Any]:
        rows = self.trees.rows_of(unit.id)
        trees = BaseTrees([unit.id] * len(rows), [self.trees.bases[r] for r in rows], subset_snaps(self.trees.snaps, rows),
                          self.trees.times[rows], self.trees.profile)
        audit = self.auditor.audit_unit(unit.id)
        return {"audit": audit, "polygon": self._polygon(unit, trees, self._reached_population(audit.unit.id))}

    def _reached_population(self, unit_id: str) -> float:
        i = self.auditor.unit_order.index(unit_id)
        return float(self.auditor.samples.population.weight[self.auditor.pop_reached[i]].sum())

    def _polygon(self, unit: Unit, trees: BaseTrees, population: float | None) -> dict[str, Any]:
        band = unit_bands(self.net, trees, unit.id, [self.limit_s / 60.0])[0]
        return {
            "type": "Feature",
            "properties": {"unit_id": unit.id, "minutes": band.minutes,
                           "population": None if population is None else int(round(population)),
                           "area_km2": round(band.area_km2, 1), "profile": self.net.profile},
            "geometry": GeoJSONText(geojson_geometry(band.geometry)),
        }


def _point_tree(net, unit: Unit, base: Base) -> BaseTrees:
    # A base snapped to the very end of a one-way road gives 0 · inf on the reverse arc, which the tree discards.
    with np.errstate(invalid="ignore"):
        return compute_base_trees(net, [(unit, base)])


def _verify_count(changes: Changes, max_changes: int) -> None:
    n = len(changes)
    if n > max_changes:
        raise TooManyChanges(f"At most {max_changes} changes at a time (moves, additions and removals together); "
                             f"this what-if has {n}.")


def _bases_text(n: int) -> str:
    return "one base (index 0)" if n == 1 else f"{n} bases (indices 0–{n - 1})"


def _stack(parts: Sequence[BaseTrees]) -> BaseTrees:
    """One :class:`BaseTrees` of several, rows in order."""
    snaps = SnapArray(*(np.concatenate([getattr(p.snaps, f) for p in parts])
                        for f in ("edge", "fraction", "distance_m", "x", "y", "far")))
    return BaseTrees([u for p in parts for u in p.unit_ids], [b for p in parts for b in p.bases], snaps,
                     np.vstack([p.times for p in parts]), parts[0].profile)


def _side(row: ApprovalAudit | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {k: v for k, v in row.to_dict().items() if k not in _ROW_KEYS}


def _pair_rows(before: list[ApprovalAudit], after: list[ApprovalAudit], names: dict[int, str]) -> list[dict]:
    """One row per area in either list (order of ``after``, then areas only before): ``area_id, area_name, approved,
    before, after, change`` (the population share's change, None when a side is missing)."""
    b = {r.area_id: r for r in before}
    a = {r.area_id: r for r in after}
    order = [*a, *(k for k in b if k not in a)]
    out = []
    for area_id in order:
        rb, ra = _side(b.get(area_id)), _side(a.get(area_id))
        change = None if rb is None or ra is None else round(ra["population_share"] - rb["population_share"], 4)
        out.append({"area_id": int(area_id), "area_name": names.get(int(area_id), ""),
                    "approved": (a.get(area_id) or b.get(area_id)).approved, "before": rb, "after": ra,
                    "change": change})
    return out


_ENGINES: weakref.WeakKeyDictionary[CoverageAuditor, LiveWhatIf] = weakref.WeakKeyDictionary()
_ENGINES_LOCK = threading.Lock()


def live_what_if(auditor: CoverageAuditor, locator: AreaLocator) -> LiveWhatIf:
    """The :class:`LiveWhatIf` of a prepared auditor (one per auditor, made on first use; its memos live as long as
    the auditor)."""
    with _ENGINES_LOCK:
        engine = _ENGINES.get(auditor)
        if engine is None or engine.locator is not locator:
            engine = _ENGINES[auditor] = LiveWhatIf(auditor, locator)
        return engine


def changes_from(move: Sequence[dict] = (), add: Sequence[dict] = (), remove: Sequence[int] = ()) -> Changes:
    """:class:`Changes` from the API's lists (``{"base", "lat", "lon"}``, ``{"lat", "lon"}``, indices)."""
    return Changes(
        tuple(BaseMove(int(m["base"]), float(m["lat"]), float(m["lon"])) for m in move),
        tuple((float(p["lat"]), float(p["lon"])) for p in add),
        tuple(int(i) for i in remove),
    )

