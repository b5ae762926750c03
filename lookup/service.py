"""The loaded service state, shared by API and CLI: areas, network, base trees, geocoder, the live registry (the one
source of approvals), auditors per day and profile, the wide regions' sampler. The lookup use case itself is
:class:`lookup.case.LookupCase`, mixed in.

Everything is read from the prepared cache once, at start; a lookup then costs a geocode, a point-in-polygon
and a snap. A command-line caller (``Service.load(..., eager=False)``) reads the other traffic profiles' base trees,
the geocoder and the wide regions' sampler on first use instead, each once, so a command waits only for what it
uses. Nothing here logs or stores the query.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import shapely

from lookup.answer import TRAFFIC_PROFILES
from lookup.case import WIDE_REGION_M, LookupCase  # noqa: F401 - WIDE_REGION_M re-exported
from geo.areas.locate import AreaLocator
from geo.areas.model import AreaModel, load_area_model
from geo.areas.region import RegionResolver
from geo.areas.units import AdminUnits
from geo.geocode import Geocoder, Region, get_geocoder
from geo.providers import Registry, read_registry
from core.settings import Settings, verify_environment
from registry.asof import Approvals, today
from routing.basetrees import BaseTrees, load_base_trees
from routing.eligibility import Eligibility, PointAnswer
from routing.network import RoadNetwork
from routing.prepare import load_network
from routing.region_times import RegionPoints, RegionSampler, TimeRange, unit_ranges

if TYPE_CHECKING:
    from registry.service import RegistryService

_LOAD_LOCK = threading.RLock()
"""Serialises the first reads of lazily loaded parts (re-entrant: the geocoder's first read uses ``units``)."""


class _loaded_once:  # noqa: N801 - used as a decorator, like functools.cached_property
    """A cached property read once per service under :data:`_LOAD_LOCK`: two threads asking first share one read
    (``functools.cached_property`` has no lock since Python 3.12). A value put in the instance's ``__dict__`` (by
    :meth:`Service.load`) is used as is; after the first read the attribute costs what a plain one does."""

    def __init__(self, read: Callable):
        self.read = read
        self.__doc__ = read.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        with _LOAD_LOCK:
            if self.name not in obj.__dict__:
                obj.__dict__[self.name] = self.read(obj)
        return obj.__dict__[self.name]


class LazyProfiles(Mapping):
    """The other audit profiles' (network, base trees), each read from the cache when first asked for, once.

    Keys are known without reading (every audit profile but ``network``'s, in :data:`TRAFFIC_PROFILES` order), so
    ``name in traffic`` reads nothing; ``traffic[name]`` reads that profile only; iterating values reads them all.
    """

    def __init__(self, network: RoadNetwork, read_trees: Callable[[RoadNetwork], BaseTrees]):
        self._network = network
        self._read_trees = read_trees
        self._names = [name for name in TRAFFIC_PROFILES if name != network.profile]
        self._loaded: dict[str, tuple[RoadNetwork, BaseTrees]] = {}

    def __getitem__(self, name: str) -> tuple[RoadNetwork, BaseTrees]:
        if name not in self._names:
            raise KeyError(name)
        with _LOAD_LOCK:
            if name not in self._loaded:
                net = self._network.with_profile(name)
                self._loaded[name] = (net, self._read_trees(net))
        return self._loaded[name]

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


@dataclass
class Service(LookupCase):
    """Prepared state for one speed profile and limit; answers lookups (:class:`lookup.case.LookupCase`)."""

    settings: Settings
    areas: AreaModel
    locator: AreaLocator
    registry: Registry
    network: RoadNetwork
    eligibility: Eligibility
    live: RegistryService | None = None
    """The live registry (free places, dated approvals); None answers from the providers file alone."""
    traffic: Mapping[str, tuple[RoadNetwork, BaseTrees]] = field(default_factory=dict)
    """The other audit profiles' networks and base trees (:func:`traffic_trees`, or :class:`LazyProfiles` read on
    first use), so a lookup can say which units are within the limit only without traffic; empty: answers give the
    service's own profile only."""
    rebuild: bool = True
    """Whether a part read on first use (the geocoder, the wide regions' sampler) is rebuilt when missing, stale or
    damaged, as :meth:`load` was asked to (False: it raises :class:`~core.cache.CacheError`)."""

    @classmethod
    def load(cls, settings: Settings, profile: str | None = None, rebuild: bool = True, eager: bool = True,
             checked: tuple[AreaModel, Registry] | None = None) -> Service:
        """Load the prepared cache (rebuilding stale parts unless ``rebuild`` is False). Raises
        :class:`core.settings.UnknownSetting` for an ``ASIH_`` environment variable that is no setting.

        ``eager`` (the server) reads everything now, so the first referrer never waits; ``eager=False`` (the CLI)
        reads the other traffic profiles' base trees (:attr:`traffic`, per profile), the geocoder and the wide
        regions' sampler on first use, once, under a lock: a command waits only for what it uses. A damaged entry
        among those is then refused (or rebuilt, with ``rebuild``) when first used rather than at start.

        ``checked`` is the area model and providers file the caller has just read and validated from these settings
        (the CLI's start checks, :func:`api.cli.checks.check_data`), so they are not read twice."""
        verify_environment()
        areas, registry = checked or (load_area_model(settings, rebuild=rebuild), read_registry(settings.providers_file))
        locator = AreaLocator(areas, settings.border_warning_m, settings.borough_border_margin_m)
        network = load_network(settings, profile=profile or settings.profile, rebuild=rebuild)
        trees = load_base_trees(settings, network, registry, rebuild=rebuild)
        eligibility = Eligibility(network, registry, locator, trees, settings.limit_s, settings.snap_warning_m)
        traffic = traffic_trees(settings, network, registry, rebuild=rebuild) if eager else \
            LazyProfiles(network, lambda net: load_base_trees(settings, net, registry, rebuild=rebuild))
        svc = cls(settings, areas, locator, registry, network, eligibility, traffic=traffic, rebuild=rebuild)
        if not eager:
            return svc
        # Load the index now, not on the first referrer's request.
        svc.__dict__["geocoder"] = get_geocoder(settings, build_if_missing=rebuild, units=svc.units)
        # And the wide regions' point index (≈ 0.2 s), not on the first wide lookup; damaged samples are refused
        # (or rebuilt) as every other cache entry at start.
        svc.__dict__["region_sampler"] = svc.make_region_sampler(rebuild)
        return svc

    @_loaded_once
    def geocoder(self) -> Geocoder:
        """The configured geocoder (offline by default): read by :meth:`load`, or on first use when loaded lazily."""
        return get_geocoder(self.settings, build_if_missing=self.rebuild, units=self.units)

    def live_registry(self) -> RegistryService:
        """The live registry: the one source of approvals (and free places). Opened from the settings on first use
        when the caller did not attach one (the API attaches its own at start); it imports the providers file only
        into an empty database."""
        if self.live is None:
            with _LIVE_LOCK:
                if self.live is None:
                    from registry.service import RegistryService

                    self.live = RegistryService.from_settings(self.settings)
        return self.live

    def approvals_on(self, day: date | None = None) -> Approvals:
        """Every unit's approvals in force on ``day`` (default today in Stockholm), from the live registry.

        Never fails for want of the database: while it cannot be read, the last good read of ``day`` (with its
        time, ``read_at``); with none since start, the providers file's approvals (``source="file"``), which every
        answer then says are not confirmed by the registry (:meth:`lookup.case.LookupCase.approvals_notes`).
        """
        from registry.errors import Unavailable

        day = day or today()
        try:
            approvals, at = self.live_registry().approvals_read(day)
        except Unavailable:
            return Approvals.of(day, {u.id: tuple(u.areas) for u in self.registry.units}, source="file")
        return Approvals.of(day, approvals, read_at=at)

    def registry_on(self, approvals: Approvals | None = None) -> Registry:
        """The units with their areas as of ``approvals`` (default: today's)."""
        return (approvals or self.approvals_on()).apply(self.registry)

    def auditor(self, limit_s: float | None = None, approvals: Approvals | None = None, profile: str | None = None):
        """A coverage auditor over this state and the approvals in force on a day (default today, from the live
        registry), in ``profile`` (default the service's, i.e. the configured one), memoised per (limit, approvals,
        profile) in the service's bounded, thread-safe memo (:func:`core.memo.memo_of`); concurrent callers share
        one build. Sample points are read from the cache once."""
        from core.memo import memo_of
        from routing.audit import CoverageAuditor, profile_auditors
        from routing.population import load_samples

        approvals = approvals or self.approvals_on()
        memo = memo_of(self)
        key = float(limit_s or self.settings.limit_s)
        if profile is not None and profile != self.network.profile:
            return memo.get_or_compute(
                ("auditor", key, approvals, profile),
                lambda: profile_auditors(self.auditor(key, approvals), [profile])[profile],
                weigh=lambda a: a.pop_reached.nbytes + a.land_reached.nbytes + a.pop_times.nbytes + 1e6,
            )
        samples = memo.get_or_compute(
            ("samples",), lambda: load_samples(self.settings, self.network, self.areas),
            weigh=lambda s: sum(getattr(p, f).nbytes for p in (s.population, s.land) for f in ("weight", "x", "y")) * 4,
        )
        return memo.get_or_compute(
            ("auditor", key, approvals),
            lambda: CoverageAuditor(
                self.settings, self.network, self.areas, approvals.apply(self.registry), self.eligibility.trees,
                samples, key, day=approvals.day,
            ),
            weigh=lambda a: a.pop_reached.nbytes + a.land_reached.nbytes + 1e6,
        )

    def isochrone(self, unit_id: str, limit_s: float):
        """The union of a unit's per-base isochrones (EPSG:3006), memoised per (unit, limit) in the service's memo."""
        from core.memo import memo_of
        from routing.isochrones import isochrone

        def build():
            trees = self.eligibility.trees
            rows = trees.rows_of(unit_id)
            return shapely.union_all(
                [isochrone(self.network, trees.times[r], limit_s, origin=trees.snaps[int(r)]) for r in rows]
            )

        return memo_of(self).get_or_compute(("isochrone", unit_id, float(limit_s)), build,
                                            weigh=lambda g: 16.0 * shapely.get_num_coordinates(g) + 1e3)

    @cached_property
    def units(self) -> AdminUnits:
        """The county's municipalities, boroughs and districts with their areas and likely points."""
        return AdminUnits(self.areas)

    def traffic_times(self, answer: PointAnswer) -> dict[str, dict[str, float | None]]:
        """Drive times (s; None = unreachable) of the answer's eligible units under every audit profile:
        ``{unit_id: {profile: seconds}}`` (the answer's own profile from the answer; the others from their trees, on
        the answer's snap: the geometry is the same)."""
        own = self.network.profile
        out = {a.unit.id: {own: a.drive_time_s} for a in answer.eligible}
        if not out or answer.snaps is None:
            return out
        ids = list(out)
        for name, (net, trees) in self.traffic.items():
            times, _ = trees.unit_times(net, answer.snaps, ids)
            for uid, t in zip(ids, times[:, 0]):
                out[uid][name] = round(float(t), 1) if np.isfinite(t) else None
        return {uid: {p: by[p] for p in TRAFFIC_PROFILES if p in by} for uid, by in out.items()}

    @_loaded_once
    def region_sampler(self) -> RegionSampler:
        """The points a wide region's drive times are computed over (its own, or the population points in its
        units), from the prepared coverage samples (made at :meth:`load`; ≈ 0.1 s)."""
        return self.make_region_sampler(self.rebuild)

    def make_region_sampler(self, rebuild: bool = True) -> RegionSampler:
        """:attr:`region_sampler` from the cached coverage samples (rebuilt when missing or damaged if ``rebuild``;
        else a damaged entry raises :class:`~core.cache.CacheError`)."""
        from routing.population import load_samples

        population = load_samples(self.settings, self.network, self.areas, rebuild=rebuild).population
        return RegionSampler(self.network, self.units, population)

    def region_times(self, region: Region) -> tuple[RegionPoints, dict[str, dict[str, TimeRange]]] | None:
        """Every unit's drive-time range over ``region`` under the service's profile and the other traffic
        profiles, ``{profile: {unit_id: TimeRange}}`` (in :data:`TRAFFIC_PROFILES` order), or None when the region has
        no points to compute over. Reads the base trees only (:mod:`routing.region_times`)."""
        points = self.region_sampler.points(region)
        if points is None:
            return None
        ids = [u.id for u in self.registry.units]
        limit = self.settings.limit_s
        own = self.network.profile
        ranges = {}
        for name in dict.fromkeys((*TRAFFIC_PROFILES, own)):
            if name == own:
                ranges[name] = unit_ranges(self.eligibility.trees, self.network, points, ids, limit)
            elif name in self.traffic:
                net, trees = self.traffic[name]
                ranges[name] = unit_ranges(trees, net, points, ids, limit)
        return points, ranges

    @cached_property
    def resolver(self) -> RegionResolver:
        """Region → areas (certain / uncertain with choices / outside)."""
        return RegionResolver(self.units, self.locator)


_LIVE_LOCK = threading.Lock()

def traffic_trees(settings: Settings, network: RoadNetwork, registry: Registry,
                  rebuild: bool = True) -> dict[str, tuple[RoadNetwork, BaseTrees]]:
    """Each audit profile other than ``network``'s: its network (arrays shared with ``network``) and base trees from
    the cache, rebuilt when missing or stale if ``rebuild`` (as every other cache entry at start)."""
    out = {}
    for name in TRAFFIC_PROFILES:
        if name != network.profile:
            net = network.with_profile(name)
            out[name] = (net, load_base_trees(settings, net, registry, rebuild=rebuild))
    return out
