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
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._load import free_port, lookups, start_server  # noqa: E402 - needs the root on sys.path

COMMAND = ".venv/bin/python bench/bench_http.py --seconds 60"
TARGETS = {"rps": 300.0, "p99_ms": 50.0, "errors": 0}


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
    return start_server(cmd, port, log, timeout=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--url", help=argparse.SUPPRESS)  # internal: run as the load-generator process
    args = parser.parse_args()

    if args.url:
        print(json.dumps(asyncio.run(lookups(args.url, args.seconds, args.clients, args.seed))))
        return

    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
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
