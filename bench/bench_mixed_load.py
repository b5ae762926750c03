"""Mixed-load benchmark: lookups while heavy requests run, and the server's memory after a heavy storm.

Run from the repository root::

    .venv/bin/python bench/bench_mixed_load.py [--seconds 60] [--lookup-clients 8]

The server is ``asih serve`` (1 process, read deadlines, heavy work in its worker pool) on 127.0.0.1 with the
prepared cache. Load comes from two other processes (asyncio + httpx, keep-alive):

1. **baseline**: ``--lookup-clients`` clients send lookups (half ``GET /v1/lookup?lat&lon`` at random inner-county
   points, half ``POST /v1/lookup`` with real addresses), nothing else;
2. **mixed**: the same lookups while 2 clients send 500-row CSV batches (random points) and 2 ask for isochrones
   never asked before (unit × minutes);
3. **heavy**: 12 heavy clients (4 batches, 4 uncached isochrones, 4 audits with varying ``minutes``) for the same
   time; then 10 s idle.

Heavy clients honour ``Retry-After`` (at most 1 s) on 503. Reported: lookup req/s, p50/p99/max and errors; heavy
requests done and refused; the memory of the server and its workers (RSS of each, and PSS summed: pages shared
between the server and its forked workers counted once). Targets (issue 11): lookups ≥ 400 req/s with p99 ≤ 50 ms
under the mixed load; server memory ≤ 700 MB after the heavy phase.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._load import LAT, LON, free_port, lookups, start_server  # noqa: E402 - needs the root on sys.path

COMMAND = ".venv/bin/python bench/bench_mixed_load.py --seconds 60"
TARGETS = {"rps": 400.0, "p99_ms": 50.0, "memory_mb": 700.0}


# -- the server and its memory -------------------------------------------------------------------------------------


def _start_server(port: int, log: Path) -> subprocess.Popen:
    asih = Path(sys.executable).with_name("asih")
    return start_server([str(asih), "serve", "--port", str(port)], port, log, timeout=300,
                        env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                pass
    return out


def _memory(pid: int) -> dict:
    """RSS of each process of the server and the PSS of all of them (MB)."""
    rss, pss = [], 0.0
    for p in _tree(pid):
        try:
            fields = {ln.split(":")[0]: int(ln.split()[1]) for ln in Path(f"/proc/{p}/smaps_rollup").read_text()
                      .splitlines()[1:] if ln.split()[-1] == "kB"}
        except OSError:
            continue
        rss.append(round(fields.get("Rss", 0) / 1024, 1))
        pss += fields.get("Pss", 0) / 1024
    return {"processes": len(rss), "rss_mb": rss, "pss_total_mb": round(pss, 1)}


# -- load generators (run as separate processes) ------------------------------------------------------------------


async def _lookups(url: str, seconds: float, clients: int, seed: int) -> dict:
    result = await lookups(url, seconds, clients, seed)
    del result["seconds"]  # each phase runs --seconds; this report leaves the measured wall time out
    return result


async def _heavy(url: str, seconds: float, kinds: list[str], seed: int) -> dict:
    import httpx

    stats: dict[str, dict[str, float]] = {}
    stop = time.perf_counter() + seconds
    async with httpx.AsyncClient(base_url=url, timeout=300) as probe:
        units = [u["id"] for u in (await probe.get("/v1/providers")).json()]
    fresh = itertools.count()
    combos = [(u, m) for m in range(1, 121) for u in units]
    random.Random(seed).shuffle(combos)

    async def worker(i: int, kind: str) -> None:
        rng = random.Random(seed * 1000 + i)
        s = stats.setdefault(kind, {"done": 0, "refused": 0, "errors": 0, "seconds": 0.0})
        async with httpx.AsyncClient(base_url=url, timeout=300) as client:
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                try:
                    if kind == "batch":
                        rows = "lat,lon\n" + "".join(f"{rng.uniform(*LAT):.5f},{rng.uniform(*LON):.5f}\n"
                                                     for _ in range(500))
                        r = await client.post("/v1/lookup/batch", content=rows.encode(),
                                              headers={"content-type": "text/csv"})
                    elif kind == "isochrone":
                        unit, minutes = combos[next(fresh) % len(combos)]
                        r = await client.get(f"/v1/isochrones/{unit}", params={"minutes": minutes})
                    else:
                        r = await client.get("/v1/audit", params={"minutes": rng.randint(5, 120)})
                except httpx.HTTPError:
                    s["errors"] += 1
                    continue
                if r.status_code == 200:
                    s["done"] += 1
                    s["seconds"] += time.perf_counter() - t0
                elif r.status_code == 503:
                    s["refused"] += 1
                    await asyncio.sleep(min(float(r.headers.get("retry-after", 1)), 1.0))
                else:
                    s["errors"] += 1

    await asyncio.gather(*(worker(i, k) for i, k in enumerate(kinds)))
    for s in stats.values():
        s["mean_s"] = round(s.pop("seconds") / s["done"], 2) if s["done"] else None
    return stats


def _generator(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE, text=True)


def _result(proc: subprocess.Popen) -> dict:
    out, _ = proc.communicate(timeout=900)
    return json.loads(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--lookup-clients", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--mixed", default="batch,batch,isochrone,isochrone",
                        help="heavy clients of the mixed phase (batch, isochrone, audit; comma-separated)")
    parser.add_argument("--skip-storm", action="store_true", help="stop after the mixed phase")
    parser.add_argument("--lookups", help=argparse.SUPPRESS)  # internal: run as a load-generator process
    parser.add_argument("--heavy", help=argparse.SUPPRESS)
    parser.add_argument("--kinds", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.lookups:
        print(json.dumps(asyncio.run(_lookups(args.lookups, args.seconds, args.lookup_clients, args.seed))))
        return
    if args.heavy:
        print(json.dumps(asyncio.run(_heavy(args.heavy, args.seconds, args.kinds.split(","), args.seed))))
        return

    s = str(args.seconds)
    report: dict = {"seconds": args.seconds, "lookup_clients": args.lookup_clients, "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        server = _start_server(port, Path(tmp) / "server.log")
        url = f"http://127.0.0.1:{port}"
        try:
            report["memory_start"] = _memory(server.pid)
            lookups = ["--lookups", url, "--seconds", s, "--lookup-clients", str(args.lookup_clients)]
            report["baseline"] = _result(_generator(lookups))
            heavy = _generator(["--heavy", url, "--seconds", s, "--kinds", args.mixed])
            report["mixed"] = _result(_generator(lookups + ["--seed", "2"]))
            report["mixed_heavy"] = _result(heavy)
            report["memory_after_mixed"] = _memory(server.pid)
            if args.skip_storm:
                return print(json.dumps(report, indent=2))
            kinds = ",".join(["batch"] * 4 + ["isochrone"] * 4 + ["audit"] * 4)
            storm = ["--heavy", url, "--seconds", s, "--kinds", kinds, "--seed", "3"]
            report["storm_heavy"] = _result(_generator(storm))
            report["memory_after_storm"] = _memory(server.pid)
            time.sleep(10)
            report["memory_after_idle_10s"] = _memory(server.pid)
            with urllib.request.urlopen(f"{url}/health", timeout=10) as r:
                report["health_after"] = r.status
        finally:
            server.terminate()
            server.wait(timeout=30)
    mixed = report["mixed"]
    ok = (mixed["rps"] >= TARGETS["rps"] and mixed["p99_ms"] <= TARGETS["p99_ms"]
          and report["memory_after_storm"]["pss_total_mb"] <= TARGETS["memory_mb"])
    print(json.dumps(report, indent=2))
    print(f"targets (mixed) ≥ {TARGETS['rps']:.0f} lookups/s, p99 ≤ {TARGETS['p99_ms']:.0f} ms; memory after the "
          f"storm ≤ {TARGETS['memory_mb']:.0f} MB: {'OK' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
