"""Benchmark of the offline geocoder: index build, load, and lookup times over real street names.

Run from the repository root::

    .venv/bin/python bench/bench_geocode.py [--n 400] [--seed 1]

The index is built from scratch into a temporary cache directory (the project cache is not touched). Queries are
street names from the index itself, with a house number, exact and with one generated typo (a dropped, doubled or
swapped letter, or diacritics removed). Times are wall-clock milliseconds on this machine.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from geo.geocode import Ambiguous, GeocodeError, build_index, load_geocoder  # noqa: E402
from geo.areas.model import load_area_model  # noqa: E402
from geo.areas.units import AdminUnits  # noqa: E402
from core.settings import Settings, get_settings  # noqa: E402

COMMAND = ".venv/bin/python bench/bench_geocode.py"


def _typo(name: str, rng: random.Random) -> str:
    plain = "".join(c for c in unicodedata.normalize("NFD", name) if not unicodedata.combining(c))
    if plain != name and rng.random() < 0.3:
        return plain
    i = rng.randrange(1, max(2, len(name) - 1))
    kind = rng.choice(["drop", "double", "swap"])
    if kind == "drop":
        return name[:i] + name[i + 1 :]
    if kind == "double":
        return name[:i] + name[i] + name[i:]
    return name[: i - 1] + name[i] + name[i - 1] + name[i + 1 :]


def _time(geocoder, queries: list[str], expected: list[str]) -> dict:
    times, right, ambiguous, missed = [], 0, 0, 0
    for query, name in zip(queries, expected):
        start = time.perf_counter()
        try:
            result = geocoder.geocode(query)
            right += result.matched.startswith(name)
        except Ambiguous:
            ambiguous += 1
        except GeocodeError:
            missed += 1
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {
        "median_ms": statistics.median(times),
        "p99_ms": times[min(len(times) - 1, int(0.99 * len(times)))],
        "max_ms": times[-1],
        "right": right,
        "ambiguous": ambiguous,
        "not_found": missed,
        "n": len(queries),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=400, help="number of street names to query")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(cache_dir=Path(tmp))
        start = time.perf_counter()
        build_index(settings, progress=False)
        build_s = time.perf_counter() - start
        start = time.perf_counter()
        units = AdminUnits(load_area_model(get_settings()))  # the prepared area cache (`asih prepare`)
        geocoder = load_geocoder(settings, units=units)
        load_s = time.perf_counter() - start
    for query in ("Fjällgatan 44", "Fjalgatan 44", "116 28", "Kista"):  # warm-up: first calls allocate
        try:
            geocoder.geocode(query)
        except GeocodeError:
            pass
    names = sorted({s.name for s in geocoder.index.streets if len(s.name) >= 6})
    names = rng.sample(names, min(args.n, len(names)))
    exact = [f"{n} {rng.randint(1, 60)}" for n in names]
    typos = [f"{_typo(n, rng)} {rng.randint(1, 60)}" for n in names]
    print(f"command: {COMMAND} --n {args.n} --seed {args.seed}")
    print(f"index: {len(geocoder.index.streets)} streets, {len(geocoder.index.places)} places, "
          f"{len(geocoder.index.postcodes)} postcodes")
    print(f"build: {build_s:.2f} s   load: {load_s * 1000:.0f} ms")
    for label, queries in (("exact", exact), ("typo", typos)):
        r = _time(geocoder, queries, names)
        print(f"{label:6} n={r['n']}  median {r['median_ms']:.3f} ms  p99 {r['p99_ms']:.3f} ms  "
              f"max {r['max_ms']:.3f} ms  | right street {r['right']}, ambiguous {r['ambiguous']}, "
              f"not found {r['not_found']}")


if __name__ == "__main__":
    main()
