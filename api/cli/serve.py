"""CLI command: serve — the API and the referrer page, ready for production with one command.

Why uvicorn with read deadlines of our own (:class:`ReadDeadlines`): uvicorn (uvloop + httptools) is what the
service is measured on, but it has no header or body read timeout. An idle connection, headers trickled a byte at a
time, or a chunked body that never ends (chunk size ``FFFFFFFFFFFFFFFF``) holds a connection for ever, and with
``limit_concurrency`` every other client then gets 503: 260 idle connections were enough (issue 11). The protocol
here adds what nginx calls ``client_header_timeout`` and ``client_body_timeout``, as a *total* time per request head
and per request body (not per read, so trickling does not extend them), and closes idle connections that never
send a request. With those, a connection costs an attacker a new TCP handshake every few seconds, and the
connection limit can be generous (``--max-connections``; the open-file limit is raised to fit).

Alternatives weighed: hypercorn (``read_timeout`` is per read, so a body trickled just under it is held), granian
(a Rust server with a header timeout, but another logging and process model to learn for the same result), and
nginx in front (a second daemon to install, configure and supervise; a hospital's existing reverse proxy is still
welcome in front, and these deadlines are then a second line). This way ``asih serve`` is the whole production
start: one process supervisor entry (systemd), the redacting access log, ``--workers`` for more cores.
"""

from __future__ import annotations

import asyncio
import os
import resource
from typing import Annotated, Any

import typer

from api.cli.output import console, fail
from core.settings import get_settings
from registry.errors import Damaged

HEADER_TIMEOUT_S = 10.0
"""A request head (request line and headers) must arrive within this time of its first byte, and a new connection
must start a request within it (nginx ``client_header_timeout``, default 60 s; ours is shorter)."""
BODY_TIMEOUT_S = 30.0
"""A request body must arrive within this time of its head (1 MB, the body limit, at ≥ 33 kB/s)."""
KEEP_ALIVE_S = 5
"""An idle keep-alive connection is closed after this time (uvicorn's ``timeout_keep_alive``)."""
WORKER_HEALTHCHECK_S = 60
"""With ``--workers``, how long uvicorn's supervisor waits for a worker to answer before killing it as hung. Its
default (5 s) killed workers still importing or rebuilding a stale cache at start (a "died" worker, restarted)."""
MAX_CONNECTIONS = 2048
"""Open connections (and requests in progress) per worker before new ones get 503 (uvicorn's
``limit_concurrency``). High, because slow connections now end by the deadlines above."""
_ENV = {"header": "ASIH_SERVE_HEADER_TIMEOUT_S", "body": "ASIH_SERVE_BODY_TIMEOUT_S"}
"""How the deadlines reach worker processes (``--workers`` spawns fresh interpreters)."""


class ReadDeadlines:
    """Mixin for uvicorn's HTTP protocols: total deadlines for reading a request head and a request body.

    The deadline is armed when a connection opens and when the first byte of a new request arrives; when it fires,
    a connection still waiting for a head is closed (408), and one whose body is still arriving gets the body
    deadline once, then is closed. Uvicorn's keep-alive timer covers idle connections between requests.
    """

    header_timeout_s: float = HEADER_TIMEOUT_S
    body_timeout_s: float = BODY_TIMEOUT_S

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)  # type: ignore[misc]
        self._deadline: asyncio.TimerHandle | None = None
        self._read_started = 0.0
        self._cycle_at_start: Any = None
        self._in_body = False
        self._arm(self.header_timeout_s)

    def data_received(self, data: bytes) -> None:
        cycle = self.cycle  # type: ignore[attr-defined]
        between_requests = cycle is None or cycle.response_complete
        if between_requests and (self._deadline is None or self._cycle_at_start is not cycle):
            self._arm(self.header_timeout_s)  # the first bytes of a new request
        super().data_received(data)  # type: ignore[misc]

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]

    def _arm(self, seconds: float) -> None:
        self._disarm()
        loop = asyncio.get_running_loop()
        self._cycle_at_start = self.cycle  # type: ignore[attr-defined]
        self._in_body = False
        self._read_started = loop.time()
        self._deadline = loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if getattr(self, "_deadline", None) is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        transport: asyncio.Transport = self.transport  # type: ignore[attr-defined]
        if transport.is_closing():
            return
        cycle = self.cycle  # type: ignore[attr-defined]
        if cycle is self._cycle_at_start:
            # No request head completed since the deadline was armed: idle from the start, or trickled headers.
            transport.write(b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            transport.close()
        elif cycle.more_body:
            if self._in_body:
                transport.close()  # the body did not arrive in time: the app sees a disconnect
                return
            self._in_body = True
            loop = asyncio.get_running_loop()
            remaining = self._read_started + self.header_timeout_s + self.body_timeout_s - loop.time()
            self._deadline = loop.call_later(max(remaining, 0.0), self._expired)
        # else: the request was read in time; the next one arms its own deadline in data_received.


def _env_deadlines() -> tuple[float, float]:
    return (float(os.environ.get(_ENV["header"], HEADER_TIMEOUT_S)),
            float(os.environ.get(_ENV["body"], BODY_TIMEOUT_S)))


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class DeadlineHttpToolsProtocol(ReadDeadlines, HttpToolsProtocol):
        """uvicorn's httptools protocol with read deadlines."""

        header_timeout_s, body_timeout_s = _env_deadlines()

    PROTOCOL: type = DeadlineHttpToolsProtocol
except ImportError:  # httptools is part of uvicorn[standard]; h11 is the pure-Python fallback
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class DeadlineH11Protocol(ReadDeadlines, H11Protocol):
        """uvicorn's h11 protocol with read deadlines."""

        header_timeout_s, body_timeout_s = _env_deadlines()

    PROTOCOL = DeadlineH11Protocol


def raise_open_file_limit(wanted: int) -> int:
    """Raise this process's soft open-file limit towards ``wanted`` (bounded by the hard limit); the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Server processes (each loads the prepared data, ≈ 300 MB).")] = 1,
    header_timeout: Annotated[float, typer.Option(help="Seconds to receive a request head.")] = HEADER_TIMEOUT_S,
    body_timeout: Annotated[float, typer.Option(help="Seconds to receive a request body.")] = BODY_TIMEOUT_S,
    max_connections: Annotated[int, typer.Option(help="Open connections per process before 503.")] = MAX_CONNECTIONS,
) -> None:
    """Start the HTTP API and the referrer page: uvicorn with header/body read deadlines, query strings redacted
    from the access log, heavy work in a bounded pool. Refuses to start on invalid areas or providers files."""
    import uvicorn

    from api.cli.checks import DataCheckError, check_data
    from api.privacy import uvicorn_log_config

    from core.settings import UnknownSetting, verify_environment
    from registry.db import check_database_file

    try:
        verify_environment()
        check_data(get_settings())
        check_database_file(get_settings().registry_url)
    except (DataCheckError, UnknownSetting, Damaged) as exc:
        fail(str(exc))
    os.environ[_ENV["header"]] = str(header_timeout)
    os.environ[_ENV["body"]] = str(body_timeout)
    PROTOCOL.header_timeout_s, PROTOCOL.body_timeout_s = header_timeout, body_timeout
    limit = raise_open_file_limit(max_connections * max(workers, 1) + 256)
    max_connections = min(max_connections, max(limit - 64, 64))
    console.print(f"ASIH service on http://{host}:{port}/ (API docs: /docs)")
    uvicorn.run(
        "api.main:app", host=host, port=port, workers=workers, log_config=uvicorn_log_config(),
        http=PROTOCOL, timeout_keep_alive=KEEP_ALIVE_S, limit_concurrency=max_connections,
        backlog=min(max_connections, 4096), timeout_graceful_shutdown=10,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
    )


COMMANDS = {"serve": serve}
