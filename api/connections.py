"""What one connection may cost the server: read deadlines, and a bound on open connections per client address.

Why at the protocol and not in a middleware: a middleware sees a request only once its head has arrived, and the
attacks this guards against never send one. uvicorn (uvloop + httptools) has no header or body read timeout, so an
idle connection, headers trickled a byte at a time, or a chunked body that never ends (chunk size
``FFFFFFFFFFFFFFFF``) held a connection for ever, and with ``limit_concurrency`` every other client then got 503:
260 idle connections were enough (issue 11). :class:`ReadDeadlines` adds what nginx calls ``client_header_timeout``
and ``client_body_timeout``, as a *total* time per request head and per request body (not per read, so trickling does
not extend them), and closes idle connections that never send a request.

Deadlines alone do not stop one address that re-opens its connections as fast as they are closed: 4 600 half-open
connections from one address, re-opened every 10 s, took the 2 × 2 048 connections of two workers (issue 22).
:class:`PeerLimit` counts the open connections of each peer address in a worker and closes a new one over
``max_per_peer`` at once (with a bare ``429`` and ``Retry-After``, no body), like nginx's ``limit_conn``. The peer is
the TCP peer, never a forwarded header; a trusted reverse proxy (``--forwarded-allow-ips``) is exempt, since all its
clients share its address (it must bound them itself).
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections import Counter
from typing import Any

HEADER_TIMEOUT_S = 10.0
"""A request head (request line and headers) must arrive within this time of its first byte, and a new connection
must start a request within it (nginx ``client_header_timeout``, default 60 s; ours is shorter)."""
BODY_TIMEOUT_S = 30.0
"""A request body must arrive within this time of its head (1 MB, the body limit, at ≥ 33 kB/s)."""
REFUSED = b"HTTP/1.1 429 Too Many Requests\r\nretry-after: 5\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
"""What a connection over its address's limit gets before it is closed (no body: nothing for a person to read)."""


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
        if not transport.is_closing():
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


class BadProxyAddress(ValueError):
    """An entry of ``--forwarded-allow-ips`` that is no address or network (``value``)."""

    def __init__(self, value: str):
        self.value = value
        super().__init__(f"{value!r} is not an IP address or network.")


class TrustedProxies:
    """Addresses and networks (``"10.0.0.1,10.1.0.0/16"``; ``"*"`` for any) of reverse proxies trusted to forward.

    Raises :class:`BadProxyAddress` for an entry that is neither.
    """

    def __init__(self, spec: str | list[str] | None):
        items = spec.split(",") if isinstance(spec, str) else list(spec or [])
        items = [item.strip() for item in items if item.strip()]
        self.any = "*" in items
        self.networks = []
        for item in items:
            if item != "*":
                try:
                    self.networks.append(ipaddress.ip_network(item, strict=False))
                except ValueError:
                    raise BadProxyAddress(item) from None

    def __contains__(self, host: str | None) -> bool:
        if host is None:
            return False
        if self.any:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    def __bool__(self) -> bool:
        return self.any or bool(self.networks)


class PeerLimit:
    """Mixin for uvicorn's HTTP protocols: at most ``max_per_peer`` open connections per peer address per worker.

    Must come first in the bases (before :class:`ReadDeadlines`): a connection over the limit is answered
    :data:`REFUSED` and closed before anything else is set up for it. ``open_by_peer`` is the worker's count
    (one event loop per worker: no lock needed). ``exempt`` holds the trusted proxies.
    """

    max_per_peer: int = 0
    """0 = no limit."""
    exempt: TrustedProxies = TrustedProxies(None)
    open_by_peer: Counter[str] = Counter()
    refused: int = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        peer = transport.get_extra_info("peername")
        host = str(peer[0]) if isinstance(peer, (tuple, list)) and peer else None
        self._peer = None if host is None or host in self.exempt else host
        if self._peer is not None and self.max_per_peer:
            if self.open_by_peer[self._peer] >= self.max_per_peer:
                type(self).refused += 1
                self._peer = None
                transport.write(REFUSED)
                transport.close()
            else:
                self.open_by_peer[self._peer] += 1
        super().connection_made(transport)  # type: ignore[misc]

    def connection_lost(self, exc: Exception | None) -> None:
        peer, self._peer = getattr(self, "_peer", None), None
        if peer is not None:
            left = self.open_by_peer[peer] - 1
            if left > 0:
                self.open_by_peer[peer] = left
            else:
                del self.open_by_peer[peer]
        super().connection_lost(exc)  # type: ignore[misc]


def protocol_class(header_timeout_s: float, body_timeout_s: float, max_per_peer: int,
                   trusted_proxies: TrustedProxies) -> type:
    """uvicorn's HTTP protocol (httptools; h11 when httptools is missing) with these deadlines and this limit.

    A fresh class each call, so the settings are its own (handed to ``uvicorn.Config(http=…)``; forked workers
    inherit it).
    """
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as base
    except ImportError:  # httptools is part of uvicorn[standard]; h11 is the pure-Python fallback
        from uvicorn.protocols.http.h11_impl import H11Protocol as base

    return type("GuardedHttpProtocol", (PeerLimit, ReadDeadlines, base), {
        "header_timeout_s": header_timeout_s, "body_timeout_s": body_timeout_s, "max_per_peer": max_per_peer,
        "exempt": trusted_proxies, "open_by_peer": Counter(), "refused": 0,
        "__doc__": "uvicorn's HTTP protocol with read deadlines and a per-address connection limit.",
    })
