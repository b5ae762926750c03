"""Failed token checks, counted alike by every worker and process: who is slowed down, and for how long.

The rules (issue 22), as :func:`api.auth.current_actor` applies them:

- **A valid token is never refused for failures**: the token is checked first, and only a failed check is counted
  or answered 429. One user mistyping behind a hospital's NAT, or someone hammering a colleague's prefix, does not
  lock anyone out.
- **Per address, only failures that name no known prefix** (an unknown prefix, a malformed token) count. Past
  ``limits["ip"]`` within the window, every *failed* check from that address is answered 429 — whether its prefix
  exists or not, so the answer does not tell which prefixes exist.
- **Per prefix, every failure naming it** counts (known or not, under a keyed hash of the prefix). Past
  ``limits["token"]``, failed checks naming it are answered 429 from any address; its right secret still passes.
- A check answered 429 is not counted again: an attacker cannot make the database write at will, and a lock ends
  one window after the failures that made it.

The counts live in the registry's ``auth_failures`` table (rows older than the window are deleted as new ones come),
so every worker of ``asih serve --workers N`` and every backend (SQLite, PostgreSQL) sees the same numbers. Each
counted failure is also in the change log (action ``auth.fail``, entity ``address:<client address>``, with whether
the prefix exists; never the token nor its prefix). A lock once seen is kept in the process until it ends, so a
locked key is not read again. A valid request reads nothing here and writes nothing.

When the database cannot be written (stopped, read-only, full), failures are counted in the process instead
(:class:`FailureLimiter`: per worker, as before) and valid tokens keep working as long as the tokens can be read.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, delete, or_, select

from registry.db import read_session, write_session
from registry.errors import Unavailable
from registry.models import AuthFailure, Change

log = logging.getLogger(__name__)
ANONYMOUS = "anonymous"
"""How the change log names whoever failed a token check."""
NO_PREFIX = "-"
"""The prefix key of a malformed token in queries (matches no row)."""
MAX_KEYS = 10_000
"""The most keys a process remembers (locks, or in-process counts): a flood of random prefixes cannot grow memory."""


class FailureLimiter:
    """Counts failures per key in a sliding window, in this process; thread-safe, bounded in memory.

    The fallback of :class:`Throttle` while the database cannot be written (and its limits, for tests that hand an
    app one: ``app.state.registry_limiter``).

    Parameters
    ----------
    limits
        ``{kind: max failures}``: ``{"ip": 20, "token": 5}``; keys are ``(kind, value)``.
    window_s
        Failures older than this are forgotten (seconds).
    max_keys
        The most keys remembered; the least recently failed are forgotten first.
    """

    def __init__(self, limits: dict[str, int], window_s: float, *, max_keys: int = MAX_KEYS,
                 clock: Callable[[], float] = time.monotonic):
        self.limits = dict(limits)
        self.window_s = float(window_s)
        self.max_keys = max_keys
        self.clock = clock
        self._failures: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, keys: list[tuple[str, str]]) -> float | None:
        """Seconds until the first of ``keys`` that is over its limit may try again; None when none is."""
        now = self.clock()
        waits = []
        with self._lock:
            for key in keys:
                times = self._prune(key, now)
                if times is not None and len(times) >= self.limits[key[0]]:
                    waits.append(times[len(times) - self.limits[key[0]]] + self.window_s - now)
        return max(waits) if waits else None

    def fail(self, keys: list[tuple[str, str]]) -> None:
        """Count one failure against each key."""
        now = self.clock()
        with self._lock:
            for key in keys:
                times = self._failures.pop(key, None) or deque()
                times.append(now)
                while len(times) > self.limits[key[0]]:
                    times.popleft()
                self._failures[key] = times
            while len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)

    def _prune(self, key, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times


class Throttle:
    """Failed token checks counted in the registry database (see the module's rules).

    Parameters
    ----------
    engine
        The registry's engine, at the newest schema.
    limits
        ``{"ip": failures per address naming no known prefix, "token": failures per prefix}`` per window.
    window_s
        The window of the counts (seconds); a lock ends one window after the failures that made it.
    clock
        ``() -> aware datetime`` (the registry's clock).
    """

    def __init__(self, engine: Engine, limits: dict[str, int], window_s: float, clock: Callable[[], datetime]):
        self.engine = engine
        self.limits = {"ip": int(limits["ip"]), "token": int(limits["token"])}
        self.window = timedelta(seconds=float(window_s))
        self.clock = clock
        self.local = FailureLimiter(self.limits, float(window_s))
        self.shared = True
        """False while failures are counted in the process because the database cannot be written."""
        self._locked: OrderedDict[tuple[str, str], datetime] = OrderedDict()
        self._pruned_at: datetime | None = None
        self._mutex = threading.Lock()

    def failed(self, address: str, prefix_key: str | None, prefix_known: bool) -> float | None:
        """Count a failed token check from ``address`` naming ``prefix_key`` (None: a malformed token); return the
        seconds to wait when the address or the prefix is over its limit (then it is not counted: answer 429), None
        when it was counted (answer 401)."""
        address = str(address)[:64]
        keys = [("ip", address)] + ([("token", prefix_key)] if prefix_key else [])
        now = self.clock()
        wait = self._cached_wait(keys, now)
        if wait is None:
            wait = self._shared_wait(address, prefix_key, now)
        local = self.local.retry_after(keys)
        if local is not None:
            wait = max(wait or 0.0, local)
        if wait is not None and wait > 0:
            return wait
        counted = keys if not prefix_known else keys[1:]
        try:
            self._record(address, prefix_key, prefix_known, now)
        except Unavailable as exc:
            if self.shared:
                log.warning("Failed token checks are counted in this process only (per worker) while the registry "
                            "database cannot be written: %s", exc)
            self.shared = False
            self.local.fail(counted)
        else:
            self.shared = True
        return None

    def _cached_wait(self, keys: list[tuple[str, str]], now: datetime) -> float | None:
        with self._mutex:
            waits = [(until - now).total_seconds() for k in keys if (until := self._locked.get(k)) and until > now]
        return max(waits) if waits else None

    def _shared_wait(self, address: str, prefix_key: str | None, now: datetime) -> float | None:
        """The wait from the counts every worker sees (None while the database cannot be read: the token check
        before it would have failed then, so this is a moment's outage; the local counts still apply)."""
        since = now - self.window
        try:
            with read_session(self.engine) as s:
                rows = s.execute(
                    select(AuthFailure.at, AuthFailure.address, AuthFailure.prefix_key, AuthFailure.prefix_known)
                    .where(AuthFailure.at > since)
                    .where(or_(and_(AuthFailure.address == address, AuthFailure.prefix_known.is_(False)),
                               AuthFailure.prefix_key == (prefix_key or NO_PREFIX)))
                    .order_by(AuthFailure.at)
                ).all()
        except Unavailable:
            return None
        by_key = {("ip", address): [r.at for r in rows if r.address == address and not r.prefix_known]}
        if prefix_key:
            by_key[("token", prefix_key)] = [r.at for r in rows if r.prefix_key == prefix_key]
        waits = []
        for key, times in by_key.items():
            limit = self.limits[key[0]]
            if len(times) >= limit:
                until = times[len(times) - limit] + self.window
                self._remember(key, until)
                waits.append((until - now).total_seconds())
        return max(waits) if waits else None

    def _remember(self, key: tuple[str, str], until: datetime) -> None:
        with self._mutex:
            self._locked.pop(key, None)
            self._locked[key] = until
            while len(self._locked) > MAX_KEYS:
                self._locked.popitem(last=False)

    def _record(self, address: str, prefix_key: str | None, prefix_known: bool, now: datetime) -> None:
        """One row in ``auth_failures`` and one in the change log, in one transaction; old rows pruned now and then."""
        with write_session(self.engine) as s:
            s.add(AuthFailure(at=now, address=address, prefix_key=prefix_key, prefix_known=prefix_known))
            s.add(Change(at=now, actor_id=None, actor=ANONYMOUS, action="auth.fail", entity=f"address:{address}",
                         before=None, after={"address": address, "prefix_known": prefix_known}))
            if self._pruned_at is None or now - self._pruned_at > self.window:
                s.execute(delete(AuthFailure).where(AuthFailure.at <= now - self.window))
                self._pruned_at = now
