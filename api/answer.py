"""Pieces of the lookup answer that are not decisions: the unit rows, the warnings' codes and order, the traffic
flag, and the labels of the basis line. :class:`api.service.Service` decides; this shapes what it says.
"""

from __future__ import annotations

import math

from geo.geocode import SEVERITIES, Note
from routing.audit import AUDIT_PROFILES
from routing.eligibility import UnitAnswer

NETWORK_LABELS = {
    "matsim": "county road network from OpenStreetMap (≈2013, MATSim 2014)",
    "osmnx-files": "OpenStreetMap road network (OSMnx files)",
    "osm-xml": "OpenStreetMap road network (OSM XML)",
    "pbf": "OpenStreetMap road network (.osm.pbf extract)",
    "overpass": "OpenStreetMap road network (Overpass download)",
}
"""What each network source is, for the answer's basis line."""
PROFILE_LABELS = {"free_flow": "free-flow", "typical": "typical-traffic", "peak": "peak-traffic",
                  "rush_hour": "peak-traffic"}
# Eligibility's sentences, by their opening words → (code, severity). Routine caveats are "info".
_ELIGIBILITY_CODES = [
    ("Near an area border", "near_border", "caution"),
    ("Outside Stockholm County", "outside_county", "decisive"),
    ("The point is", "far_from_road", "decisive"),
    ("No approved unit reaches", "none_within_limit", "decisive"),
    ("No unit is approved", "none_approved", "decisive"),
    ("Area ", "area_hypothesis", "info"),
    ("Drive times of", "base_precision", "info"),
]


def note_of(text: str) -> Note:
    if " m off the generalised coastline" in text:
        return Note("off_coastline", "caution", text)
    if ": its base '" in text:
        return Note("base_far_from_road", "info", text)
    for prefix, code, severity in _ELIGIBILITY_CODES:
        if text.startswith(prefix):
            return Note(code, severity, text)
    return Note("note", "caution", text)


def ordered(notes: list[Note]) -> list[dict]:
    """Decisive first, then caution, then info; each code once."""
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    seen, out = set(), []
    for n in sorted(notes, key=lambda n: rank.get(n.severity, 1)):
        if (n.code, n.message) in seen:
            continue
        seen.add((n.code, n.message))
        out.append({"code": n.code, "severity": n.severity, "message": n.message})
    return out


TRAFFIC_PROFILES = AUDIT_PROFILES
"""The profiles a lookup gives each eligible unit's drive time under (free flow, typical, peak)."""
PROFILE_PHRASES = {"typical": "in typical traffic", "peak": "at peak"}


def free_flow_only(times: dict[str, float | None], limit_s: float) -> bool:
    """True when the free-flow time is within ``limit_s`` and the typical-traffic time is not (or unreachable)."""
    free, typical = times.get("free_flow"), times.get("typical", float("nan"))
    return free is not None and free <= limit_s and (typical is None or typical > limit_s)


def minutes_text(seconds: float | None) -> str:
    return "unreachable" if seconds is None else f"{math.ceil(seconds / 60):.0f} min"


def option(a: UnitAnswer) -> dict:
    return {
        "id": a.unit.id,
        "unit": a.unit.unit,
        "organisation": a.unit.organisation,
        "drive_time_s": a.drive_time_s,
        "within_limit": a.within_limit,
        "base": a.base.name,
        "base_precision": a.base.precision,
        "capacity_note": a.unit.capacity_note,
        "contact": getattr(a.unit, "contact", None),
    }
