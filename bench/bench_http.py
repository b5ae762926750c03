"""HTTP load benchmark: a real uvicorn server (as ``asih serve`` runs it) under a bounded load from another process.

Run from the repository root::

    .venv/bin/python bench/bench_http.py [--seconds 60] [--clients 16]

The server runs ``uvicorn api.main:app`` on 127.0.0.1 (free port, redacting access log to a temp file,
``timeout_keep_alive=5``, ``limit_concurrency=256``, 1 worker). The load generator is a separate process (asyncio +
httpx, ``--clients`` concurrent keep-alive connections) sending a mix: half ``GET /v1/lookup?lat&lon`` at random
points in the county, half ``POST /v1/lookup`` with real street addresses. It reports throughput, p50/p99 latency,
errors (any non-200 or transport error) and the server's RSS (VmRSS) before and after.
Targets: ≥ 300 req/s, p99 ≤ 50 ms, 0 errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COMMAND = ".venv/bin/python bench/bench_http.py --seconds 60"
TARGETS = {"rps": 300.0, "p99_ms": 50.0, "errors": 0}
# Real inner-city streets with house numbers, each resolving to one match in the offline index.
ADDRESSES = [
    "Fjällgatan 44", "Mariebergsgatan 22", "Götgatan 10, Stockholm", "Sveavägen 50", "Kungsgatan 12", "Hornsgatan 100",
    "Odengatan 40", "Birger Jarlsgatan 30", "Drottninggatan 70", "Folkungagatan 125", "Valhallavägen 100",
    "Fleminggatan 20", "Sankt Eriksgatan 30", "Vasagatan 10",
]
LAT, LON = (59.20, 59.45), (17.85, 18.25)  # the inner county, where most lookups are


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def _start_server(port: int, log: Path) -> subprocess.Popen:
    from api.privacy import uvicorn_log_config

    config = log.with_suffix(".json")
    config.write_text(json.dumps(uvicorn_log_config()))
    cmd = [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port", str(port),
           "--log-config", str(config), "--timeout-keep-alive", "5", "--limit-concurrency", "256"]
    with open(log, "wb") as fh:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return proc
        except OSError:
            time.sleep(0.25)
    proc.kill()
    raise SystemExit("server not healthy after 120 s")


async def _load(url: str, seconds: float, clients: int, seed: int) -> dict:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--url", help=argparse.SUPPRESS)  # internal: run as the load-generator process
    args = parser.parse_args()

    if args.url:
        print(json.dumps(asyncio.run(_load(args.url, args.seconds, args.clients, args.seed))))
        return

    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        server = _start_server(port, Path(tmp) / "server.log")
        try:
            url = f"http://127.0.0.1:{port}"
            rss_before = _rss_kb(server.pid)
            gen = subprocess.run(
                [sys.executable, __file__, "--url", url, "--seconds", str(args.seconds), "--clients", str(args.clients),
                 "--seed", str(args.seed)],
                capture_output=True, text=True, check=True,
            )
            result = json.loads(gen.stdout)
            result["rss_before_mb"] = round(rss_before / 1024, 1)
            result["rss_after_mb"] = round(_rss_kb(server.pid) / 1024, 1)
        finally:
            server.terminate()
            server.wait(timeout=15)
    result["clients"] = args.clients
    ok = result["rps"] >= TARGETS["rps"] and result["p99_ms"] <= TARGETS["p99_ms"] and result["errors"] == 0
    print(json.dumps(result, indent=2))
    print(f"targets ≥ {TARGETS['rps']:.0f} req/s, p99 ≤ {TARGETS['p99_ms']:.0f} ms, 0 errors: {'OK' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
