"""Heavy work (batch, isochrone, audit, choice) off the event loop: bounded, computed once, memoised in bounds.

Two pieces, used by the routes, the service and the CLI alike:

- :class:`~core.memo.Memo` (the project's one memo) — :func:`core.memo.memo_of` gives an object (the service) its own.
- :class:`HeavyExecutor` — runs heavy functions in worker *processes* forked from the loaded service
  (copy-on-write: the arrays are shared, not loaded again), at most ``workers`` at a time and ``queue`` more
  waiting; beyond that it raises :class:`Saturated`, which the app answers with 503 and ``Retry-After``. Identical
  concurrent requests share one computation, and results of pure functions (audits, isochrones) are kept in a
  :class:`Memo` in the server process. The workers run at a lower CPU priority (``nice``), so lookups on the event
  loop keep their latency while a batch runs.

Why processes and not threads: lookups run on the event loop, and a batch is pure-Python geocoding that holds the
GIL; in threads, two 500-row batch clients cut lookup throughput from 638 to 170 req/s and raised p99 from 20 to
153 ms (issue 11). A worker whose private memory grows past ``worker_max_private_mb`` is replaced after its task
(measured after a long task, and at most every ``MEMORY_CHECK_S`` after short ones), so fragmentation from many
different requests cannot pile up in the server.

Nothing a request sent is kept: batch rows live only in the call to the worker, and batches are never memoised.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import BrokenExecutor, Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, TypeVar

from core.geojson import dumps
from core.memo import Memo  # noqa: F401 - re-exported for the tests and callers

T = TypeVar("T")

HEAVY_WORKERS = max(1, min(4, (os.cpu_count() or 2) // 2))
"""Heavy computations running at once (worker processes): half the cores, 1 to 4 (1 on the 2-core VM), so lookups
keep a core."""
HEAVY_QUEUE = 8
"""Distinct heavy computations that may wait for a worker; more are refused with 503."""
HEAVY_NICE = 10
"""CPU priority of the workers relative to the server (0 = same; 10 = lookups first when the CPU is short)."""
RETRY_AFTER_S = 5
"""What a refused client is told to wait (the ``Retry-After`` header, seconds)."""
RESULT_MEMO_ITEMS = 64
RESULT_MEMO_MB = 64.0
"""The server's memo of heavy results (serialised JSON or geometries): entries and megabytes."""
WORKER_MAX_PRIVATE_MB = 300.0
"""A worker whose private (not shared with the server) memory exceeds this is replaced after its task."""
PARENT_CHECK_S = 1.0
"""How often a heavy-work process checks that its server still runs (s); it ends within this of the server."""
MEMORY_CHECK_S = 1.0
"""A worker measures its private memory after a task that ran this long, or when this long has passed since it last
did. Measuring costs ~15–20 ms (the kernel walks the page tables of the forked service, then ``malloc_trim``): paid
after every task it was most of the pool hop of a 20 ms isochrone (issue 24)."""


# -- the executor ------------------------------------------------------------------------------------------------


class Saturated(RuntimeError):
    """Too much heavy work is running or waiting; retry after ``retry_after_s`` seconds."""

    def __init__(self, retry_after_s: int):
        self.retry_after_s = retry_after_s
        super().__init__(f"The server is busy with other heavy requests; retry in {retry_after_s} s.")


class HeavyWorkFailed(RuntimeError):
    """A heavy function raised in its worker (only the exception's type is passed on: its text may quote input)."""


_worker_service: Any = None


def _init_worker(service: Any, nice: int) -> None:
    """In a fresh worker: keep the service, let the server handle Ctrl-C, and step back in CPU priority."""
    global _worker_service
    _worker_service = service
    # A database engine's pooled connections belong to the server: the worker opens its own (SQLAlchemy's advice
    # for forked processes). The live registry's engine is the only one the service holds.
    engine = getattr(getattr(service, "live", None), "engine", None)
    if engine is not None and hasattr(engine, "dispose"):
        engine.dispose(close=False)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _end_with_server()
    try:
        signal.set_wakeup_fd(-1)  # the server's event loop wake-up socket is not ours
    except (ValueError, OSError):
        pass
    if nice:
        try:
            os.nice(nice)
        except OSError:
            pass


def _end_with_server() -> None:
    """End this worker when the server process that forked it ends (checked each :data:`PARENT_CHECK_S`).

    The pool's own shutdown ends its workers when the server stops cleanly; a server killed outright (SIGKILL, the
    OOM killer) left them running for ever, each holding the pool's pipes open (issue 22). Not ``PR_SET_PDEATHSIG``:
    the kernel sends that when the *thread* that forked the worker ends, and the pool forks from whichever thread
    submits work (a short-lived one under a test client), which killed healthy workers.
    """
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(PARENT_CHECK_S)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="asih-server-watch", daemon=True).start()


def _run_in_worker(fn: Callable[..., Any], args: tuple, service: Any = None) -> tuple[bool, Any, float]:
    started = time.monotonic()
    try:
        result = fn(_worker_service if service is None else service, *args)
    except Exception as exc:  # noqa: BLE001 - passed on by type only
        return False, type(exc).__name__, _checked_mb(started)
    return True, result, _checked_mb(started)


_last_check = {"at": float("-inf"), "mb": 0.0}


def _checked_mb(started: float) -> float:
    """The worker's private memory (MB): measured after a long task or when the last measure is old, else that one.

    Short tasks in a row share one measurement; one that leaves a worker over its bound is seen at the next check
    (within ``MEMORY_CHECK_S``), and the worker is replaced after that task.
    """
    now = time.monotonic()
    if now - started >= MEMORY_CHECK_S or now - _last_check["at"] >= MEMORY_CHECK_S:
        _last_check["mb"] = _trimmed_mb()
        _last_check["at"] = time.monotonic()
    return _last_check["mb"]


def _trimmed_mb() -> float:
    """Give freed heap pages back to the system (glibc keeps them otherwise), then measure."""
    if _malloc_trim is not None:
        _malloc_trim(0)
    return private_mb()


try:
    _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
except (OSError, AttributeError):  # not glibc
    _malloc_trim = None


def private_mb() -> float:
    """This process's private memory (MB): pages it does not share with its parent (Linux; 0 elsewhere)."""
    try:
        with open("/proc/self/smaps_rollup", encoding="ascii") as fh:
            kb = sum(int(line.split()[1]) for line in fh if line.startswith(("Private_Clean:", "Private_Dirty:")))
        return kb / 1024
    except (OSError, ValueError, IndexError):
        return 0.0


class HeavyExecutor:
    """Bounded, de-duplicated heavy work for the app (see the module docstring).

    Parameters
    ----------
    workers : int
        Computations at once (worker processes, or threads with ``processes=False``).
    queue : int
        Distinct computations that may wait; more raise :class:`Saturated`.
    processes : bool
        Fork worker processes (the server) or use threads (a process that must not fork).
    nice : int
        CPU priority step of the worker processes.
    """

    def __init__(
        self,
        workers: int = HEAVY_WORKERS,
        queue: int = HEAVY_QUEUE,
        processes: bool = True,
        nice: int = HEAVY_NICE,
        retry_after_s: int = RETRY_AFTER_S,
        memo_items: int = RESULT_MEMO_ITEMS,
        memo_mb: float = RESULT_MEMO_MB,
        worker_max_private_mb: float = WORKER_MAX_PRIVATE_MB,
    ):
        self.workers = max(1, workers)
        self.queue = max(0, queue)
        self.processes = processes
        self.nice = nice
        self.retry_after_s = retry_after_s
        self.worker_max_private_mb = worker_max_private_mb
        self.memo = Memo(memo_items, memo_mb * 1e6)
        self._service: Any = None
        self._pool: Executor | None = None
        self._pool_lock = threading.Lock()
        self._flights: dict[Hashable, asyncio.Future] = {}
        self._slots: asyncio.Semaphore | None = None
        self.computed = 0
        self.refused = 0
        self.recycled = 0

    # -- life cycle ----------------------------------------------------------------------------------------------
    def start(self, service: Any) -> None:
        """Bind the loaded service and start the workers now (forked from this process, sharing its memory)."""
        self._service = service
        self._ensure_pool().submit(os.getpid).result()

    def close(self) -> None:
        """Stop the workers (running computations finish first)."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    @property
    def pending(self) -> int:
        """Distinct computations running or waiting."""
        return len(self._flights)

    def _ensure_pool(self) -> Executor:
        with self._pool_lock:
            if self._pool is None:
                if self._service is None:
                    raise RuntimeError("HeavyExecutor.start(service) was not called.")
                if self.processes:
                    gc.collect()
                    gc.freeze()  # objects made so far stay out of the collector: fewer copied pages in the workers
                    self._pool = ProcessPoolExecutor(
                        self.workers, mp_context=multiprocessing.get_context("fork"),
                        initializer=_init_worker, initargs=(self._service, self.nice),
                    )
                else:
                    self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="asih-heavy")
            return self._pool

    def _replace_pool(self, pool: Executor) -> None:
        with self._pool_lock:
            if self._pool is not pool:
                return
            self._pool = None
            self.recycled += 1
        pool.shutdown(wait=False)

    # -- work ----------------------------------------------------------------------------------------------------
    async def run(self, key: Hashable, fn: Callable[..., T], *args: Any, memo: bool = True,
                  weigh: Callable[[T], float] | None = None) -> T:
        """``fn(service, *args)`` in a worker, once per ``key`` among concurrent callers.

        Parameters
        ----------
        key : hashable
            Identifies the computation (route and parameters); identical keys share one computation.
        fn : callable
            A module-level function (it is sent to the worker by name) of the service and ``args``, returning
            something picklable.
        memo : bool
            Keep the result in the server's memo (never for request data such as batches).
        weigh : callable, optional
            Size in bytes of a result, for the memo's bound (default: ``len`` of bytes, else 0).

        Raises
        ------
        Saturated
            When ``workers + queue`` distinct computations are already running or waiting.
        HeavyWorkFailed
            When ``fn`` raised (by type only).
        """
        if memo:
            hit = self.memo.get(key, _MISSING)
            if hit is not _MISSING:
                return hit
        flight = self._flights.get(key)
        if flight is None:
            if len(self._flights) >= self.workers + self.queue:
                self.refused += 1
                raise Saturated(self.retry_after_s)
            flight = asyncio.ensure_future(self._compute(key, fn, args, memo, weigh))
            self._flights[key] = flight
            flight.add_done_callback(lambda f, k=key: self._done(k, f))
        return await asyncio.shield(flight)

    def _done(self, key: Hashable, flight: asyncio.Future) -> None:
        self._flights.pop(key, None)
        if not flight.cancelled():
            flight.exception()  # retrieved here too: every caller may have gone away

    async def _compute(self, key: Hashable, fn: Callable, args: tuple, memo: bool, weigh) -> Any:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.workers)
        async with self._slots:
            loop = asyncio.get_running_loop()
            pool = self._ensure_pool()
            try:
                # A forked worker has the service already; a thread is handed it.
                service = None if self.processes else self._service
                ok, value, mb = await loop.run_in_executor(pool, _run_in_worker, fn, args, service)
            except BrokenExecutor:
                self._replace_pool(pool)
                raise Saturated(self.retry_after_s) from None
            if self.processes and mb > self.worker_max_private_mb:
                self._replace_pool(pool)
        if not ok:
            raise HeavyWorkFailed(f"{value} in heavy work")
        self.computed += 1
        if memo:
            size = weigh(value) if weigh else (len(value) if isinstance(value, (bytes, bytearray)) else 0)
            self.memo.put(key, value, float(size))
        return value

    def stats(self) -> dict[str, Any]:
        """Counters for monitoring (no request data)."""
        return {"workers": self.workers, "queue": self.queue, "pending": self.pending, "computed": self.computed,
                "refused": self.refused, "recycled": self.recycled, "memo_items": len(self.memo),
                "memo_mb": round(self.memo.nbytes / 1e6, 1)}


_MISSING = object()


def heavy_for(request: Any) -> HeavyExecutor:
    """The app's executor (``app.state.heavy``), bound to the loaded service on first use."""
    heavy: HeavyExecutor = request.app.state.heavy
    if heavy._service is None:
        heavy._service = request.app.state.service
    return heavy


async def run_heavy(heavy: HeavyExecutor, key: Hashable, fn: Callable[..., T], *args: Any, memo: bool = True,
                    weigh: Callable[[T], float] | None = None) -> T:
    """:meth:`HeavyExecutor.run` for a route: :class:`Saturated` becomes 503 with ``Retry-After``."""
    from fastapi import HTTPException

    try:
        return await heavy.run(key, fn, *args, memo=memo, weigh=weigh)
    except Saturated as exc:
        raise HTTPException(503, str(exc), headers={"Retry-After": str(exc.retry_after_s)}) from None


def json_bytes(content: Any) -> bytes:
    """``content`` as the JSON of the app's answers (what ``JSONResponse`` writes: compact, UTF-8, no NaN).

    Serialised once by :func:`core.geojson.dumps`: geometries written by GEOS (:class:`core.geojson.GeoJSONText`)
    are embedded as is, and FastAPI's ``jsonable_encoder`` sees only the values ``json`` cannot write itself
    (dates, models, …), not every coordinate: it took ~45–60 ms of a 180 kB isochrone answer (issue 24).
    """
    from fastapi.encoders import jsonable_encoder

    try:
        return dumps(content, default=jsonable_encoder).encode("utf-8")
    except TypeError:  # e.g. a dict key json cannot write (a date): the encoder's whole walk, as before
        return dumps(jsonable_encoder(content)).encode("utf-8")
