"""The loaded service state and the lookup use case (geocode → locate → eligibility), shared by API and CLI.

Everything is read from the prepared cache once, at start; a lookup then costs a geocode, a point-in-polygon
and a snap. Nothing here logs or stores the query.
"""

from __future__ import annotations

import math
import threading
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import shapely

from geo.areas.locate import AreaLocator
from geo.areas.model import AreaModel, load_area_model
from geo.areas.region import AreaDecision, Choice, ChoiceError, RegionResolver
from geo.areas.units import AdminUnits
from geo.crs import to_metric, to_wgs84, verify_lat_lon
from geo.geocode import Geocoder, GeocodeResult, Note, Region, get_geocoder
from geo.providers import Registry, read_registry
from geo.settings import Settings
from api.answer import (
    NETWORK_LABELS,
    PROFILE_LABELS,
    PROFILE_PHRASES,
    TRAFFIC_PROFILES,
    free_flow_only,
    minutes_text,
    note_of,
    option,
    ordered,
)
from routing.basetrees import BaseTrees, load_base_trees
from routing.eligibility import Eligibility, PointAnswer, UnitAnswer
from routing.network import RoadNetwork
from routing.prepare import load_network
from routing.region_times import RegionPoints, RegionSampler, TimeRange, unit_ranges
from api.wide_region import (NO_RANGE, POINT_ONLY, base_notes, place_labels, region_notes, unit_rows, wide_sentence,
                              worst_base)
from registry.asof import Approvals, today

if TYPE_CHECKING:
    from registry.service import RegistryService


@dataclass
class Service:
    """Prepared state for one speed profile and limit."""

    settings: Settings
    areas: AreaModel
    locator: AreaLocator
    registry: Registry
    network: RoadNetwork
    eligibility: Eligibility
    live: RegistryService | None = None
    """The live registry (free places, dated approvals); None answers from the providers file alone."""
    traffic: dict[str, tuple[RoadNetwork, BaseTrees]] = field(default_factory=dict)
    """The other audit profiles' networks and base trees (:func:`traffic_trees`), so a lookup can say which units are
    within the limit only without traffic; empty: answers give the service's own profile only."""

    @classmethod
    def load(cls, settings: Settings, profile: str | None = None, rebuild: bool = True) -> Service:
        """Load the prepared cache (rebuilding stale parts unless ``rebuild`` is False)."""
        areas = load_area_model(settings, rebuild=rebuild)
        locator = AreaLocator(areas, settings.border_warning_m)
        registry = read_registry(settings.providers_file)
        network = load_network(settings, profile=profile or settings.profile, rebuild=rebuild)
        trees = load_base_trees(settings, network, registry, rebuild=rebuild)
        eligibility = Eligibility(network, registry, locator, trees, settings.limit_s, settings.snap_warning_m)
        svc = cls(settings, areas, locator, registry, network, eligibility,
                  traffic=traffic_trees(settings, network, registry, rebuild=rebuild))
        # Load the index now, not on the first referrer's request.
        svc.__dict__["geocoder"] = get_geocoder(settings, build_if_missing=rebuild, units=svc.units)
        _ = svc.region_sampler  # and the wide regions' point index (≈ 0.2 s), not on the first wide lookup
        return svc

    @cached_property
    def geocoder(self) -> Geocoder:
        """The configured geocoder (offline by default), loaded on first use."""
        return get_geocoder(self.settings, units=self.units)

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
        """Every unit's approvals in force on ``day`` (default today in Stockholm), from the live registry."""
        day = day or today()
        return Approvals.of(day, self.live_registry().approvals_on(day))

    def registry_on(self, approvals: Approvals | None = None) -> Registry:
        """The units with their areas as of ``approvals`` (default: today's)."""
        return (approvals or self.approvals_on()).apply(self.registry)

    def auditor(self, limit_s: float | None = None, approvals: Approvals | None = None, profile: str | None = None):
        """A coverage auditor over this state and the approvals in force on a day (default today, from the live
        registry), in ``profile`` (default the service's, i.e. the configured one), memoised per (limit, approvals,
        profile) in the service's bounded, thread-safe memo (:func:`api.executor.memo_of`); concurrent callers share
        one build. Sample points are read from the cache once."""
        from api.executor import memo_of
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
        from api.executor import memo_of
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

    @cached_property
    def region_sampler(self) -> RegionSampler:
        """The points a wide region's drive times are computed over (its own, or the population points in its
        units), from the prepared coverage samples; built on first use (≈ 0.1 s)."""
        from routing.population import load_samples

        population = load_samples(self.settings, self.network, self.areas).population
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

    def lookup(self, address: str | None = None, lat: float | None = None, lon: float | None = None,
               choice: str | None = None, lang: str = "en", on: date | None = None) -> dict:
        """The lookup contract (README, "A lookup answers") for an address or a WGS84 point, in ``lang``.

        ``choice`` is a token from a previous answer's ``area.choices`` and narrows an uncertain area; ``on`` is the
        day whose approvals apply (default today; needs the live registry). Raises the
        geocoder's ``GeocodeError`` subclasses for empty, malformed, unknown or ambiguous input, and ``ValueError``
        (with a sentence that never quotes the input) for a choice that does not fit or bad coordinates.
        """
        from api.i18n import localize_lookup

        if address is not None and (lat is not None or lon is not None):
            raise ValueError("Give either an address or lat and lon, not both.")
        if address is not None:
            match = self.geocoder.geocode(address)
        elif lat is not None and lon is not None:
            verify_lat_lon(lat, lon)
            match = _coordinates(lat, lon)
        else:
            raise ValueError("Give an address, or both lat and lon (WGS84 degrees).")
        on = on or today()
        answer = self._answer(match, choice, on)
        answer["date"] = on.isoformat()  # the day whose approvals the answer uses
        answer["basis"]["approvals_date"] = on.isoformat()
        return localize_lookup(answer, lang)

    def lookup_point(self, lat: float, lon: float) -> dict:
        """The lookup contract at WGS84 coordinates (English)."""
        return self.lookup(lat=lat, lon=lon)

    def lookup_text(self, text: str, choice: str | None = None) -> dict:
        """The lookup contract for free text: address, postcode, place or 'lat, lon' (English)."""
        return self.lookup(address=text, choice=choice)

    def _answer(self, match: GeocodeResult, choice: str | None, on: date | None = None) -> dict:
        notes = list(match.notes)
        region = match.region or _coordinates(match.lat, match.lon).region
        if match.outside:
            return self._outside(match, region, notes, match.outside)
        x, y = (float(v) for v in to_metric(match.lat, match.lon))
        forced = None
        if choice == CONFIRM_TOKEN:
            choice = None
            confirmed = True
        else:
            confirmed = choice is not None
        if choice:
            try:
                region, x, y, forced = self.resolver.narrow(region, x, y, choice)
            except ChoiceError as exc:
                raise ValueError(str(exc)) from None
        try:
            decision = self.resolver.decide(region, x, y, forced)
        except ChoiceError as exc:
            raise ValueError(str(exc)) from None
        lat, lon = (float(v) for v in to_wgs84(x, y))
        if not confirmed and decision.status != "outside":
            ask = self._needs_confirmation(match, decision)
            if ask is not None:
                return self._uncertain(match, region, notes, ask, lat, lon)
        if decision.status == "outside":
            loc = self.locator.locate(lat, lon)
            return self._outside(match, region, notes, loc.message or OUTSIDE_SENTENCE, lat, lon)
        if decision.status == "uncertain":
            return self._uncertain(match, region, notes, decision, lat, lon)
        approvals = self.live_registry().approvals_on(on)
        answer = self.eligibility.at(lat, lon, area_id=decision.area_ids[0], approvals=approvals)
        if forced is not None:
            notes.insert(0, Note("area_chosen", "caution",
                                 f"Area {forced} was chosen by the user; the data could not decide it here."))
        return self._contract(match, region, notes, answer, lat, lon)

    def _traffic_fields(self, times: dict[str, float | None]) -> dict:
        return {"drive_time_s_by_profile": times,
                "within_limit_only_at_free_flow": free_flow_only(times, self.settings.limit_s)}

    def _free_flow_notes(self, answer: PointAnswer, by_profile: dict) -> list[Note]:
        """A caution per eligible unit that is within the limit without traffic but not in typical traffic."""
        notes = []
        minutes = self.settings.limit_s / 60
        for a in answer.eligible:
            times = by_profile[a.unit.id]
            if free_flow_only(times, self.settings.limit_s):
                later = ", ".join(f"{minutes_text(times.get(p))} {PROFILE_PHRASES[p]}" for p in ("typical", "peak")
                                  if p in times)
                notes.append(Note("free_flow_only", "caution",
                                  f"{a.unit.unit}: within {minutes:.0f} min only without traffic; {later}."))
        return notes

    def _needs_confirmation(self, match: GeocodeResult, decision: AreaDecision) -> AreaDecision | None:
        """A street answer that rests on a guess asks first: a corrected spelling (unless the town given decides the
        area anyway), or a street typed without town or postcode while the register is partial (a same-named street
        may exist elsewhere). Returns the uncertain decision to show, or None."""
        if match.precision not in ("street", "address"):
            return None
        corrected = match.corrected_from is not None
        untowned = match.context is None and not self.settings.street_names_complete
        if not corrected and not untowned:
            return None
        if match.context is not None:
            cx, cy = (float(v) for v in to_metric(match.lat, match.lon))
            given = self.resolver.decide(match.context, cx, cy)
            if given.status == "certain" and given.area_ids == decision.area_ids:
                return None  # the town given decides the area whatever the street
            possible = tuple(sorted(set(given.area_ids) | set(decision.area_ids)))
            why = "spelling"
        else:
            possible = tuple(sorted(self.units.area_names))
            why = "spelling" if corrected else "town"
        if decision.status == "uncertain":
            choices = decision.choices
        else:
            area = decision.area_ids[0]
            lat, lon = to_wgs84(decision.x, decision.y)
            choices = (Choice(CONFIRM_TOKEN, match.matched, area, self.units.area_names[area], round(float(lat), 6),
                              round(float(lon), 6)),)
        decide_by = ("confirm", "street_address") if why == "spelling" else ("confirm", "town_or_postcode")
        return replace(decision, status="uncertain", area_ids=possible, choices=choices, decide_by=decide_by,
                       reason=why)

    # -- answer shapes ----------------------------------------------------------------------------------------------
    def _query(self, match: GeocodeResult, region: Region, lat: float, lon: float) -> dict:
        return {
            "precision": region.kind,
            "matched": match.matched if region is match.region else region.label,
            "lat": round(lat, 6), "lon": round(lon, 6),
            "corrected_from": match.corrected_from,
            "region": {"kind": region.kind, "label": region.label, "width_m": float(region.width_m),
                       "basis": region.basis},
        }

    def _contract(self, match, region, notes, answer: PointAnswer, lat, lon) -> dict:
        """A certain area's answer. A region wider than :data:`WIDE_REGION_M` gives each unit's drive time as a range
        over the region (:mod:`api.wide_region`), never as the time to one point; every region names its
        municipality, borough and stadsdel only when the whole region lies in one."""
        loc = answer.location
        bw = loc.border_warning
        free = self.live.availability([a.unit.id for a in answer.eligible]) if self.live is not None else {}
        spread = self.region_times(region) if region.width_m >= WIDE_REGION_M else None
        rested_on = answer.eligible  # the units' bases the answer's figures rest on (basis line)
        if spread is None:
            notes = notes + [note_of(w) for w in answer.warnings]
            by_profile = self.traffic_times(answer)
            notes += self._free_flow_notes(answer, by_profile)
            if region.width_m >= WIDE_REGION_M:
                notes.append(Note("wide_region", "caution", wide_sentence(region, None)))
            eligible = [{**option(a), "availability": free.get(a.unit.id),
                         **self._traffic_fields(by_profile[a.unit.id]), **NO_RANGE} for a in answer.eligible]
            others = [{**option(a), **NO_RANGE} for a in answer.reachable_not_approved]
        else:
            points, ranges = spread
            notes = notes + [n for n in map(note_of, answer.warnings) if n.code not in POINT_ONLY]
            trees = self.eligibility.trees
            own = ranges[self.network.profile]
            eligible, others = unit_rows(answer, self.registry.units, trees.bases, ranges, self.network.profile, free)
            notes += region_notes(region, points, eligible, self.settings.limit_s, self.settings.snap_warning_m)
            notes += base_notes(answer, own, trees.bases)
            rested_on = [replace(a, base=worst_base(own[a.unit.id], trees.bases)) for a in answer.eligible]
        single = not region.units and len(region.points) <= 1
        labels = place_labels(loc, None if single else self.resolver.places(region))
        return {
            "query": self._query(match, region, lat, lon),
            "area": {
                "status": "certain",
                "id": loc.area_id,
                "name": loc.area_name,
                "provenance": loc.area_provenance,
                **labels,
                "border_warning": None if bw is None else {
                    "distance_m": bw.distance_m,
                    "neighbour_area_id": bw.neighbour_area_id,
                    "neighbour_area_name": bw.neighbour_area_name,
                    "message": bw.message,
                },
                "possible": [self._area_ref(loc.area_id)],
                "choices": [],
                "decide_by": [],
            },
            "eligible": eligible,
            "reachable_not_approved": others,
            "warnings": ordered(notes),
            "basis": self._basis(rested_on),
            "limit_s": self.settings.limit_s,
            "profile": self.network.profile,
        }

    def _uncertain(self, match, region, notes, decision: AreaDecision, lat, lon) -> dict:
        areas = ", ".join(str(a) for a in decision.area_ids)
        how = {"house_number": "a house number", "street_address": "the street address", "district": "the district",
               "map_point": "a point on the map", "official_register": "the official register",
               "confirm": "a confirmation", "town_or_postcode": "the town or postcode"}
        deciders = " or ".join(how[d] for d in decision.decide_by)
        if decision.reason == "spelling":
            notes.insert(0, Note("area_uncertain", "decisive",
                                 f"The street was not found as written; the closest name in the data is "
                                 f"{match.matched}. Confirm it, or give the postcode and town."))
        elif decision.reason == "town":
            notes.insert(0, Note("area_uncertain", "decisive",
                                 f"Without a town or postcode the street may also exist elsewhere than in the offline "
                                 f"data ({match.matched}). Confirm it, or give the postcode or town."))
        else:
            notes.insert(0, Note("area_uncertain", "decisive",
                                 f"The area cannot be decided from this location: it may be in areas {areas}. "
                                 f"Choose below, or give {deciders}."))
        area = {"status": "uncertain", "possible": [self._area_ref(a) for a in decision.area_ids],
                "choices": [asdict(c) for c in decision.choices], "decide_by": list(decision.decide_by)}
        return self._without_units(self._query(match, region, lat, lon), area, notes)

    def _outside(self, match, region, notes, sentence: str, lat: float | None = None, lon: float | None = None):
        lat = match.lat if lat is None else lat
        lon = match.lon if lon is None else lon
        notes.insert(0, Note("outside_county", "decisive", sentence))
        query = self._query(match, region, lat if math.isfinite(lat) else 0.0, lon if math.isfinite(lon) else 0.0)
        if not (math.isfinite(lat) and math.isfinite(lon)):
            query["lat"] = query["lon"] = None
        return self._without_units(query, {"status": "outside", "possible": [], "choices": [], "decide_by": []}, notes)

    def _without_units(self, query: dict, area: dict, notes: list[Note]) -> dict:
        """An answer that lists no unit: the area is uncertain or outside the county."""
        none = dict.fromkeys(("id", "name", "provenance", "municipality", "district", "stadsdel", "border_warning"))
        none |= {f"{k}_possible": [] for k in ("municipality", "district", "stadsdel")}
        return {
            "query": query,
            "area": {"status": area["status"], **none, **{k: v for k, v in area.items() if k != "status"}},
            "eligible": [],
            "reachable_not_approved": [],
            "warnings": ordered(notes),
            "basis": self._basis([]),
            "limit_s": self.settings.limit_s,
            "profile": self.network.profile,
        }

    def _area_ref(self, area_id: int) -> dict:
        return {"id": int(area_id), "name": self.units.area_names[int(area_id)],
                "provenance": self.units.area_provenance[int(area_id)]}

    def _basis(self, eligible: list[UnitAnswer]) -> dict:
        profile = self.network.profile
        network = NETWORK_LABELS.get(self.settings.network_source, self.settings.network_source)
        order = {"address": 0, "place": 1, "unknown": 2}
        worst = max((a.base.precision for a in eligible), key=order.get, default=None)
        minutes = self.settings.limit_s / 60
        summary = (f"'Within {minutes:.0f} min' rests on {PROFILE_LABELS.get(profile, profile)} drive times on "
                   f"the {network}")
        summary += f"; the least certain base is known by {worst}." if worst else "."
        return {"profile": profile, "network": network, "limit_s": self.settings.limit_s,
                "worst_base_precision": worst, "summary": summary}


_LIVE_LOCK = threading.Lock()

WIDE_REGION_M = 1000.0
"""A certain area whose location is wider than this (m) gives each unit's drive time as a range over the region
(``drive_time_range_s``, ``within_limit_share``), ranked by the median, and says so in a ``wide_region`` caution."""
OUTSIDE_SENTENCE = "Outside Stockholm County. ASIH areas cover Stockholm County only."
CONFIRM_TOKEN = "confirm"
"""The choice that accepts a street answer resting on a guess (a corrected spelling, no town given)."""

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


def _coordinates(lat: float, lon: float) -> GeocodeResult:
    x, y = to_metric(lat, lon)
    region = Region("coordinates", "coordinates", points=((float(x), float(y)),), basis="Coordinates as given.")
    return GeocodeResult(lat, lon, "coordinates", "coordinates", 100.0, (), region)
