"""What the routes and the CLI call: free places, dated approvals, users and tokens, the change log.

Every write is one transaction that locks the unit (or the database, in SQLite) before it reads the state it
changes, writes the new state and appends a :class:`~registry.models.Change` with the state before and after; so
concurrent writers wait for each other and nothing is lost (see :mod:`registry.db`). Permission checks happen here
too, not only in the HTTP layer: a provider may report only for its own units whichever way it calls.

Dates of approvals are calendar days in Stockholm; "today" is today in Stockholm, not in UTC.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from geo.memo import Memo
from registry.asof import STOCKHOLM, today, with_approvals  # noqa: F401 - re-exported
from registry.actors import SYSTEM, Actor, cli_actor, verify_role  # noqa: F401 - re-exported
from registry.db import (
    DEFAULT_SQLITE_PATH,
    database_url,
    make_engine,
    migration_lock,
    read_session,
    upgrade,
    write_session,
)
from registry.errors import Conflict, Forbidden, Invalid, NotFound, RegistryError  # noqa: F401 - re-exported
from registry.models import Approval, AvailabilityReport, Change, Unit
from registry.values import (
    MAX_FREE_PLACES,  # noqa: F401 - re-exported
    MAX_NOTE_CHARS,  # noqa: F401 - re-exported
    Report,
    approval_form,
    empty,
    iso,
    names,
    overlaps,
    plausible_id,
    report_form,
    span,
    verify_free_places,
    verify_note,
)
from registry.tokens import load_secret
from registry.users import UserAccounts

DEFAULT_SECRET_PATH = DEFAULT_SQLITE_PATH.with_name("registry.secret")
READ_CACHE_ITEMS = 8
"""Kept reads: the latest reports, and approvals for a few days (today, and the dates lookups ask about)."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


class RegistryService(UserAccounts):
    """The registry on one database.

    Parameters
    ----------
    engine
        From :func:`registry.db.make_engine`, at the newest schema (:func:`registry.db.upgrade`).
    secret
        The server secret keying token hashes (:func:`registry.tokens.load_secret`).
    stale_after_s
        A free-places report older than this is stale.
    area_ids
        Known area ids (approvals for others are refused); None accepts any positive id.
    clock
        ``() -> aware datetime``, for tests.
    read_cache_s
        Seconds the answers of :meth:`approvals_on` and :meth:`availability` (what every lookup reads) are kept in
        memory, so that lookups do not each query the database (0: every read queries it). A write through this
        service shows at once; one through another process (a second worker, the CLI) within this many seconds.
    """

    def __init__(self, engine: Engine, secret: bytes, *, stale_after_s: float = 24 * 3600.0,
                 area_ids: Iterable[int] | None = None, clock: Callable[[], datetime] = _utcnow,
                 read_cache_s: float = 0.0):
        self.engine = engine
        self._secret = secret
        self.stale_after_s = float(stale_after_s)
        self.area_ids = None if area_ids is None else tuple(area_ids)
        self.clock = clock
        self.read_cache_s = float(read_cache_s)
        self._reads = Memo(READ_CACHE_ITEMS if read_cache_s > 0 else 0, ttl_s=max(self.read_cache_s, 0.0))

    @classmethod
    def from_settings(cls, settings=None, *, import_file: Path | None = None,
                      auto_import: bool = True) -> RegistryService:
        """Open the configured database, migrate it, and (``auto_import``) import the providers YAML
        (``import_file``, default the configured providers file) when it is empty."""
        from geo.areas.definitions import read_area_definitions
        from geo.settings import PROJECT_ROOT, get_settings

        settings = settings or get_settings()
        engine = make_engine(database_url(settings.registry_url))
        upgrade(engine)
        secret_file = settings.registry_secret_file or DEFAULT_SECRET_PATH
        secret_file = secret_file if secret_file.is_absolute() else PROJECT_ROOT / secret_file
        service = cls(
            engine, load_secret(secret_file),
            stale_after_s=settings.availability_stale_hours * 3600.0,
            area_ids=read_area_definitions(settings.areas_file).ids,
            read_cache_s=settings.registry_read_cache_s,
        )
        if auto_import:
            service.import_if_empty(import_file or settings.providers_file)
        return service

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    # -- units -------------------------------------------------------------------------------------------------------
    def units(self) -> list[dict]:
        """Every unit (id, name, organisation) in file order."""
        with read_session(self.engine) as s:
            rows = s.scalars(select(Unit).order_by(Unit.position)).all()
            return [{"id": u.id, "unit": u.name, "organisation": u.organisation} for u in rows]

    def unit(self, unit_id: str) -> dict:
        """One unit by id; raises :class:`NotFound`."""
        with read_session(self.engine) as s:
            u = self._unit(s, unit_id)
            return {"id": u.id, "unit": u.name, "organisation": u.organisation}

    # -- free places -------------------------------------------------------------------------------------------------
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
        order, latest = self._reads.get_or_compute("latest", self._read_latest)
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

    # -- approvals ---------------------------------------------------------------------------------------------------
    def add_approval(self, user: Actor, unit_id: str, area_id: int, valid_from: date,
                     valid_to: date | None = None) -> dict:
        """Approve a unit for an area from ``valid_from`` to ``valid_to`` (both days included; None: open-ended).

        Raises :class:`Forbidden` (not a contract manager or admin), :class:`NotFound`, :class:`Invalid` (unknown
        area, ``valid_to`` before ``valid_from``), :class:`Conflict` (overlaps an approval of the same unit and
        area).
        """
        verify_role(user, "contract_manager", "admin", what="change approvals")
        area_id = self._verify_area(area_id)
        if not isinstance(valid_from, date):
            raise Invalid("valid_from must be a date (YYYY-MM-DD).")
        if valid_to is not None and valid_to < valid_from:
            raise Invalid(f"valid_to ({valid_to}) is before valid_from ({valid_from}).")
        with self._write() as s:
            self._lock_unit(s, unit_id)
            for other in self._periods(s, unit_id, area_id):
                if overlaps(other.valid_from, other.valid_to, valid_from, valid_to):
                    raise Conflict(f"Unit '{unit_id}' is already approved for area {area_id} "
                                   f"{span(other.valid_from, other.valid_to)} (approval {other.id}).")
            approval = Approval(unit_id=unit_id, area_id=area_id, valid_from=valid_from, valid_to=valid_to,
                                created_at=self.clock(), created_by=user.id, source=f"added by {user.label}")
            s.add(approval)
            s.flush()
            self._log(s, user, "approval.add", f"unit:{unit_id}", None, approval_form(approval))
            return approval_form(approval)

    def end_approval(self, user: Actor, unit_id: str, area_id: int, valid_to: date) -> list[dict]:
        """End a unit's approval for an area: ``valid_to`` is the last day it is in force.

        Every period of that unit and area in force on a day after ``valid_to`` is cut there; one that starts later
        is withdrawn (kept, in force on no day). Returns the periods changed. Raises :class:`Conflict` when none is
        in force after ``valid_to``.
        """
        verify_role(user, "contract_manager", "admin", what="change approvals")
        area_id = self._verify_area(area_id)
        if not isinstance(valid_to, date):
            raise Invalid("valid_to must be a date (YYYY-MM-DD).")
        changed = []
        with self._write() as s:
            self._lock_unit(s, unit_id)
            for a in self._periods(s, unit_id, area_id):
                if empty(a.valid_from, a.valid_to) or (a.valid_to is not None and a.valid_to <= valid_to):
                    continue
                before = approval_form(a)
                a.valid_to = valid_to if a.valid_from is None or a.valid_from <= valid_to else (
                    a.valid_from - timedelta(days=1))
                s.flush()
                self._log(s, user, "approval.end", f"unit:{unit_id}", before, approval_form(a))
                changed.append(approval_form(a))
            if not changed:
                raise Conflict(f"Unit '{unit_id}' has no approval for area {area_id} in force after {valid_to}.")
        return changed

    def approvals_on(self, day: date | None = None) -> dict[str, tuple[int, ...]]:
        """Every unit's areas approved on ``day`` (default: today in Stockholm), in file order.

        Units approved for no area that day map to ``()``.
        """
        day = day or today()
        return dict(self._reads.get_or_compute(("approvals", day), lambda: self._read_approvals(day)))

    def _read_approvals(self, day: date) -> dict[str, tuple[int, ...]]:
        with read_session(self.engine) as s:
            result: dict[str, list[int]] = {uid: [] for uid in s.scalars(select(Unit.id).order_by(Unit.position))}
            rows = s.execute(
                select(Approval.unit_id, Approval.area_id)
                .where((Approval.valid_from.is_(None)) | (Approval.valid_from <= day))
                .where((Approval.valid_to.is_(None)) | (Approval.valid_to >= day))
            )
            for unit_id, area_id in rows:
                result.setdefault(unit_id, []).append(area_id)
        return {uid: tuple(sorted(set(areas))) for uid, areas in result.items()}

    def approval_history(self, unit_id: str | None = None) -> list[dict]:
        """Every approval period (ended and withdrawn ones too), by unit in file order, area, start."""
        with read_session(self.engine) as s:
            q = select(Approval).join(Unit, Unit.id == Approval.unit_id)
            if unit_id is not None:
                self._unit(s, unit_id)
                q = q.where(Approval.unit_id == unit_id)
            rows = s.scalars(q.order_by(Unit.position, Approval.area_id, Approval.id)).all()
            return [approval_form(a) for a in rows]

    # -- the change log ----------------------------------------------------------------------------------------------
    def changes(self, *, limit: int = 100, before_id: int | None = None, entity: str | None = None,
                since: datetime | None = None) -> list[dict]:
        """The change log, newest first: ``limit`` entries older than ``before_id`` (for paging), optionally
        for one ``entity`` (``unit:ID``, ``user:ID``) and from ``since`` on."""
        limit = max(1, min(int(limit), 1000))
        with read_session(self.engine) as s:
            q = select(Change).order_by(Change.id.desc()).limit(limit)
            if before_id is not None:
                q = q.where(Change.id < before_id)
            if entity is not None:
                if not plausible_id(entity, 200):
                    return []
                q = q.where(Change.entity == entity)
            if since is not None:
                q = q.where(Change.at >= since)
            return [{"id": c.id, "at": iso(c.at), "actor": c.actor, "actor_id": c.actor_id, "action": c.action,
                     "entity": c.entity, "before": c.before, "after": c.after} for c in s.scalars(q)]

    # -- YAML ------------------------------------------------------------------------------------------------------
    def import_if_empty(self, path: Path) -> bool:
        """Import ``path`` when the registry has no units (the first start); True when it did."""
        from registry.yamlio import import_units

        with self._write() as s, migration_lock(s):
            if s.scalar(select(func.count()).select_from(Unit)):
                return False
            import_units(s, path, SYSTEM, self.clock())
            return True

    # -- helpers -----------------------------------------------------------------------------------------------------
    @contextmanager
    def _write(self) -> Iterator[Session]:
        """A write transaction; after it ends (committed or not) the kept reads are dropped, so this process's own
        writes show at once."""
        try:
            with write_session(self.engine) as s:
                yield s
        finally:
            self._reads.clear()

    def _unit(self, s: Session, unit_id: str) -> Unit:
        u = s.get(Unit, unit_id) if plausible_id(unit_id) else None
        if u is None:
            known = ", ".join(s.scalars(select(Unit.id).order_by(Unit.position)))
            raise NotFound(f"Unknown unit '{unit_id}'. Known ids: {known}.")
        return u

    def _lock_unit(self, s: Session, unit_id: str) -> Unit:
        """The unit's row, locked until the transaction ends (PostgreSQL; SQLite holds the whole database)."""
        u = s.get(Unit, unit_id, with_for_update=True) if plausible_id(unit_id) else None
        return u if u is not None else self._unit(s, unit_id)

    @staticmethod
    def _latest_reports(s: Session, unit_ids: list[str]) -> dict[str, AvailabilityReport]:
        # A unit's reports are written under its lock, so its highest id is its latest report.
        if not unit_ids:
            return {}
        latest = (select(func.max(AvailabilityReport.id).label("id"))
                  .where(AvailabilityReport.unit_id.in_(unit_ids)).group_by(AvailabilityReport.unit_id).subquery())
        rows = s.scalars(select(AvailabilityReport).join(latest, AvailabilityReport.id == latest.c.id))
        return {r.unit_id: r for r in rows}

    @staticmethod
    def _periods(s: Session, unit_id: str, area_id: int) -> list[Approval]:
        return list(s.scalars(select(Approval).where(Approval.unit_id == unit_id, Approval.area_id == area_id)
                              .order_by(Approval.id)))

    def _verify_area(self, area_id) -> int:
        if isinstance(area_id, bool) or not isinstance(area_id, int) or area_id < 1:
            raise Invalid(f"area_id must be a positive whole number, not {area_id!r}.")
        if self.area_ids is not None and area_id not in self.area_ids:
            raise Invalid(f"Area {area_id} does not exist (areas: {', '.join(map(str, self.area_ids))}).")
        return area_id

    def _log(self, s: Session, user: Actor, action: str, entity: str, before: dict | None, after: dict | None):
        s.add(Change(at=self.clock(), actor_id=user.id, actor=user.label, action=action, entity=entity,
                     before=before, after=after))
