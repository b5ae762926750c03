"""Pieces of the lookup answer that are not decisions: the unit rows, the notes' order and their JSON form, the
traffic flag. :class:`lookup.service.Service` decides; the words come from the catalogue (:mod:`core.words`).
"""

from __future__ import annotations

from geo.geocode import SEVERITIES, Note
from routing.audit import AUDIT_PROFILES
from routing.eligibility import UnitAnswer


def ordered(notes: list[Note]) -> list[Note]:
    """Decisive first, then caution, then info; each note once (the same code and params)."""
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    seen, out = [], []
    for n in sorted(notes, key=lambda n: rank.get(n.severity, 1)):
        if (n.key, dict(n.params)) in seen:
            continue
        seen.append((n.key, dict(n.params)))
        out.append(n)
    return out


def worded(note: Note, lang: str = "en") -> dict:
    """A note as the answer's JSON gives it: ``code``, ``severity``, ``message`` (in ``lang``) and ``params``."""
    return {"code": note.code, "severity": note.severity, "message": note.render(lang), "params": dict(note.params)}


TRAFFIC_PROFILES = AUDIT_PROFILES
"""The profiles a lookup gives each eligible unit's drive time under (free flow, typical, peak)."""


def free_flow_only(times: dict[str, float | None], limit_s: float) -> bool:
    """True when the free-flow time is within ``limit_s`` and the typical-traffic time is not (or unreachable)."""
    free, typical = times.get("free_flow"), times.get("typical", float("nan"))
    return free is not None and free <= limit_s and (typical is None or typical > limit_s)


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
