"""One memo for every cache held in memory: bounded, thread-safe, single-flight, optionally short-lived.

Used by the heavy-work executor (results of audits and isochrones), the live what-if (trees of moved bases) and the
registry (its reads, kept a few seconds so lookups do not each query the database). Nothing a request sent is ever
a key or a value here: keys are unit ids, dates, settings and hashes of parameters.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass
class _Flight:
    done: threading.Event = field(default_factory=threading.Event)
    value: Any = None
    error: BaseException | None = None


class Memo:
    """A bounded, thread-safe LRU with single-flight: concurrent callers of one key wait for one computation.

    Parameters
    ----------
    max_items : int
        Most entries kept; the least recently used goes first (0: none, but concurrent callers still share one
        computation).
    max_bytes : float
        Most bytes kept, as weighed by the callers (an entry heavier than this is returned but not kept).
    ttl_s : float
        Seconds an entry stays valid after it was computed (default: until pushed out).
    clock : callable
        ``() -> seconds``, monotonic; for tests.
    """

    def __init__(self, max_items: int, max_bytes: float = float("inf"), ttl_s: float = float("inf"),
                 clock: Callable[[], float] = time.monotonic):
        if max_items < 0:
            raise ValueError("A memo's entry bound cannot be negative (0 keeps nothing, still computing once).")
        self.max_items = max_items
        self.max_bytes = max_bytes
        self.ttl_s = ttl_s
        self._clock = clock
        self._data: OrderedDict[Hashable, tuple[Any, float, float]] = OrderedDict()  # value, bytes, expires at
        self._bytes = 0.0
        self._flights: dict[Hashable, _Flight] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            return len(self._data)

    @property
    def nbytes(self) -> float:
        """Bytes held (as weighed)."""
        with self._lock:
            return self._bytes

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The value of ``key`` (now the most recently used), or ``default`` when missing or expired."""
        with self._lock:
            return self._fresh(key, default)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return self._fresh(key, _MISSING) is not _MISSING

    def put(self, key: Hashable, value: Any, nbytes: float = 0.0) -> None:
        """Keep ``value`` under ``key``, dropping the least recently used entries beyond the bounds."""
        with self._lock:
            self._put(key, value, nbytes)

    def get_or_compute(self, key: Hashable, compute: Callable[[], T], weigh: Callable[[T], float] | None = None) -> T:
        """The memoised value of ``key``, computed once however many threads ask at the same time.

        ``weigh(value)`` gives its size in bytes (default 0: only the entry count bounds it). An exception in
        ``compute`` reaches every waiting caller and nothing is kept.
        """
        with self._lock:
            value = self._fresh(key, _MISSING)
            if value is not _MISSING:
                return value
            flight = self._flights.get(key)
            owner = flight is None
            if owner:
                flight = self._flights[key] = _Flight()
        if not owner:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            return flight.value
        try:
            flight.value = compute()
            with self._lock:
                self._put(key, flight.value, float(weigh(flight.value)) if weigh else 0.0)
            return flight.value
        except BaseException as exc:
            flight.error = exc
            raise
        finally:
            with self._lock:
                self._flights.pop(key, None)
            flight.done.set()

    def clear(self) -> None:
        """Drop every entry (a computation under way still returns its value to its callers, and keeps it)."""
        with self._lock:
            self._data.clear()
            self._bytes = 0.0

    # -- under the lock ----------------------------------------------------------------------------------------------
    def _fresh(self, key: Hashable, default: Any) -> Any:
        entry = self._data.get(key)
        if entry is None:
            return default
        if entry[2] <= self._clock():
            self._bytes -= self._data.pop(key)[1]
            return default
        self._data.move_to_end(key)
        return entry[0]

    def _expire(self) -> None:
        now = self._clock()
        for key in [k for k, (_, _, expires) in self._data.items() if expires <= now]:
            self._bytes -= self._data.pop(key)[1]

    def _put(self, key: Hashable, value: Any, nbytes: float) -> None:
        if key in self._data:
            self._bytes -= self._data.pop(key)[1]
        if nbytes > self.max_bytes or self.max_items == 0:
            return
        self._data[key] = (value, nbytes, self._clock() + self.ttl_s)
        self._bytes += nbytes
        while len(self._data) > self.max_items or self._bytes > self.max_bytes:
            _, (_, dropped, _) = self._data.popitem(last=False)
            self._bytes -= dropped


_MISSING = object()


SERVICE_MEMO_ITEMS = 16
SERVICE_MEMO_MB = 128.0
"""The service's memo (auditors, sample points, isochrone polygons), in each process: entries and megabytes."""

_memo_lock = threading.Lock()


def memo_of(owner: Any, max_items: int = SERVICE_MEMO_ITEMS, max_mb: float = SERVICE_MEMO_MB) -> Memo:
    """The :class:`Memo` belonging to ``owner`` (created on first use, kept in its ``__dict__``)."""
    memo = owner.__dict__.get("_memo")
    if memo is None:
        with _memo_lock:
            memo = owner.__dict__.setdefault("_memo", Memo(max_items, max_mb * 1e6))
    return memo
