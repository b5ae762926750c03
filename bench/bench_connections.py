"""Benchmark: one address holding thousands of half-open connections while another client looks up (issue 22).

Starts ``asih serve --workers 2`` three times on a free port: without an attacker, then with the attacker and no
per-address limit (``ASIH_SERVE_CONNECTIONS_PER_ADDRESS=0``, how the server was before), then with the attacker and
the default limit. The attacker opens ``--flood`` connections from 127.0.0.2, each sending a request head that never
ends, and re-opens the ones the server closed every ``--reopen`` seconds (10 s as in issue 22; 0.5 s is a harsher
attacker, whose 2 500 new connections a second also cost the server their refusal). Lookups come from
``wrk`` (Debian package ``wrk``: a separate C process, so the load generator does not take the server's cores)
on 127.0.0.1, ``GET /v1/lookup`` at random inner-county points. The server tells the two apart by the TCP peer only.
(wrk cannot choose its source address, and Linux gives a connection to any 127.x address the source 127.0.0.1,
so the attacker is the one bound to 127.0.0.2.)

Command (from the repository root)::

    .venv/bin/python bench/bench_connections.py [--seconds 20] [--flood 4600] [--reopen 10]

Prints, per run: the attacker's sockets still connected at the end (accepted, or waiting in the listen backlog),
those the server closed and how many of those it refused at once (429), and wrk's requests per second,
median and p99 latency, non-2xx answers and socket errors.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._load import ROOT, free_port, start_server  # noqa: E402

ATTACKER = "127.0.0.2"
WRK_SCRIPT = """
math.randomseed(22)
request = function()
  local lat = 59.20 + math.random() * 0.25
  local lon = 17.85 + math.random() * 0.40
  return wrk.format("GET", string.format("/v1/lookup?lat=%.5f&lon=%.5f", lat, lon))
end
"""


class Flood:
    """``count`` half-open connections from :data:`ATTACKER`, re-opened whenever the server closes one."""

    def __init__(self, port: int, count: int, reopen_s: float):
        self.port, self.count, self.reopen_s = port, count, reopen_s
        self.open: dict[int, socket.socket] = {}
        self.refused = 0
        self.closed = 0
        self.stop = threading.Event()
        self.poll = select.epoll()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _connect(self) -> None:
        s = socket.socket()
        s.bind((ATTACKER, 0))
        s.settimeout(1.0)
        try:
            s.connect(("127.0.0.1", self.port))
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        except OSError:
            s.close()
            return
        self.open[s.fileno()] = s
        self.poll.register(s.fileno(), select.EPOLLIN | select.EPOLLRDHUP)

    def _run(self) -> None:
        next_reopen = 0.0
        while not self.stop.is_set():
            if time.monotonic() >= next_reopen:
                started = time.monotonic()
                while len(self.open) < self.count and not self.stop.is_set() and time.monotonic() - started < 2.0:
                    self._connect()
                next_reopen = time.monotonic() + self.reopen_s
            for fd, _ in self.poll.poll(0.2):
                s = self.open.pop(fd)
                self.poll.unregister(fd)
                try:
                    if s.recv(64).startswith(b"HTTP/1.1 429"):
                        self.refused += 1
                except OSError:
                    pass
                self.closed += 1
                s.close()

    def start(self, settle_s: float) -> None:
        self.thread.start()
        time.sleep(settle_s)

    def end(self) -> dict[str, int]:
        held = len(self.open)
        self.stop.set()
        self.thread.join(timeout=10)
        for s in self.open.values():
            s.close()
        return {"attacker_open": held, "closed_by_server": self.closed, "refused_429": self.refused}


def wrk(url: str, seconds: float, script: Path) -> dict[str, float | int]:
    out = subprocess.run(["wrk", "-t1", "-c8", f"-d{seconds:.0f}s", "--latency", "--timeout", "5s",
                          "-s", str(script), url], capture_output=True, text=True, check=True).stdout

    def ms(label: str) -> float:
        m = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\b", out, re.M)
        if not m:
            return float("nan")
        return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    total = re.search(r"(\d+) requests in", out)
    return {"requests": int(total.group(1)) if total else 0, "req_per_s": float(rps.group(1)) if rps else 0.0,
            "p50_ms": ms("50%"), "p99_ms": ms("99%"), "non_2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": sum(int(g) for g in errors.groups()) if errors else 0}


def run(label: str, per_address: str | None, flood: int, reopen_s: float, seconds: float, script: Path,
        tmp: Path) -> None:
    port = free_port()
    env = {**os.environ}
    if per_address is not None:
        env["ASIH_SERVE_CONNECTIONS_PER_ADDRESS"] = per_address
    cmd = [str(ROOT / ".venv" / "bin" / "asih"), "serve", "--workers", "2", "--port", str(port)]
    proc = start_server(cmd, port, tmp / f"{port}.log", timeout=180, env=env)
    attack = Flood(port, flood, reopen_s) if flood else None
    try:
        if attack:
            attack.start(settle_s=8.0)
        figures = wrk(f"http://127.0.0.1:{port}", seconds, script)
        held = attack.end() if attack else {}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print(f"{label}: {held} {figures}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="wrk's duration per run")
    parser.add_argument("--flood", type=int, default=4600, help="half-open connections the attacker holds")
    parser.add_argument("--reopen", type=float, default=10.0, help="seconds between the attacker's re-opening rounds")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.flood + 256)), hard))
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "lookup.lua"
        script.write_text(WRK_SCRIPT)
        run("no attacker", None, 0, args.reopen, args.seconds, script, Path(tmp))
        run("attacker, no per-address limit (before)", "0", args.flood, args.reopen, args.seconds, script, Path(tmp))
        run("attacker, default per-address limit", None, args.flood, args.reopen, args.seconds, script, Path(tmp))


if __name__ == "__main__":
    main()
