"""How often one query enters the offline geocoder's modules: a measure of issue 21 item 2 ("a query re-enters
``geo/geocode/offline.py`` ten times and ``geo/geocode/context.py`` six").

Run from the repository root::

    .venv/bin/python bench/bench_geocode_calls.py [--out bench/results/geocode_calls.json] [QUERY ...]

Loads the offline geocoder from the prepared cache and answers each query once untimed (warm-up), then once under
``sys.setprofile``. Per query and per module of ``geo/geocode/`` it counts

- ``calls``: Python functions of the module entered (comprehensions, generator expressions and lambdas left out);
- ``entries``: calls into the module from code outside it (how often the query *re-enters* the module);
- ``reentrant``: calls of a function of the module while that same function is already running (recursion).

A pipeline enters ``offline.py`` once (``geocode``) with no re-entrant call. Counts are deterministic: they depend on
the code and the data, not on the machine.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from geo.geocode import GeocodeError, load_geocoder  # noqa: E402
from core.settings import get_settings  # noqa: E402

COMMAND = ".venv/bin/python bench/bench_geocode_calls.py"
QUERIES = (
    "Fjällgatan 44, Stockholm",
    "Storgatan",
    "116 28",
    "Täby",
    "Fjällgatan 44, 186 00 Vallentuna",
    "Sankt Eriksgatan 40, Stockholm",
)
"""The issue's benchmark queries: an address with a town, a street found in many towns, a postcode, a municipality, an
address whose postcode and town disagree with the street, and a two-word street."""
PACKAGE = Path(__file__).resolve().parent.parent / "geo" / "geocode"
SKIPPED = ("<listcomp>", "<genexpr>", "<lambda>", "<dictcomp>", "<setcomp>")


def _module(filename: str) -> str | None:
    path = Path(filename)
    return path.name if path.parent == PACKAGE else None


def count_calls(geocoder, query: str) -> dict:
    """Calls, entries and re-entrant calls per geocoder module while ``geocoder`` answers ``query`` once."""
    calls: Counter = Counter()
    entries: Counter = Counter()
    reentrant: Counter = Counter()
    functions: dict[str, Counter] = defaultdict(Counter)
    running: Counter = Counter()

    def profile(frame, event, arg):
        if event not in ("call", "return"):
            return
        code = frame.f_code
        module = _module(code.co_filename)
        if module is None or code.co_name in SKIPPED:
            return
        key = (module, code.co_name, code.co_firstlineno)
        if event == "return":
            running[key] -= 1
            return
        calls[module] += 1
        functions[module][code.co_name] += 1
        caller = frame.f_back
        if caller is None or _module(caller.f_code.co_filename) != module:
            entries[module] += 1
        if running[key] > 0:
            reentrant[module] += 1
        running[key] += 1

    sys.setprofile(profile)
    try:
        outcome = _answer(geocoder, query)
    finally:
        sys.setprofile(None)
    return {
        "outcome": outcome,
        "modules": {m: {"calls": calls[m], "entries": entries[m], "reentrant": reentrant[m],
                        "functions": dict(sorted(functions[m].items()))} for m in sorted(calls)},
    }


def _answer(geocoder, query: str) -> str:
    try:
        result = geocoder.geocode(query)
    except GeocodeError as exc:
        return type(exc).__name__
    return f"{result.precision}: {result.matched}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("queries", nargs="*", default=list(QUERIES))
    parser.add_argument("--out", type=Path, default=None, help="also write the counts as JSON here")
    args = parser.parse_args(argv)
    geocoder = load_geocoder(get_settings())
    report = {}
    for query in args.queries:
        _answer(geocoder, query)  # warm-up: lazily built tables are not the query's calls
        report[query] = count_calls(geocoder, query)
    print(f"{'query':36} {'module':16} {'calls':>6} {'entries':>8} {'re-entrant':>11}")
    for query, found in report.items():
        for i, (module, figures) in enumerate(found["modules"].items()):
            print(f"{query if i == 0 else '':36} {module:16} {figures['calls']:6d} {figures['entries']:8d} "
                  f"{figures['reentrant']:11d}")
        print(f"{'':36} → {found['outcome']}")
    if args.out is not None:
        args.out.write_text(json.dumps({"command": COMMAND, "queries": report}, ensure_ascii=False, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
