"""The offline base map (issue 23 item 1): how long ``asih prepare`` takes to build it, how big the one cached answer
is (raw and gzip), how long ``GET /v1/basemap`` takes (200 and the 304 of a browser that has it), and how long the
one-page unit report takes with the base map under its map (PDF and PNG).

Run from the repository root::

    .venv/bin/python bench/bench_basemap.py
"""

from __future__ import annotations

import gzip
import statistics
import tempfile
import time
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.routes import basemap as route
from core.settings import get_settings
from maps.basemap import build_basemap, load_basemap

RUNS = 50


def _ms(fn, runs: int = RUNS) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.9 * len(times)) - 1]


def main() -> None:
    settings = get_settings()
    t0 = time.perf_counter()
    text = build_basemap(settings)
    print(f"build (from the raw files and the prepared network): {time.perf_counter() - t0:.2f} s")
    layer = load_basemap(settings)
    print(f"answer: {len(layer.text) / 1024:.0f} kB, gzip {len(gzip.compress(layer.text)) / 1024:.0f} kB "
          f"(built now: {len(text) / 1024:.0f} kB)")
    app = FastAPI()
    app.state.settings = settings
    app.include_router(route.router)
    client = TestClient(app)
    print("GET /v1/basemap 200: median %.2f ms, p90 %.2f ms" % _ms(lambda: client.get("/v1/basemap")))
    tag = {"If-None-Match": layer.etag}
    print("GET /v1/basemap 304: median %.2f ms, p90 %.2f ms" % _ms(lambda: client.get("/v1/basemap", headers=tag)))

    from lookup.service import Service
    from routing.audit import profile_auditors
    from maps.report import unit_report

    svc = Service.load(settings)
    auditors = profile_auditors(svc.auditor())
    with tempfile.TemporaryDirectory() as tmp:
        for suffix in (".pdf", ".png"):
            t0 = time.perf_counter()
            unit_report(auditors, "syd-aleris", Path(tmp) / f"r{suffix}")
            print(f"unit report {suffix}: {time.perf_counter() - t0:.2f} s, "
                  f"{(Path(tmp) / f'r{suffix}').stat().st_size / 1024:.0f} kB")


if __name__ == "__main__":
    main()
