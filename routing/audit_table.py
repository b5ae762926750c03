"""The audit side by side: each (unit, area) row under every traffic profile, with one headline profile; what
changed between two audits; and population shares as the outputs print them.

The rows come from auditors of one state under each profile (:func:`routing.audit.profile_auditors`), so every
profile counts the same people, land and roads; shares are fractions 0..1 and drive times seconds, as in
:class:`routing.audit.ApprovalAudit`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from core.settings import Settings
from routing.audit import AUDIT_PROFILES, PROFILE_PHRASES, VERDICTS, ApprovalAudit, CoverageAuditor, floor_share


@dataclass
class ProfileRow:
    """One (unit, area) audited under several profiles (``rows``: profile → row, in the auditors' order)."""

    rows: dict[str, ApprovalAudit]
    area_name: str
    main: str = ""
    """The headline profile (the configured ``ASIH_PROFILE``, typical by default); empty: the first in ``rows``."""
    day: date | None = None
    """The day whose approvals were audited."""

    @property
    def main_profile(self) -> str:
        """The profile of the headline figures."""
        return self.main if self.main in self.rows else next(iter(self.rows))

    @property
    def first(self) -> ApprovalAudit:
        """The headline row: the main profile's (typical traffic by default)."""
        return self.rows[self.main_profile]

    @property
    def worst(self) -> ApprovalAudit:
        """The row with the smallest population share (the most congested profile, as a rule)."""
        return min(self.rows.values(), key=lambda r: r.population_share)

    def verdicts(self) -> dict[str, str]:
        """Profile → verdict."""
        return {p: r.verdict for p, r in self.rows.items()}

    def summary(self) -> str:
        """E.g. 'supported at free flow, at risk at peak' (each verdict once, with the profiles where it holds)."""
        groups: dict[str, list[str]] = {}
        for p, v in self.verdicts().items():
            groups.setdefault(v, []).append(PROFILE_PHRASES.get(p, p))
        if len(groups) == 1:
            return f"{next(iter(groups))} under every profile"
        return ", ".join(f"{v} " + " and ".join(ps) for v, ps in groups.items())

    def to_dict(self) -> dict:
        """The first profile's row (``ApprovalAudit.to_dict``) plus ``area_name``, ``profiles`` and ``summary``."""
        return {
            **self.first.to_dict(),
            "area_name": self.area_name,
            "date": self.day.isoformat() if self.day else None,
            "profile": self.main_profile,
            "profiles": {p: {k: v for k, v in r.to_dict().items() if k in _PER_PROFILE} for p, r in self.rows.items()},
            "summary": self.summary(),
        }


_PER_PROFILE = ("population_share", "land_share", "road_share", "verdict", "gap_population", "gaps",
                "drive_time_p50_s", "drive_time_p90_s", "margin_s", "most_out_of_reach")


def audit_profiles(auditors: dict[str, CoverageAuditor], unit_ids: Iterable[str] | None = None,
                   main: str | None = None) -> list[ProfileRow]:
    """Every unit's rows under every profile, side by side (a row reached well under one profile only appears
    under all). Units in registry order, approved areas first. ``main`` is the headline profile (default the
    configured ``settings.profile`` when audited, else the first)."""
    first = next(iter(auditors.values()))
    if main not in auditors:
        main = first.settings.profile if first.settings.profile in auditors else next(iter(auditors))
    names = dict(zip(first.model.areas["id"].astype(int), first.model.areas["name"]))
    out = []
    for unit_id in unit_ids if unit_ids is not None else first.unit_order:
        per = {p: a.audit_unit(unit_id) for p, a in auditors.items()}
        areas = {r.area_id for ua in per.values() for r in ua.rows()}
        per = {p: a.audit_unit(unit_id, also=areas) for p, a in auditors.items()}
        keys = [(r.area_id, r.approved) for r in next(iter(per.values())).rows()]
        for area_id, _ in keys:
            rows = {p: next(r for r in ua.rows() if r.area_id == area_id) for p, ua in per.items()}
            out.append(ProfileRow(rows, str(names.get(area_id, "")), main, first.day))
    return out


def share_text(share: float, verdict: str | None = None, settings: Settings | None = None, decimals: int = 1) -> str:
    """A population share as a percentage floored to ``decimals`` (94.97 % → '94.9 %'), never shown on the other
    side of a verdict threshold than the verdict it got (a share of exactly 0.95 prints '95.0 %')."""
    value = floor_share(share, decimals)
    if settings is not None and verdict in VERDICTS:
        lower = {"supported": settings.audit_supported_share, "at risk": settings.audit_at_risk_share}.get(verdict)
        if lower is not None:
            value = max(value, lower * 100)
    return f"{value:.{decimals}f} %"


def compare_rows(before: list[dict], after: list[dict], min_change: float = 0.001) -> list[dict]:
    """What changed between two audits (rows as ``ProfileRow.to_dict`` or the flat ``ApprovalAudit.to_dict``).

    One entry per (unit, area, profile) whose verdict changed or whose population share moved by at least
    ``min_change``, plus rows only in one of them: ``unit, unit_id, area_id, profile, share_before, share_after,
    change, verdict_before, verdict_after, what`` (``what``: verdict, share, new or gone).
    """

    def index(rows):
        out = {}
        for r in rows:
            per = r.get("profiles") or {r.get("profile", "free_flow"): r}
            for p, v in per.items():
                out[(r["unit_id"], int(r["area_id"]), p)] = (r, v)
        return out

    old, new = index(before), index(after)
    changes = []
    for key in sorted(set(old) | set(new), key=lambda k: (k[0], k[1], AUDIT_PROFILES.index(k[2])
                                                          if k[2] in AUDIT_PROFILES else 9)):
        (ro, vo), (rn, vn) = old.get(key, (None, None)), new.get(key, (None, None))
        so, sn = (vo or {}).get("population_share"), (vn or {}).get("population_share")
        what = "new" if vo is None else "gone" if vn is None else (
            "verdict" if vo["verdict"] != vn["verdict"] else "share" if abs(sn - so) >= min_change else None)
        if what is None:
            continue
        row = rn or ro
        changes.append({
            "unit": row["unit"], "unit_id": key[0], "area_id": key[1], "area_name": row.get("area_name", ""),
            "profile": key[2], "share_before": so, "share_after": sn,
            "change": None if so is None or sn is None else round(sn - so, 4),
            "verdict_before": (vo or {}).get("verdict"), "verdict_after": (vn or {}).get("verdict"), "what": what,
        })
    return changes
