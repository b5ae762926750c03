"""Shared HTTP load-client code of the server benchmarks (``bench_http.py``, ``bench_mixed_load.py``); not a benchmark.

The scripts put the repository root on ``sys.path`` and import this as ``bench._load``. It starts the server under
test on a free local port and waits for ``/health``, and it drives the lookup load: ``clients`` concurrent
keep-alive connections (asyncio + httpx, one connection each) sending half ``GET /v1/lookup?lat&lon`` at random
inner-county points and half ``POST /v1/lookup`` with real street addresses, for ``seconds``.
"""

from __future__ import annotations

import asyncio
import random
import socket
import statistics
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Real inner-city streets with house numbers, each resolving to one match in the offline index.
ADDRESSES = [
    "Fjällgatan 44", "Mariebergsgatan 22", "Götgatan 10, Stockholm", "Sveavägen 50", "Kungsgatan 12", "Hornsgatan 100",
    "Odengatan 40", "Birger Jarlsgatan 30", "Drottninggatan 70", "Folkungagatan 125", "Valhallavägen 100",
    "Fleminggatan 20", "Sankt Eriksgatan 30", "Vasagatan 10",
]
LAT, LON = (59.20, 59.45), (17.85, 18.25)  # the inner county, where most lookups are


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(cmd: list[str], port: int, log: Path, timeout: float, env: dict | None = None) -> subprocess.Popen:
    """Run ``cmd`` from the repository root (output to ``log``) and wait until ``/health`` on ``port`` answers.

    Exits the benchmark (``SystemExit``) when the server dies, showing the end of its log, or is not healthy within
    ``timeout`` seconds (then it is killed).
    """
    with open(log, "wb") as fh:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return proc
        except OSError:
            time.sleep(0.25)
    proc.kill()
    raise SystemExit(f"server not healthy after {timeout:.0f} s")


async def lookups(url: str, seconds: float, clients: int, seed: int) -> dict:
    """Send lookups to ``url`` for ``seconds`` from ``clients`` connections; the figures.

    Returns requests, seconds (wall time), rps, p50_ms, p99_ms, max_ms, errors (any non-200 or transport error)
    and error_kinds (status code or exception name → count). Client ``i`` draws from ``Random(seed * 1000 + i)``.
    """
    import httpx

    latencies: list[float] = []
    errors: dict[str, int] = {}
    stop = time.perf_counter() + seconds

    async def worker(i: int) -> None:
        rng = random.Random(seed * 1000 + i)
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=url, timeout=10, limits=limits) as client:
            while time.perf_counter() < stop:
                start = time.perf_counter()
                try:
                    if rng.random() < 0.5:
                        r = await client.get("/v1/lookup", params={"lat": rng.uniform(*LAT), "lon": rng.uniform(*LON)})
                    else:
                        r = await client.post("/v1/lookup", json={"address": rng.choice(ADDRESSES)})
                    key = None if r.status_code == 200 else str(r.status_code)
                except httpx.HTTPError as exc:
                    key = type(exc).__name__
                latencies.append((time.perf_counter() - start) * 1000)
                if key:
                    errors[key] = errors.get(key, 0) + 1

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(clients)))
    elapsed = time.perf_counter() - t0
    lat = sorted(latencies)
    return {
        "requests": len(lat),
        "seconds": round(elapsed, 2),
        "rps": round(len(lat) / elapsed, 1),
        "p50_ms": round(statistics.median(lat), 2),
        "p99_ms": round(lat[min(len(lat) - 1, int(0.99 * len(lat)))], 2),
        "max_ms": round(lat[-1], 2),
        "errors": sum(errors.values()),
        "error_kinds": errors,
    }
