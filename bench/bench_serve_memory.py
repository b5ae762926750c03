"""Benchmark: memory of the server's processes with two workers (issue 22, item 8).

Starts the server with two workers, sends ``--seconds`` of lookups with ``wrk`` (so the workers have touched what a
lookup touches), then reads every process's PSS (proportional set size: a page shared by n processes counts 1/n in
each, so the PSS of all processes add up to the memory they take together) from ``/proc/PID/smaps_rollup``.

Two servers, one after the other: ``asih serve --workers 2`` (workers forked from one loaded process) and
``python -m uvicorn api.main:app --workers 2`` (uvicorn's own supervisor: each worker a fresh interpreter that loads
the data itself, as ``asih serve`` was before issue 22). A worker's figure includes its heavy-work process.

Command (from the repository root)::

    .venv/bin/python bench/bench_serve_memory.py [--seconds 10] [--heavy]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._load import ROOT, free_port, start_server  # noqa: E402
from bench.bench_connections import WRK_SCRIPT  # noqa: E402
from api.cli.serve import children  # noqa: E402


def memory_mb(pid: int) -> dict[str, float]:
    """PSS and RSS of one process (MB)."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("Pss", "Rss"):
            fields[name.lower()] = int(rest.split()[0]) / 1024
    return fields


def tree(pid: int) -> list[int]:
    out = [pid]
    for child in children(pid):
        out += tree(child)
    return out


HEAVY = ("/v1/audit", "/v1/choice", "/v1/split?minutes=30")
"""Heavy requests sent (each 4 times, on new connections, so both workers get some) with ``--heavy``."""


def measure(label: str, cmd: list[str], port: int, seconds: float, tmp: Path, heavy: bool) -> None:
    proc = start_server(cmd, port, tmp / f"{port}.log", timeout=240, env={**os.environ})
    try:
        script = tmp / "lookup.lua"
        script.write_text(WRK_SCRIPT)
        subprocess.run(["wrk", "-t1", "-c8", f"-d{seconds:.0f}s", "-s", str(script), f"http://127.0.0.1:{port}"],
                       capture_output=True, check=True)
        for path in HEAVY * 4 if heavy else ():
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=300) as resp:
                resp.read()
        parent = memory_mb(proc.pid)
        rows = []
        for child in children(proc.pid):
            members = tree(child)
            if len(members) == 1 and "resource_tracker" in Path(f"/proc/{child}/cmdline").read_text():
                rows.append(("resource tracker", memory_mb(child)["pss"], memory_mb(child)["rss"]))
                continue
            pss = sum(memory_mb(p)["pss"] for p in members)
            rows.append((f"worker {child} (+{len(members) - 1} heavy)", pss, memory_mb(child)["rss"]))
        total = parent["pss"] + sum(r[1] for r in rows)
        print(f"{label}: parent PSS {parent['pss']:.0f} MB (RSS {parent['rss']:.0f})")
        for name, pss, rss in rows:
            print(f"  {name}: PSS {pss:.0f} MB (worker's own RSS {rss:.0f})")
        print(f"  total PSS {total:.0f} MB", flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="wrk's lookups before measuring")
    parser.add_argument("--heavy", action="store_true", help="also send audits, choice and split before measuring")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        measure("asih serve --workers 2", [str(ROOT / ".venv" / "bin" / "asih"), "serve", "--workers", "2",
                                           "--port", str(port)], port, args.seconds, Path(tmp), args.heavy)
        port = free_port()
        measure("uvicorn api.main:app --workers 2", [sys.executable, "-m", "uvicorn", "api.main:app", "--workers",
                                                     "2", "--port", str(port)], port, args.seconds, Path(tmp), args.heavy)


if __name__ == "__main__":
    main()
