"""The lookup answer's pieces for a location known only as a region: the place labels by the area's rule, and, for a
region wider than ``lookup.service.WIDE_REGION_M``, each unit's drive time as a range over the region
(:mod:`routing.region_times`) with the share of it within the limit, ranked by the median, and the region's notes.

The contract (README, "A lookup answers"): a wide region's unit row keeps ``drive_time_s`` for old clients as the
median (``drive_time_range_s.p50``); ``within_limit`` is true only when the whole region is within the limit
(``within_limit_share`` 1.0). A narrow answer's rows carry ``drive_time_range_s`` and ``within_limit_share`` as
None and are otherwise as before.
"""

from __future__ import annotations


from lookup.answer import option
from core.words import either
from geo.areas.locate import Location
from geo.areas.region import Places
from geo.geocode import Note, Region
from geo.providers import Base, Unit
from routing.eligibility import PRECISION_TEXTS, PointAnswer, UnitAnswer
from routing.region_times import RegionPoints, TimeRange

LABELS = ("municipality", "district", "stadsdel")
"""The answer's place labels: municipality, Stockholm stadsdelsområde (``district``) and stadsdel."""
NO_RANGE = {"drive_time_range_s": None, "within_limit_share": None}
"""A narrow answer's rows: the time is to the answer's point."""
POINT_ONLY = ("far_from_road", "none_within_limit", "base_precision")
"""Eligibility's notes about the one point (or the bases nearest to it), replaced by the region's own in a wide
answer."""
_PRECISION_ORDER = {"address": 0, "place": 1, "unknown": 2}


def place_labels(loc: Location, places: Places | None) -> dict:
    """``municipality``, ``district`` and ``stadsdel`` named only when the whole region lies in one, otherwise the
    possible ones joined ("Kungsholmen or Norrmalm"), and the lists as ``<label>_possible``. ``places`` None: the
    region is the answer's point itself (an address, coordinates), whose labels are the point's."""
    if places is None:
        names = (loc.municipality_name, loc.district, loc.stadsdel)
        lists = [[n] if n else [] for n in names]
    else:
        lists = [list(places.municipalities), list(places.boroughs), list(places.districts)]
        names = tuple(either(v) for v in lists)
    return {**dict(zip(LABELS, names)), **{f"{k}_possible": v for k, v in zip(LABELS, lists)}}


def unit_rows(answer: PointAnswer, units: list[Unit], bases: list[Base], ranges: dict[str, dict[str, TimeRange]],
              own: str, free: dict) -> tuple[list[dict], list[dict]]:
    """The eligible rows and the reachable-not-approved rows of a wide region, each ranked by the median.

    ``ranges`` is ``{profile: {unit_id: TimeRange}}`` (the answer's own profile ``own`` and the other traffic
    profiles, in the order to show); ``answer`` the point answer whose eligible units are the approved ones. A unit
    not approved is listed when it reaches some of the region within the limit. ``free``: availability by unit id.
    """
    approved = {a.unit.id for a in answer.eligible}
    eligible, others = [], []
    for unit in units:
        r = ranges[own][unit.id]
        row = {**option(UnitAnswer(unit, r.p50_s, r.within, bases[r.row], unit.id in approved)),
               "drive_time_range_s": r.to_dict(), "within_limit_share": r.share}
        key = (r.p50_s is None, r.p50_s or 0.0, r.min_s or 0.0)
        if unit.id in approved:
            by = {p: rs[unit.id] for p, rs in ranges.items()}
            row = {**row, "availability": free.get(unit.id),
                   "drive_time_s_by_profile": {p: x.p50_s for p, x in by.items()},
                   "within_limit_only_at_free_flow": _free_flow_only(by),
                   "drive_time_range_s_by_profile": {p: x.to_dict() for p, x in by.items()},
                   "within_limit_share_by_profile": {p: x.share for p, x in by.items()}}
            eligible.append((key, row))
        elif r.share > 0:
            others.append((key, row))
    return _by_median(eligible), _by_median(others)


def region_notes(region: Region, points: RegionPoints, eligible: list[dict], limit_s: float,
                 snap_warning_m: float) -> list[Note]:
    """What a wide answer rests on (``wide_region``), whether any approved unit reaches all or any of the region
    (``partly_within_limit``, ``none_within_limit``), the region's points far from a road (``far_from_road``) and the
    units within the limit only without traffic (``free_flow_only``)."""
    minutes = limit_s / 60
    notes = [wide_note(region, points)]
    if eligible:
        best = max(row["within_limit_share"] for row in eligible)
        if best == 0:
            notes.append(Note("none_within_limit", "decisive", {"minutes": minutes}, "none_within_limit_region"))
        elif not any(row["within_limit"] for row in eligible):
            notes.append(Note("partly_within_limit", "decisive", {"minutes": minutes, "best": best}))
    far = points.far_share
    if far > 0:
        notes.append(Note("far_from_road", "decisive" if far >= 1 else "caution",
                          {"share": far, "distance_m": snap_warning_m},
                          "far_from_road_people" if points.people else "far_from_road_points"))
    for row in eligible:
        if row["within_limit_only_at_free_flow"]:
            rng = row["drive_time_range_s_by_profile"]
            notes.append(Note("free_flow_only", "caution", {"unit": row["unit"], "minutes": minutes,
                                                            "typical": rng.get("typical"), "peak": rng.get("peak")}))
    return notes


def worst_base(r: TimeRange, bases: list[Base]) -> Base:
    """Of the bases nearest to some point of the region, the least precisely known (the unit's figures rest on it)."""
    return max((bases[i] for i in r.rows), key=lambda b: _PRECISION_ORDER.get(b.precision, 2))


def base_notes(answer: PointAnswer, own: dict[str, TimeRange], bases: list[Base]) -> list[Note]:
    """The ``base_precision`` notes of a wide answer: every approved unit any of whose bases nearest to some point of
    the region is known by place only or guessed (as eligibility says it for one point)."""
    notes = []
    for precision, text in PRECISION_TEXTS.items():
        names = [a.unit.unit for a in answer.eligible
                 if any(bases[i].precision == precision for i in own[a.unit.id].rows)]
        if names:
            notes.append(Note("base_precision", "info", {"units": names}, text))
    return notes


def wide_note(region: Region, points: RegionPoints | None) -> Note:
    """The ``wide_region`` caution: how wide the location is (km) and what its drive times are computed over."""
    km = region.width_m / 1000
    if points is None:
        return Note("wide_region", "caution", {"km": km}, "wide_region_point")
    n, total = len(points), points.total
    text = ("wide_region_people" if points.people else "wide_region_points") + ("" if n == total else "_sample")
    return Note("wide_region", "caution", {"km": km, "n": n, "total": total}, text)


def _by_median(keyed: list[tuple[tuple, dict]]) -> list[dict]:
    return [row for _, row in sorted(keyed, key=lambda e: e[0])]


def _free_flow_only(by: dict[str, TimeRange]) -> bool:
    """The whole region within the limit without traffic, but not in typical traffic."""
    return "free_flow" in by and "typical" in by and by["free_flow"].within and not by["typical"].within


__all__ = ["LABELS", "NO_RANGE", "POINT_ONLY", "base_notes", "place_labels", "region_notes", "unit_rows", "wide_note",
           "worst_base"]
