"""The lookup use case: a query (address, postcode, place or WGS84 point) → its region → the area, decided once →
the eligible units ranked by drive time, as data (:meth:`LookupCase.answer`: notes typed), worded at the edge
(:meth:`LookupCase.lookup`, :func:`lookup.localize.localize_lookup`).

:class:`LookupCase` is mixed into :class:`lookup.service.Service`, whose loaded state it reads (geocoder, resolver,
eligibility, live registry, traffic trees, wide-region sampler). Nothing here logs or stores the query.
"""

from __future__ import annotations

import math
from dataclasses import asdict, replace
from datetime import date

from lookup.answer import free_flow_only, option, ordered
from lookup.localize import localize_lookup
from lookup.wide_region import NO_RANGE, POINT_ONLY, base_notes, place_labels, region_notes, unit_rows, wide_note, worst_base
from geo.areas.region import AreaDecision, Choice, ChoiceError
from core.crs import to_metric, to_wgs84, verify_lat_lon
from geo.geocode import GeocodeResult, Note, Refusal, Region
from registry.asof import STOCKHOLM, Approvals, today
from registry.errors import Unavailable
from routing.eligibility import PointAnswer, UnitAnswer

WIDE_REGION_M = 1000.0
"""A certain area whose location is wider than this (m) gives each unit's drive time as a range over the region
(``drive_time_range_s``, ``within_limit_share``), ranked by the median, and says so in a ``wide_region`` caution."""
OUTSIDE = Note("outside_county", "decisive")
"""Outside the county, with nothing more to say (a region whose points all lie outside)."""
CONFIRM_TOKEN = "confirm"
"""The choice that accepts a street answer resting on a guess (a corrected spelling, no town given)."""



class LookupCase:
    """The lookup contract (README, "A lookup answers") over a loaded :class:`lookup.service.Service`."""

    def lookup(self, address: str | None = None, lat: float | None = None, lon: float | None = None,
               choice: str | None = None, lang: str = "en", on: date | None = None) -> dict:
        """The lookup contract (README, "A lookup answers") for an address or a WGS84 point, worded in ``lang``:
        :meth:`answer` rendered at the edge by :func:`lookup.localize.localize_lookup`."""
        return localize_lookup(self.answer(address, lat, lon, choice, on), lang)

    def answer(self, address: str | None = None, lat: float | None = None, lon: float | None = None,
               choice: str | None = None, on: date | None = None) -> dict:
        """The lookup as data: the contract's shape with every note (warnings, the border warning, the basis line,
        the region's basis) a typed :class:`core.words.Note`, not yet worded.

        ``choice`` is a token from a previous answer's ``area.choices`` and narrows an uncertain area; ``on`` is the
        day whose approvals apply (default today; needs the live registry). Raises the geocoder's ``GeocodeError``
        subclasses for empty, malformed, unknown or ambiguous input, and :class:`core.words.Refusal` (worded at the
        edge, never quoting the input) for a choice that does not fit or bad coordinates.
        """
        if address is not None and (lat is not None or lon is not None):
            raise Refusal("error_give_one")
        if address is not None:
            match = self.geocoder.geocode(address)
        elif lat is not None and lon is not None:
            try:
                verify_lat_lon(lat, lon)
            except ValueError:
                raise Refusal("error_coordinates_range") from None
            match = _coordinates(lat, lon)
        else:
            raise Refusal("error_give_something")
        on = on or today()
        answer = self._answer(match, choice, on)
        if on != today():  # a referrer asking about another day is told so, in every language
            answer["warnings"] = ordered([*answer["warnings"], Note("other_day", "caution", {"date": on.isoformat()})])
        answer["date"] = on.isoformat()  # the day whose approvals the answer uses
        answer["basis"]["approvals_date"] = on.isoformat()
        return answer

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
                raise Refusal(exc.text, **exc.params) from None
        try:
            decision = self.resolver.decide(region, x, y, forced)
        except ChoiceError as exc:
            raise Refusal(exc.text, **exc.params) from None
        lat, lon = (float(v) for v in to_wgs84(x, y))  # the edge's coordinates; the work below stays in metres
        if not confirmed and decision.status != "outside":
            ask = self._needs_confirmation(match, decision, x, y)
            if ask is not None:
                return self._uncertain(match, region, notes, ask, lat, lon)
        location = self.locator.locate_xy(x, y, lat=lat, lon=lon)  # labels and border of the point, located once
        if decision.status == "outside":
            return self._outside(match, region, notes, location.note or OUTSIDE, lat, lon)
        if decision.status == "uncertain":
            return self._uncertain(match, region, notes, decision, lat, lon)
        approvals = self.approvals_on(on)
        answer = self.eligibility.at_location(location, x, y, area_id=decision.area_ids[0],
                                              approvals=approvals.as_dict())
        if forced is not None:
            notes.insert(0, Note("area_chosen", "caution", {"area": int(forced)}))
        notes += self.approvals_notes(approvals)
        return self._contract(match, region, notes, answer, lat, lon)

    def approvals_notes(self, approvals: Approvals) -> list[Note]:
        """What an answer must say about where its approvals come from: not confirmed by the registry (the providers
        file, when the registry could not be read once since start), or from a read older than
        ``registry_stale_read_s`` (the last good one, while the database cannot be read), with its time."""
        if approvals.source == "file" and self.live is not None:
            return [Note("approvals_unconfirmed", "decisive")]
        if approvals.read_at is None or self.live is None:
            return []
        age = (self.live.clock() - approvals.read_at).total_seconds()
        if age <= self.settings.registry_stale_read_s:
            return []
        at = approvals.read_at.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M")
        return [Note("approvals_stale", "caution", {"time": at, "minutes": int(age // 60)})]

    def _free_places(self, unit_ids: list[str]) -> tuple[dict[str, dict], list[Note]]:
        """Each unit's free places from the live registry, or, while its database cannot be read, an entry saying
        so (``status`` ``unavailable``, never an old number) and a caution."""
        if self.live is None:
            return {}, []
        try:
            return self.live.availability(unit_ids), []
        except Unavailable:
            entry = {"free_places": None, "note": None, "reported_at": None, "age_s": None, "stale": True,
                     "status": "unavailable", "reason": "registry_unavailable",
                     "stale_after_s": self.live.stale_after_s}
            return ({uid: {"unit_id": uid, **entry} for uid in unit_ids},
                    [Note("free_places_unavailable", "caution")] if unit_ids else [])

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
                notes.append(Note("free_flow_only", "caution", {"unit": a.unit.unit, "minutes": minutes,
                                                                "typical": times.get("typical"),
                                                                "peak": times.get("peak")}))
        return notes

    def _needs_confirmation(self, match: GeocodeResult, decision: AreaDecision, x: float,
                            y: float) -> AreaDecision | None:
        """A street answer that rests on a guess asks first: a corrected spelling (unless the town given decides the
        area anyway), or a street typed without town or postcode while the register is partial (a same-named street
        may exist elsewhere). (``x``, ``y``) is the match's point in EPSG:3006 metres. Returns the uncertain decision
        to show, or None."""
        if match.precision not in ("street", "address"):
            return None
        corrected = match.corrected_from is not None
        untowned = match.context is None and not self.settings.street_names_complete
        if not corrected and not untowned:
            return None
        if match.context is not None:
            given = self.resolver.decide(match.context, x, y)
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
        over the region (:mod:`lookup.wide_region`), never as the time to one point; every region names its
        municipality, borough and stadsdel only when the whole region lies in one."""
        loc = answer.location
        bw = loc.border_warning
        free, free_notes = self._free_places([a.unit.id for a in answer.eligible])
        notes = notes + free_notes
        spread = self.region_times(region) if region.width_m >= WIDE_REGION_M else None
        rested_on = answer.eligible  # the units' bases the answer's figures rest on (basis line)
        if spread is None:
            notes = notes + list(answer.warnings)
            by_profile = self.traffic_times(answer)
            notes += self._free_flow_notes(answer, by_profile)
            if region.width_m >= WIDE_REGION_M:
                notes.append(wide_note(region, None))
            eligible = [{**option(a), "availability": free.get(a.unit.id),
                         **self._traffic_fields(by_profile[a.unit.id]), **NO_RANGE} for a in answer.eligible]
            others = [{**option(a), **NO_RANGE} for a in answer.reachable_not_approved]
        else:
            points, ranges = spread
            notes = notes + [n for n in answer.warnings if n.code not in POINT_ONLY]
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
                    "message": Note(bw.note.code, bw.note.severity, bw.note.params, bw.short_text),
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
        decision = replace(decision, decide_by=next_steps(match, decision.decide_by))
        if decision.reason in ("spelling", "town"):
            notes.insert(0, Note("area_uncertain", "decisive", {"matched": match.matched},
                                 f"area_uncertain_{decision.reason}"))
        else:
            notes.insert(0, Note("area_uncertain", "decisive", {"areas": [int(a) for a in decision.area_ids],
                                                                "deciders": list(decision.decide_by)}))
        area = {"status": "uncertain", "possible": [self._area_ref(a) for a in decision.area_ids],
                "choices": [asdict(c) for c in decision.choices], "decide_by": list(decision.decide_by)}
        return self._without_units(self._query(match, region, lat, lon), area, notes)

    def _outside(self, match, region, notes, why: Note, lat: float | None = None, lon: float | None = None):
        lat = match.lat if lat is None else lat
        lon = match.lon if lon is None else lon
        notes.insert(0, why)
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
        """What the answer rests on; ``network`` and ``summary`` are worded at the edge (:func:`lookup.localize.localize_lookup`)."""
        profile = self.network.profile
        network = f"network_{self.settings.network_source}"
        order = {"address": 0, "place": 1, "unknown": 2}
        worst = max((a.base.precision for a in eligible), key=order.get, default=None)
        params = {"minutes": self.settings.limit_s / 60, "profile": f"profile_{profile}", "network": network}
        summary = Note("basis", "info", {**params, "worst": f"base_{worst}"} if worst else params,
                       "basis_summary_worst" if worst else "basis_summary")
        return {"profile": profile, "network": network, "limit_s": self.settings.limit_s,
                "worst_base_precision": worst, "summary": summary}


def _coordinates(lat: float, lon: float) -> GeocodeResult:
    x, y = to_metric(lat, lon)
    region = Region("coordinates", "coordinates", points=((float(x), float(y)),),
                    basis=(Note("region", "info", text="basis_coordinates"),))
    return GeocodeResult(lat, lon, "coordinates", "coordinates", 100.0, (), region)


def next_steps(match: GeocodeResult, decide_by: tuple[str, ...]) -> tuple[str, ...]:
    """What would decide an uncertain area, without asking again for what the query already gave: a street the data
    does not know is not asked for again ("street_address" becomes "postcode", the one thing that often decides
    where the street is unknown); a postcode already given is not asked for."""
    street_unknown = any(n.code == "street_not_found" for n in match.notes)
    postcode_given = match.context is not None and (match.context.postcode is not None
                                                    or match.context.kind == "postcode")
    steps = []
    for step in decide_by:
        if step == "street_address" and street_unknown:
            step = "postcode"
        if step == "postcode" and postcode_given:
            continue
        if step not in steps:
            steps.append(step)
    return tuple(steps)
