"""Issue 11, finding 1: slow and idle connections must not take the server from everyone else.

A real ``asih serve`` on 127.0.0.1 (short deadlines so the test stays short) gets 300 hostile connections at once:
idle ones, headers trickled a byte at a time, a body trickled under its Content-Length, and chunked bodies
announcing ``FFFFFFFFFFFFFFFF`` bytes. While they hang on, ``/health`` and lookups must answer 200 promptly, and the
server must close every one of them within its deadlines. Bounded: 300 sockets, about 12 s of attack. The server
serves the tiny real model (``tests/tiny``: the county's code and cache format, a second faster to start; the lookup
is at Fjällgatan, inside it).
"""

from __future__ import annotations

import os
import select
import socket
import subprocess
import threading
import time

import httpx

from tests.reliability.conftest import asih_exe, free_port, stop, wait_healthy

HEADER_S, BODY_S = 2.0, 3.0
SLACK_S = 2.5
N_IDLE, N_HEAD, N_BODY, N_CHUNKED = 100, 100, 70, 30


def _connect(port: int, first: bytes = b"") -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    if first:
        s.sendall(first)
    return s


def _closed_by_server(s: socket.socket) -> bool:
    """True when the server has closed (EOF or reset, possibly after a 408)."""
    try:
        readable, _, _ = select.select([s], [], [], 0)
        if not readable:
            return False
        while True:
            data = s.recv(65536)
            if not data:
                return True
            if b"408" in data or b"HTTP/1.1" in data:
                continue
    except (ConnectionResetError, BrokenPipeError, OSError):
        return True


def test_300_slow_connections_leave_health_and_lookups_answered(tiny, tiny_service, tmp_path):
    port = free_port()
    log_path = tmp_path / "serve.log"
    cmd = [asih_exe(), "serve", "--port", str(port), "--header-timeout", str(HEADER_S), "--body-timeout", str(BODY_S)]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, env={**os.environ, **tiny.env(), "PYTHONUNBUFFERED": "1"}, stdout=log,
                                stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    socks: dict[str, list[socket.socket]] = {}
    try:
        wait_healthy(url, proc, log_path)
        start = time.monotonic()
        socks["idle"] = [_connect(port) for _ in range(N_IDLE)]
        socks["head"] = [_connect(port, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ") for _ in range(N_HEAD)]
        socks["body"] = [_connect(port, b"POST /v1/lookup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                        b"Content-Length: 100000\r\n\r\n{") for _ in range(N_BODY)]
        socks["chunked"] = [_connect(port, b"POST /v1/lookup/batch HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
                                           b"Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFF\r\nad")
                            for _ in range(N_CHUNKED)]
        stop_trickle = threading.Event()

        def trickle():
            while not stop_trickle.wait(0.5):
                for s in socks["head"] + socks["body"] + socks["chunked"]:
                    try:
                        s.send(b"a")
                    except OSError:
                        pass

        trickler = threading.Thread(target=trickle, daemon=True)
        trickler.start()
        answered, slowest = [], 0.0
        with httpx.Client(base_url=url, timeout=10) as client:
            while time.monotonic() - start < HEADER_S + 2:
                for path in ("/health", "/v1/lookup?lat=59.3148&lon=18.0843"):
                    t0 = time.perf_counter()
                    r = client.get(path, headers={"Connection": "close"})
                    slowest = max(slowest, time.perf_counter() - t0)
                    answered.append(r.status_code)
                time.sleep(0.1)
        assert answered and set(answered) == {200}, answered
        assert slowest < 1.0, f"slowest answer {slowest:.2f} s during the attack"

        deadline = start + HEADER_S + BODY_S + SLACK_S
        open_ = {k: list(v) for k, v in socks.items()}
        while time.monotonic() < deadline and any(open_.values()):
            for kind in open_:
                open_[kind] = [s for s in open_[kind] if not _closed_by_server(s)]
            time.sleep(0.2)
        stop_trickle.set()
        trickler.join(timeout=5)
        assert {k: len(v) for k, v in open_.items()} == {"idle": 0, "head": 0, "body": 0, "chunked": 0}, (
            f"still open {time.monotonic() - start:.1f} s after the attack began"
        )
        assert proc.poll() is None
        with httpx.Client(base_url=url, timeout=10) as client:
            assert client.get("/health").status_code == 200
    finally:
        for group in socks.values():
            for s in group:
                s.close()
        stop(proc)
