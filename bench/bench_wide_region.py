"""Lookup time of wide regions: drive-time ranges over the region (issue "the same answer everywhere") against the
old answer from one most likely point, in one process on the same loaded service.

Run from the repository root::

    .venv/bin/python bench/bench_wide_region.py ["Jordbro" "136 50" …]

For each query: the first lookup (the region sampler is built on first use), then the median, p90 and max of 50
``service.lookup_text(query)`` after 3 warm-up runs, "after" (ranges, as served) and "before" (the same service with
the region's ranges and place labels switched off, i.e. the drive times from the one point, as before).
"""

from __future__ import annotations

import statistics
import sys
import time

from lookup.service import Service
from core.settings import get_settings

QUERIES = ("Jordbro", "136 50", "130 38", "Bromma", "Sankt Eriksgatan 40, Stockholm",
           "Eriksdalsgatan 21, 118 59 Stockholm")
RUNS = 50


def _times(svc: Service, query: str) -> tuple[float, list[float]]:
    t0 = time.perf_counter()
    svc.lookup_text(query)
    first = (time.perf_counter() - t0) * 1000
    for _ in range(3):
        svc.lookup_text(query)
    runs = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        svc.lookup_text(query)
        runs.append((time.perf_counter() - t0) * 1000)
    return first, sorted(runs)


def _line(label: str, query: str, first: float, runs: list[float]) -> str:
    return (f"{label:6} {query!r:40} first {first:7.1f} ms  median {statistics.median(runs):6.2f} ms  "
            f"p90 {runs[int(0.9 * len(runs)) - 1]:6.2f} ms  max {runs[-1]:6.2f} ms")


def main(queries: list[str]) -> None:
    svc = Service.load(get_settings())
    t0 = time.perf_counter()
    width = {queries[0]: svc.lookup_text(queries[0])["query"]["region"]["width_m"]}
    print(f"first lookup of the process ({queries[0]!r}, builds the region sampler): "
          f"{(time.perf_counter() - t0) * 1000:.0f} ms")
    width |= {q: svc.lookup_text(q)["query"]["region"]["width_m"] for q in queries}
    after = {q: _times(svc, q) for q in queries}
    svc.region_times = lambda region: None  # the old answer: drive times from the one most likely point
    svc.resolver.places = lambda region: None  # and the point's own labels
    before = {q: _times(svc, q) for q in queries}
    for q in queries:
        print(f"{q!r} (region {width[q] / 1000:.1f} km wide)")
        print("  " + _line("before", q, *before[q]))
        print("  " + _line("after", q, *after[q]))


if __name__ == "__main__":
    main(sys.argv[1:] or list(QUERIES))
