"""CLI command: serve — the API and the referrer page, ready for production with one command.

``asih serve`` is uvicorn (uvloop + httptools, what the service is measured on) behind three guards of our own:

- **What a connection may cost** (:mod:`api.connections`): total read deadlines for a request head and body, and at
  most ``ASIH_SERVE_CONNECTIONS_PER_ADDRESS`` open connections per client address per worker, so neither slow
  clients (issue 11) nor one address re-opening thousands of half-open connections (issue 22) take the connection
  limit (``--max-connections``) from everyone else.
- **Whom to believe about the client's address**: no forwarded header by default (uvicorn trusts
  ``X-Forwarded-For`` from 127.0.0.1 unless told otherwise, so anything on the host could pose as any client and
  escape the per-address limits); ``--proxy-headers --forwarded-allow-ips ADDR`` names the reverse proxy.
- **Workers forked from one loaded process** (:class:`Supervisor`, as gunicorn's ``--preload``): the parent loads
  and checks the prepared data once, then forks the workers, which share its read-only arrays copy-on-write instead
  of each loading its own copy (uvicorn's ``--workers`` spawns fresh interpreters: 680–760 MB RSS each, issue 22).
  A worker that dies is forked again at once (ready in about a second: nothing to load); SIGTERM or SIGINT ends
  every worker gracefully, then any process left below the parent (it is a child subreaper, so the heavy-work pool's
  processes and a multiprocessing resource tracker are its to end even when orphaned).

Alternatives weighed: hypercorn (``read_timeout`` is per read, so a body trickled just under it is held), granian
(a Rust server with a header timeout, but another logging and process model to learn for the same result), gunicorn
with uvicorn workers (a second server to configure, and its arbiter still lacks the read deadlines) and nginx in front
(a second daemon to install, configure and supervise; a hospital's existing reverse proxy is still welcome in front,
and these guards are then a second line). This way ``asih serve`` is the whole production start: one process
supervisor entry (systemd), the redacting access log, ``--workers`` for more cores.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import mmap
import os
import resource
import signal
import socket
import struct
import time
from typing import Annotated

import typer

from api.cli.output import console, fail
from api.connections import BODY_TIMEOUT_S, HEADER_TIMEOUT_S, BadProxyAddress, TrustedProxies, protocol_class
from core.settings import get_settings
from core.words import render
from registry.errors import Damaged

KEEP_ALIVE_S = 5
"""An idle keep-alive connection is closed after this time (uvicorn's ``timeout_keep_alive``)."""
MAX_CONNECTIONS = 2048
"""Open connections (and requests in progress) per worker before new ones get 503 (uvicorn's
``limit_concurrency``). High, because slow connections end by the read deadlines and one address may hold only
``connections_per_address`` of them."""
GRACEFUL_S = 10
"""On SIGTERM, requests in progress get this long to finish (uvicorn's ``timeout_graceful_shutdown``)."""
KILL_AFTER_S = GRACEFUL_S + 5
"""A worker (or a leftover process below the server) still running this long after SIGTERM is killed."""
REAP_INTERVAL_S = 0.1
"""How often the supervisor looks for dead workers (a dead worker is forked again within this time)."""
RESPAWN_BACKOFF_S = 1.0
"""A worker that dies within this time of its start is forked again only after this time (no fork loop when every
new worker fails at once)."""
STARTUP_FAILURE = 3
WORKER_HANG_S = 30.0
"""A worker whose event loop has not ticked for this long (s) is taken as hung, killed and forked again. uvicorn's
loop ticks every 0.1 s; request work that could block it runs in threads or the heavy-work pool, so 30 s of silence is
a hang (a deadlock, a stuck C call), not a slow request."""
STARTUP_GRACE_S = 120.0
"""A worker that has not ticked once this long (s) after its fork is taken as hung in its start-up."""
"""Exit code of a worker that could not start (uvicorn's): the supervisor stops instead of forking it again."""
_PR_SET_PDEATHSIG, _PR_SET_CHILD_SUBREAPER = 1, 36

log = logging.getLogger("uvicorn.error")


def raise_open_file_limit(wanted: int) -> int:
    """Raise this process's soft open-file limit towards ``wanted`` (bounded by the hard limit); the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


def _prctl(option: int, value: int) -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: orphans are not reaped, workers not tied to the supervisor
        pass


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (Linux ``/proc``)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as fh:
                    stat = fh.read()
            except OSError:
                continue
            if int(stat[stat.rindex(b")") + 2:].split()[1]) == pid:
                found.append(int(entry))
    return found


class Heartbeats:
    """One monotonic-clock time per worker slot, in memory shared by the supervisor and its forked workers: each
    worker's event loop writes its slot every tick (0.1 s), the supervisor reads them. ``time.monotonic`` is the
    system-wide CLOCK_MONOTONIC on Linux, so the processes' times compare."""

    def __init__(self, slots: int):
        self.slots = slots
        self._mem = mmap.mmap(-1, 8 * slots)  # anonymous and shared: inherited by fork, written by both sides

    def touch(self, slot: int) -> None:
        struct.pack_into("d", self._mem, 8 * slot, time.monotonic())

    def last(self, slot: int) -> float:
        """The slot's last tick (monotonic s), 0.0 before its worker's first tick."""
        return struct.unpack_from("d", self._mem, 8 * slot)[0]

    def clear(self, slot: int) -> None:
        struct.pack_into("d", self._mem, 8 * slot, 0.0)


def _beating_server(config, beats: Heartbeats, slot: int):
    """A uvicorn server whose event loop writes its heartbeat slot at every tick."""
    import uvicorn

    class BeatingServer(uvicorn.Server):
        async def on_tick(self, counter: int) -> bool:
            beats.touch(slot)
            return await super().on_tick(counter)

    return BeatingServer(config)


class Supervisor:
    """Fork ``workers`` uvicorn servers from this (loaded) process, keep that many alive, end them all on SIGTERM.

    Parameters
    ----------
    config : uvicorn.Config
        The server configuration, with the app object (loaded here, shared by the forked workers).
    sock : socket.socket
        The bound listening socket every worker accepts on.
    workers : int
        Worker processes to keep running.
    hang_s : float
        A worker whose event loop is silent this long (s) is killed and forked again (:data:`WORKER_HANG_S`).
    """

    def __init__(self, config, sock: socket.socket, workers: int, hang_s: float = WORKER_HANG_S):
        self.config, self.sock, self.workers = config, sock, max(1, workers)
        self.hang_s = hang_s
        self.beats = Heartbeats(self.workers)
        self.pids: dict[int, float] = {}
        self.slots: dict[int, int] = {}
        self.killed: set[int] = set()
        self.due: list[float] = []
        self.stopping = False
        self.exit_code = 0

    def run(self) -> int:
        """Serve until SIGTERM or SIGINT (or a worker that cannot start); the exit code."""
        _prctl(_PR_SET_CHILD_SUBREAPER, 1)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._stop)
        gc.collect()
        gc.freeze()  # the loaded objects stay out of the collector: it would write to (and so copy) their pages
        log.info("Started parent process [%d]", os.getpid())
        for _ in range(self.workers):
            self._fork()
        while not self.stopping:
            time.sleep(REAP_INTERVAL_S)
            self._reap()
            self._kill_hung()
            now = time.monotonic()
            for at in [at for at in self.due if at <= now and not self.stopping]:
                self.due.remove(at)
                self._fork()
        self._end_all()
        log.info("Stopping parent process [%d]", os.getpid())
        return self.exit_code

    def _stop(self, signum: int, frame: object) -> None:
        self.stopping = True

    def _fork(self) -> None:
        slot = min(set(range(self.workers)) - set(self.slots.values()), default=None)
        if slot is None:
            return
        self.beats.clear(slot)
        pid = os.fork()
        if pid:
            self.pids[pid], self.slots[pid] = time.monotonic(), slot
            return
        code = 1
        try:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, signal.SIG_DFL)  # uvicorn's server installs its own graceful handlers
            _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)  # a supervisor killed outright takes its workers along
            server = _beating_server(self.config, self.beats, slot)
            server.run(sockets=[self.sock])
            code = 0 if server.started else STARTUP_FAILURE
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:  # noqa: BLE001 - a worker must never return into the supervisor's loop
            log.exception("Worker process [%d] failed", os.getpid())
        finally:
            os._exit(code)

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid not in self.pids:
                continue  # an orphan handed to us (subreaper), now ended
            started = self.pids.pop(pid)
            self.slots.pop(pid, None)
            self.killed.discard(pid)
            if os.WIFEXITED(status) and os.WEXITSTATUS(status) == STARTUP_FAILURE:
                log.error("Worker process [%d] could not start; stopping.", pid)
                self.stopping, self.exit_code = True, STARTUP_FAILURE
                return
            if not self.stopping:
                log.info("Worker process [%d] died; starting another.", pid)
                quick = time.monotonic() - started < RESPAWN_BACKOFF_S
                self.due.append(time.monotonic() + (RESPAWN_BACKOFF_S if quick else 0.0))

    def _kill_hung(self) -> None:
        """SIGKILL every worker whose event loop has been silent past :attr:`hang_s` (or that never ticked within
        :data:`STARTUP_GRACE_S` of its fork); :meth:`_reap` then forks another."""
        now = time.monotonic()
        for pid, slot in list(self.slots.items()):
            if pid in self.killed:
                continue
            last = self.beats.last(slot)
            if last:
                silent, limit = now - last, self.hang_s
            else:
                silent, limit = now - self.pids[pid], max(STARTUP_GRACE_S, self.hang_s)
            if silent > limit:
                log.error("Worker process [%d] has not answered for %.0f s; killing it and starting another.",
                          pid, silent)
                self.killed.add(pid)
                self._signal_all({pid}, signal.SIGKILL)

    def _end_all(self) -> None:
        """SIGTERM to the workers (graceful), then to whatever else is below this process; SIGKILL past the time."""
        self._signal_all(set(self.pids), signal.SIGTERM)
        deadline = time.monotonic() + KILL_AFTER_S
        while self.pids and time.monotonic() < deadline:
            time.sleep(REAP_INTERVAL_S)
            self._reap()
        for sig, wait_s in ((signal.SIGTERM, 2.0), (signal.SIGKILL, 5.0)):
            left = set(children(os.getpid())) | set(self.pids)
            if not left:
                break
            self._signal_all(left, sig)  # a resource tracker ignores SIGTERM: it gets SIGKILL
            deadline = time.monotonic() + wait_s
            while time.monotonic() < deadline and (set(children(os.getpid())) | set(self.pids)):
                time.sleep(REAP_INTERVAL_S)
                self._reap()

    @staticmethod
    def _signal_all(pids: set[int], sig: int) -> None:
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Server processes, forked from one loaded copy of the data.")] = 1,
    header_timeout: Annotated[float, typer.Option(help="Seconds to receive a request head.")] = HEADER_TIMEOUT_S,
    body_timeout: Annotated[float, typer.Option(help="Seconds to receive a request body.")] = BODY_TIMEOUT_S,
    max_connections: Annotated[int, typer.Option(help="Open connections per process before 503.")] = MAX_CONNECTIONS,
    proxy_headers: Annotated[bool, typer.Option(
        help="Take the client's address and scheme from X-Forwarded-For/-Proto, from --forwarded-allow-ips only.",
    )] = False,
    forwarded_allow_ips: Annotated[str, typer.Option(
        help="Comma-separated addresses or networks of the reverse proxies to trust ('*' = any; none by default).",
    )] = "",
    worker_hang_timeout: Annotated[float, typer.Option(
        help="Seconds a worker's event loop may be silent before the worker is killed and started again.",
    )] = WORKER_HANG_S,
) -> None:
    """Start the HTTP API and the referrer page: uvicorn with read deadlines and per-address connection limits,
    query strings redacted from the access log, heavy work in a bounded pool. Refuses to start on invalid areas or
    providers files, a damaged cache or registry database."""
    import uvicorn

    from api.app import create_app
    from api.cli.checks import DataCheckError, check_data, check_plausibility
    from api.privacy import uvicorn_log_config
    from core.cache import CacheError
    from core.settings import UnknownSetting, verify_environment
    from lookup.service import Service
    from registry.db import check_database_file

    if proxy_headers != bool(forwarded_allow_ips.strip()):
        fail(render("serve_proxy_without_addresses" if proxy_headers else "serve_addresses_without_proxy_headers"))
    try:
        trusted = TrustedProxies(forwarded_allow_ips if proxy_headers else None)
    except BadProxyAddress as exc:
        fail(render("serve_forwarded_address_invalid", {"value": exc.value}))
    try:
        verify_environment()
        settings = get_settings()
        check_data(settings)
        check_database_file(settings.registry_url)
        service = Service.load(settings)  # once, here: the workers are forked with it
        check_plausibility(settings, service)
    except (DataCheckError, UnknownSetting, Damaged, CacheError) as exc:
        fail(str(exc))
    protocol = protocol_class(header_timeout, body_timeout, settings.serve_connections_per_address, trusted)
    limit = raise_open_file_limit(max_connections * max(workers, 1) + 256)
    max_connections = min(max_connections, max(limit - 64, 64))
    config = uvicorn.Config(
        create_app(settings, service=service), host=host, port=port, log_config=uvicorn_log_config(),
        http=protocol, timeout_keep_alive=KEEP_ALIVE_S, limit_concurrency=max_connections,
        backlog=min(max_connections, 4096), timeout_graceful_shutdown=GRACEFUL_S,
        proxy_headers=proxy_headers, forwarded_allow_ips=forwarded_allow_ips if proxy_headers else "",
    )
    config.load()
    sock = config.bind_socket()
    console.print(f"ASIH service on http://{host}:{port}/ (API docs: /docs)")
    code = Supervisor(config, sock, workers, hang_s=max(worker_hang_timeout, 1.0)).run()
    sock.close()
    if code:
        raise typer.Exit(code)


COMMANDS = {"serve": serve}
