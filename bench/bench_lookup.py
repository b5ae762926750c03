"""Benchmark of in-process lookups: ``Service.lookup_point`` over random points inside the areas, and
``Service.lookup_text`` over real street names with a house number.

Run from the repository root::

    .venv/bin/python bench/bench_lookup.py [--n 2000] [--seed 1]

A third line times ``Service.lookup`` (the whole contract the API answers) on the same points with the live
registry attached, as the server runs it: approvals of the day and free places read through its short read cache
(``ASIH_REGISTRY_READ_CACHE_S``; set it to 0 to time a database read per lookup).

Points are drawn uniformly inside the area polygons (EPSG:3006, rejection sampling), so every lookup does the full
path: locate, snap, tree read. Times are wall-clock milliseconds; the target is a median ≤ 2 ms per point lookup.
"""

from __future__ import annotations

import argparse
import copy
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lookup.service import Service  # noqa: E402
from core.crs import to_wgs84  # noqa: E402
from geo.geocode import GeocodeError  # noqa: E402
from core.settings import get_settings  # noqa: E402
from registry.service import RegistryService  # noqa: E402

COMMAND = ".venv/bin/python bench/bench_lookup.py"
TARGET_MEDIAN_MS = 2.0


def random_points(svc: Service, n: int, rng: np.random.Generator) -> list[tuple[float, float]]:
    """``n`` WGS84 points uniformly inside the union of the area polygons."""
    county = svc.areas.county
    shapely.prepare(county)
    minx, miny, maxx, maxy = county.bounds
    out: list[tuple[float, float]] = []
    while len(out) < n:
        xs = rng.uniform(minx, maxx, 4 * n)
        ys = rng.uniform(miny, maxy, 4 * n)
        inside = shapely.contains_xy(county, xs, ys)
        lat, lon = to_wgs84(xs[inside], ys[inside])
        out += list(zip(lat.tolist(), lon.tolist()))
    return out[:n]


def _stats(ms: list[float]) -> str:
    ms = sorted(ms)
    p99 = ms[min(len(ms) - 1, int(0.99 * len(ms)))]
    return f"n={len(ms)} median {statistics.median(ms):.3f} ms, p99 {p99:.3f} ms, max {ms[-1]:.3f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="Number of point lookups (≥ 1000).")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    t0 = time.perf_counter()
    svc = Service.load(get_settings(), rebuild=False)
    print(f"Service.load: {time.perf_counter() - t0:.2f} s")

    rng = np.random.default_rng(args.seed)
    points = random_points(svc, args.n, rng)
    for lat, lon in points[:20]:  # warm-up (first calls build lazy structures)
        svc.lookup_point(lat, lon)
    point_ms = []
    for lat, lon in points:
        start = time.perf_counter()
        svc.lookup_point(lat, lon)
        point_ms.append((time.perf_counter() - start) * 1000)
    med = statistics.median(point_ms)
    verdict = "OK" if med <= TARGET_MEDIAN_MS else "MISSED"
    print(f"lookup_point: {_stats(point_ms)} (target median ≤ {TARGET_MEDIAN_MS} ms: {verdict})")

    streets = sorted({s.name for s in svc.geocoder.index.streets})
    r = random.Random(args.seed)
    queries = [f"{name} {r.randint(1, 60)}" for name in r.sample(streets, min(len(streets), args.n // 2))]
    text_ms, failed = [], 0
    for q in queries:
        start = time.perf_counter()
        try:
            svc.lookup_text(q)
        except GeocodeError:
            failed += 1
        text_ms.append((time.perf_counter() - start) * 1000)
    print(f"lookup_text: {_stats(text_ms)}; {failed} not found/ambiguous (answered with a 4xx in the API)")

    live = copy.copy(svc)
    live.live = RegistryService.from_settings(get_settings())
    for lat, lon in points[:20]:
        live.lookup(lat=lat, lon=lon)
    live_ms = []
    for lat, lon in points:
        start = time.perf_counter()
        live.lookup(lat=lat, lon=lon)
        live_ms.append((time.perf_counter() - start) * 1000)
    print(f"lookup with the live registry (read cache {live.live.read_cache_s:g} s): {_stats(live_ms)}")


if __name__ == "__main__":
    main()
