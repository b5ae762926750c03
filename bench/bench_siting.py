"""Benchmark of base siting (issue 13): candidate reach, one unit, all 15 units; and a re-audit check.

Run from the repository root::

    .venv/bin/python bench/bench_siting.py [--profile typical] [--count 1]

From the prepared cache (``asih prepare``). Times are wall-clock seconds on this machine. For every unit: the
``--count`` sites reaching the most people (spopt MCLP, existing bases fixed) and the fewest sites so that every
approved area reaches the supported share; then the audit is re-run with the suggested sites added (what-if) and
the population share it gives is compared with the planner's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lookup.service import Service  # noqa: E402
from core.settings import get_settings  # noqa: E402
from routing.audit import profile_auditors  # noqa: E402
from routing.siting import SitePlanner, index_places  # noqa: E402
from routing.whatif import what_if  # noqa: E402

COMMAND = ".venv/bin/python bench/bench_siting.py"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="typical")
    parser.add_argument("--count", type=int, default=1)
    args = parser.parse_args()

    t0 = time.perf_counter()
    svc = Service.load(get_settings())
    auditors = profile_auditors(svc.auditor())
    t_load = time.perf_counter() - t0

    t0 = time.perf_counter()
    planner = SitePlanner(auditors, args.profile, index_places(svc.geocoder))
    t_candidates = time.perf_counter() - t0
    t0 = time.perf_counter()
    planner.reach
    t_reach = time.perf_counter() - t0

    rows, most_s, fewest_s, worst_gap = [], [], [], 0.0
    t_all = time.perf_counter()
    for unit in svc.registry.units:
        t0 = time.perf_counter()
        most = planner.suggest(unit.id, args.count)
        most_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        fewest = planner.fewest(unit.id)
        fewest_s.append(time.perf_counter() - t0)
        if most.sites:  # re-audit with the suggestion applied: the audit must agree with the planner
            [(_, after)] = what_if(auditors[args.profile], add=[f"{unit.id}={s.lat},{s.lon}" for s in most.sites])
            for row in after.approvals:
                predicted = next(a for a in most.areas if a["area_id"] == row.area_id)["profiles"][args.profile]
                worst_gap = max(worst_gap, abs(row.population_share - predicted["share_after"]))
        gained = sum(sum(s.gained.values()) for s in most.sites)
        rows.append((unit.unit, gained, len(fewest.sites), fewest.met))
    t_all = time.perf_counter() - t_all

    print(f"command: {COMMAND} --profile {args.profile} --count {args.count}")
    print(f"load (service, 3 profiles' auditors): {t_load:.2f} s")
    print(f"candidates: {len(planner.candidates)} sites in {t_candidates:.2f} s; reach matrix "
          f"{planner.reach.shape[0]} × {planner.reach.shape[1]} in {t_reach:.2f} s")
    print(f"one unit, most people with {args.count} site(s): median {statistics.median(most_s):.2f} s, "
          f"max {max(most_s):.2f} s")
    print(f"one unit, fewest sites for the supported share: median {statistics.median(fewest_s):.2f} s, "
          f"max {max(fewest_s):.2f} s")
    print(f"all 15 units (both questions and the re-audit): {t_all:.1f} s")
    print(f"re-audit vs planner, population share: max difference {worst_gap:.5f}")
    for name, gained, n, met in rows:
        print(f"  {name:<28} +{gained:>8,} people with {args.count} site(s); fewest for the share: {n}"
              f"{'' if met else ' (not met)'}")


if __name__ == "__main__":
    main()
