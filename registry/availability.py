"""Free places in the live registry: providers report them, lookups read each unit's latest report with its age.

:class:`FreePlaces` is mixed into :class:`registry.service.RegistryService` (its database, clock, kept reads, write
transactions and change log). Reports are append-only; a unit's current free places is its latest report, and a
report older than ``stale_after_s`` is stale — shown as stale, never as a number to trust.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.actors import Actor
from registry.db import read_session
from registry.errors import Forbidden
from registry.models import AvailabilityReport, Unit
from registry.values import Report, iso, names, report_form, verify_free_places, verify_note


class FreePlaces:
    """Free places (needs the registry's ``engine``, ``clock``, ``stale_after_s``, ``_reads``, ``_tracked``,
    ``_write``, ``_lock_unit``, ``_log``)."""

    def set_availability(self, user: Actor, unit_id: str, free_places: int, note: str | None = None) -> dict:
        """Report a unit's free places now; returns the unit's availability as :meth:`availability` gives it.

        Raises
        ------
        Forbidden
            A provider reporting for a unit that is not theirs.
        NotFound, Invalid
            Unknown unit; free places not a whole number from 0 to 1000, or a note over 200 characters.
        """
        if user.role == "provider" and unit_id not in user.unit_ids:
            raise Forbidden(f"Your token may report free places for {names(user.unit_ids)} only, not '{unit_id}'.")
        free_places, note = verify_free_places(free_places), verify_note(note)
        with self._write() as s:
            self._lock_unit(s, unit_id)
            previous = self._latest_reports(s, [unit_id]).get(unit_id)
            report = AvailabilityReport(unit_id=unit_id, free_places=free_places, note=note,
                                        reported_at=self.clock(), reported_by=user.id)
            s.add(report)
            s.flush()
            self._log(s, user, "availability.set", f"unit:{unit_id}", report_form(previous), report_form(report))
        return self._entry(report, self.clock())

    def availability(self, unit_ids: Iterable[str] | None = None) -> dict[str, dict]:
        """Each unit's latest free-places report, its age and whether it is stale.

        Raises :class:`Unavailable` when the database cannot be read (free places are never answered from an old
        read: a stale number could send a patient to a full unit).

        Parameters
        ----------
        unit_ids
            The units wanted (default: all). Ids the registry does not know get a "none" entry, not an error.

        Returns
        -------
        dict
            ``{unit_id: {"free_places", "note", "reported_at" (ISO 8601, UTC), "age_s", "stale", "status",
            "stale_after_s"}}``. ``status`` is ``current``, ``stale`` (older than ``stale_after_s``: show it as
            stale, never as a number to trust) or ``none`` (never reported; ``free_places`` None, ``stale`` True).
        """
        order, latest = self._reads.get_or_compute("latest", lambda: self._tracked(self._read_latest))
        now = self.clock()
        ids = list(unit_ids) if unit_ids is not None else list(order)
        return {uid: self._entry(latest.get(uid) if isinstance(uid, str) else None, now, uid) for uid in ids}

    def _read_latest(self) -> tuple[tuple[str, ...], dict[str, Report]]:
        """Every unit id in file order, and each unit's latest report (one query, kept ``read_cache_s``)."""
        with read_session(self.engine) as s:
            order = tuple(s.scalars(select(Unit.id).order_by(Unit.position)))
            reports = self._latest_reports(s, list(order))
            return order, {uid: Report.of(r) for uid, r in reports.items()}

    def _entry(self, report: Report | AvailabilityReport | None, now: datetime, unit_id: str | None = None) -> dict:
        if report is None:
            return {"unit_id": unit_id, "free_places": None, "note": None, "reported_at": None, "age_s": None,
                    "stale": True, "status": "none", "stale_after_s": self.stale_after_s}
        age = max(0.0, (now - report.reported_at).total_seconds())
        stale = age > self.stale_after_s
        return {"unit_id": report.unit_id, "free_places": report.free_places, "note": report.note,
                "reported_at": iso(report.reported_at), "age_s": round(age), "stale": stale,
                "status": "stale" if stale else "current", "stale_after_s": self.stale_after_s}

    @staticmethod
    def _latest_reports(s: Session, unit_ids: list[str]) -> dict[str, AvailabilityReport]:
        # A unit's reports are written under its lock, so its highest id is its latest report.
        if not unit_ids:
            return {}
        latest = (select(func.max(AvailabilityReport.id).label("id"))
                  .where(AvailabilityReport.unit_id.in_(unit_ids)).group_by(AvailabilityReport.unit_id).subquery())
        rows = s.scalars(select(AvailabilityReport).join(latest, AvailabilityReport.id == latest.c.id))
        return {r.unit_id: r for r in rows}
