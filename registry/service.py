"""What the routes and the CLI call: free places, dated approvals, users and tokens, the change log.

Every write is one transaction that locks the unit (or the database, in SQLite) before it reads the state it
changes, writes the new state and appends a :class:`~registry.models.Change` with the state before and after; so
concurrent writers wait for each other and nothing is lost (see :mod:`registry.db`). Permission checks happen here
too, not only in the HTTP layer: a provider may report only for its own units whichever way it calls.

Dates of approvals are calendar days in Stockholm; "today" is today in Stockholm, not in UTC.

When the database cannot be used (:class:`~registry.errors.Unavailable`), writes are refused whole; approvals are
answered from the last good read of the day asked for, with that read's time (:meth:`RegistryService.approvals_read`),
and :meth:`RegistryService.status` says so, until a read succeeds again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from core.memo import Memo
from registry.asof import STOCKHOLM, today, with_approvals  # noqa: F401 - re-exported
from registry.actors import SYSTEM, Actor, cli_actor, verify_role  # noqa: F401 - re-exported
from registry.db import (
    DEFAULT_SQLITE_PATH,
    check_database_file,
    create_if_missing,
    database_url,
    make_engine,
    migration_lock,
    read_session,
    upgrade,
    write_session,
)
from registry.errors import (  # noqa: F401 - re-exported
    Conflict,
    Damaged,
    Forbidden,
    Invalid,
    NotFound,
    RegistryError,
    Unavailable,
)
from registry.availability import FreePlaces
from registry.models import Approval, Change, Unit
from registry.tokens import load_secret
from registry.users import UserAccounts
from registry.values import (
    MAX_FREE_PLACES,  # noqa: F401 - re-exported
    MAX_NOTE_CHARS,  # noqa: F401 - re-exported
    approval_form,
    empty,
    iso,
    overlaps,
    plausible_id,
    span,
)

DEFAULT_SECRET_PATH = DEFAULT_SQLITE_PATH.with_name("registry.secret")
READ_CACHE_ITEMS = 8
"""Kept reads: the latest reports, and approvals for a few days (today, and the dates lookups ask about)."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


class RegistryService(FreePlaces, UserAccounts):
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
        self._last_good: Memo = Memo(READ_CACHE_ITEMS)  # day → (approvals, read at): answers while unavailable
        self.last_good_read_at: datetime | None = None
        """When a read last succeeded (None: not since start)."""
        self.problem: str | None = None
        """Why the last read or write failed, while the database is unavailable; None when the last one worked."""

    @classmethod
    def from_settings(cls, settings=None, *, import_file: Path | None = None,
                      auto_import: bool = True) -> RegistryService:
        """Open the configured database, migrate it, and (``auto_import``) import the providers YAML
        (``import_file``, default the configured providers file) when it is empty."""
        from geo.areas.definitions import read_area_definitions
        from core.settings import PROJECT_ROOT, get_settings

        settings = settings or get_settings()
        check_database_file(settings.registry_url)
        create_if_missing(settings.registry_url)  # whole before another process can see it
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

        Units approved for no area that day map to ``()``. While the database cannot be read, the last good read
        of that day (see :meth:`approvals_read`); raises :class:`Unavailable` when there is none.
        """
        return self.approvals_read(day)[0]

    def approvals_read(self, day: date | None = None) -> tuple[dict[str, tuple[int, ...]], datetime]:
        """:meth:`approvals_on` with the time of the read it comes from (this service's clock, UTC).

        The time is now, or within ``read_cache_s``, while the database answers; while it cannot be read, the
        approvals are those of the last good read of ``day`` since start, and the time is that read's. Raises
        :class:`Unavailable` when the database cannot be read and ``day`` was never read since start.
        """
        day = day or today()

        def read():
            approvals = self._tracked(lambda: self._read_approvals(day))
            at = self.clock()
            self._last_good.put(day, (approvals, at))
            return approvals, at

        try:
            approvals, at = self._reads.get_or_compute(("approvals", day), read)
        except Unavailable:
            kept = self._last_good.get(day)
            if kept is None:
                raise
            approvals, at = kept
        return dict(approvals), at

    def status(self) -> dict:
        """The database's state for ``/health``: ``{"registry": "ok" | "unavailable", "reason", "last_good_read_at",
        "last_good_read_age_s"}``, from a read of today's approvals (kept ``read_cache_s``, as lookups read it)."""
        try:
            self.approvals_read()
        except Unavailable:
            pass
        at = self.last_good_read_at
        return {"registry": "unavailable" if self.problem else "ok", "reason": self.problem,
                "last_good_read_at": None if at is None else iso(at),
                "last_good_read_age_s": None if at is None else round(max(0.0, (self.clock() - at).total_seconds()))}

    def _tracked(self, read: Callable[[], object]):
        """``read()``, noting whether the database answered (:attr:`problem`, :attr:`last_good_read_at`)."""
        try:
            value = read()
        except Unavailable as exc:
            self.problem = str(exc)
            raise
        self.problem = None
        self.last_good_read_at = self.clock()
        return value

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
        except Unavailable as exc:
            self.problem = str(exc)
            raise
        else:
            self.problem = None
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
