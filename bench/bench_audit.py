"""Bench: the full approval audit of every unit plus the patient-choice layer, from the prepared cache.

Run: .venv/bin/python bench/bench_audit.py [--repeat 3]
Target (issue 5): ≤ 10 s on the 2-core machine, cache load included.
"""

from __future__ import annotations

import argparse
import statistics
import time

from core.settings import get_settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", default="free_flow")
    args = parser.parse_args()

    from lookup.service import Service
    from routing.audit import CoverageAuditor
    from routing.choice import choice_layer, choice_summary

    settings = get_settings()
    Service.load(settings, profile=args.profile)  # make sure the cache is fresh before timing
    runs = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        svc = Service.load(settings, profile=args.profile)
        t_load = time.perf_counter()
        auditor = svc.auditor()
        t_init = time.perf_counter()
        rows = [r for ua in auditor.audit_all() for r in ua.rows()]
        t_audit = time.perf_counter()
        summary = choice_summary(auditor)
        layer = choice_layer(auditor)
        t_choice = time.perf_counter()
        runs.append((t_load - t0, t_init - t_load, t_audit - t_init, t_choice - t_audit, t_choice - t0))
        assert isinstance(auditor, CoverageAuditor) and rows and len(layer) and summary["county"]["population"]
    names = ("load cache", "sample times (15 units)", "audit all units", "choice summary + layer", "TOTAL")
    print(f"profile {args.profile}, {len(rows)} audit rows, {len(layer)} DeSO, {args.repeat} runs (median s):")
    for i, name in enumerate(names):
        print(f"  {name:<26} {statistics.median(r[i] for r in runs):7.3f} s")
    print("target: TOTAL ≤ 10 s")


if __name__ == "__main__":
    main()
