"""Geocoding quality benchmark: does the lookup put each labelled query in the right ASIH area, and does it know
when it cannot?

Run from the repository root::

    .venv/bin/python bench/bench_geocode_quality.py [--benchmark bench/data/geocode_benchmark.csv]
                                                    [--out bench/results/geocode_quality.json] [--list 40]

Loads the service in-process (``Service.load(get_settings(), rebuild=True)``; the register leaves out the held-out
rows listed in the benchmark's ``source_id`` column) and runs every query of ``bench/data/geocode_benchmark.csv``
(built by ``bench/make_geocode_benchmark.py``; see ``bench/data/README.md``). Each answer is classified against the
truth set T of the row:

============================  ==================================================================================
outcome                       when
============================  ==================================================================================
``right``                     certain and id ∈ T (T one area); outside when the truth is outside
``certain_of_several``        certain and id ∈ T while T has several areas (a guess: it should have asked)
``asked``                     uncertain (or ``Ambiguous``) and T ⊆ the possible areas
``asked_truth_missing``       uncertain (or ``Ambiguous``) and T ⊄ the possible areas — a defect
``confidently_wrong``         certain and id ∉ T; certain when the truth is outside; outside when it is not
``not_answered``              a ``GeocodeError`` refusal (422 in the API) other than ``Ambiguous``
``crashed``                   any other exception (a bug)
============================  ==================================================================================

Prints a table per group and per variant, one row for the real county addresses typed with a postcode or a town
(``addresses_with_place``: groups ``register_holdout`` and ``osm_in_register`` whose query names a street and a
postcode or town, as :func:`geo.geocode.parse_query` reads it — the "right first time" figure of issue 23), lists every confidently wrong and asked-truth-missing query, reports the
distance between the answer's point and the true point (median/p90, m) for answers of precision "address" and
"street", writes the figures to ``bench/results/geocode_quality.json`` and exits with 1 when any answer is
confidently wrong (usable as a CI gate).

The benchmark queries are synthetic (public school addresses, OSM addresses, towns), not patient data, so they may be
printed and written to the results file.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import math
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lookup.service import Service  # noqa: E402
from geo.geocode import Ambiguous, GeocodeError, clean_query, parse_query  # noqa: E402
from core.settings import PROJECT_ROOT, get_settings  # noqa: E402

COMMAND = ".venv/bin/python bench/bench_geocode_quality.py"
DEFAULT_BENCHMARK = PROJECT_ROOT / "bench" / "data" / "geocode_benchmark.csv"
DEFAULT_OUT = PROJECT_ROOT / "bench" / "results" / "geocode_quality.json"
OUTSIDE = "outside"
OUTCOMES = (
    "right", "certain_of_several", "asked", "asked_truth_missing", "confidently_wrong", "not_answered", "crashed",
)  # fmt: skip
DISTANCE_PRECISIONS = ("address", "street")
ADDRESS_GROUPS = ("register_holdout", "osm_in_register")
"""Real county addresses (the issue-23 "right first time" figure counts those typed with a postcode or town)."""


def names_place(query: str) -> bool:
    """True when the query names a street and a postcode or a town (as the geocoder's parser reads it)."""
    try:
        parsed = parse_query(clean_query(query, 1000))
    except GeocodeError:
        return False
    return parsed.kind == "text" and bool(parsed.street) and bool(parsed.postcode or parsed.places)


# ==============================================================================================================
# OLD-CONTRACT ADAPTER — remove once the issue-10 answer contract (/tmp/asih-contract.md) is in lookup/service.py.
# The old service has ``lookup_text(text)`` → {"query": {...}, "area": {"id": int | None, ...}} with no status:
# an area id is read as "certain", no id (a point outside the county) as "outside".
def _old_contract_lookup(svc: Service, query: str) -> dict:
    answer = svc.lookup_text(query)
    area = dict(answer["area"])
    if area.get("id") is None:
        area.update(status="outside", possible=[])
    else:
        area.update(status="certain", possible=[{"id": area["id"], "name": area.get("name")}])
    return {**answer, "area": area}
# END OF OLD-CONTRACT ADAPTER
# ==============================================================================================================


def lookup(svc: Service, query: str, contract: str) -> dict:
    """The answer dict of the new contract: ``svc.lookup(address=query)`` (or the old-contract adapter)."""
    if contract == "new":
        return svc.lookup(address=query)
    return _old_contract_lookup(svc, query)


def detect_contract(svc: Service) -> str:
    return "new" if callable(getattr(svc, "lookup", None)) else "old"


def _candidate_point(c) -> tuple[float, float] | None:
    """(lat, lon) of an ``Ambiguous`` candidate (a GeocodeResult or a {"lat", "lon", ...} dict)."""
    lat = c.get("lat") if isinstance(c, dict) else getattr(c, "lat", None)
    lon = c.get("lon") if isinstance(c, dict) else getattr(c, "lon", None)
    return None if lat is None or lon is None else (float(lat), float(lon))


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def truth_set(value: str) -> set[int] | str:
    return OUTSIDE if value == OUTSIDE else {int(v) for v in value.split(";")}


def classify(truth: set[int] | str, status: str | None, area_id: int | None, possible: set[int]) -> str:
    """The outcome of one answer (see the module docstring); ``status`` None means a refusal."""
    if status is None:
        return "not_answered"
    if truth == OUTSIDE:
        if status == "outside":
            return "right"
        if status == "certain":
            return "confidently_wrong"
        return "asked_truth_missing"  # asked which area, for a place outside the county
    if status == "outside":
        return "confidently_wrong"
    if status == "certain":
        if area_id not in truth:
            return "confidently_wrong"
        return "right" if len(truth) == 1 else "certain_of_several"
    return "asked" if truth <= possible else "asked_truth_missing"


def run_one(svc: Service, row: dict, contract: str) -> dict:
    """Look one row up and classify it; never raises."""
    truth = truth_set(row["truth_areas"])
    rec = {"query": row["query"], "group": row["group"], "variant": row["variant"], "truth": row["truth_areas"],
           "names_place": names_place(row["query"])}
    status, area_id, possible, point, precision = None, None, set(), None, None
    try:
        answer = lookup(svc, row["query"], contract)
        area = answer["area"]
        status = area["status"]
        area_id = area.get("id")
        possible = {int(p["id"]) for p in area.get("possible") or [] if p.get("id") is not None}
        q = answer.get("query") or {}
        precision = q.get("precision")
        if q.get("lat") is not None and q.get("lon") is not None:
            point = (float(q["lat"]), float(q["lon"]))
        rec["matched"] = q.get("matched")
        rec["corrected"] = q.get("corrected_from") is not None
    except Ambiguous as exc:  # the geocoder asks "which of these?": an "asked" outcome
        status = "uncertain"
        for c in exc.candidates:
            p = _candidate_point(c)
            if p is not None:
                loc = svc.locator.locate(*p)
                if loc.area_id is not None:
                    possible.add(int(loc.area_id))
        rec["error"] = "Ambiguous"
    except GeocodeError as exc:
        rec["error"] = type(exc).__name__
    except Exception as exc:  # a bug in the service: count it, keep going
        rec["error"] = f"{type(exc).__name__}: {exc}"[:200]
        rec.update(outcome="crashed", status=None, area_id=None, possible=[], precision=None, distance_m=None)
        return rec
    rec.update(
        outcome=classify(truth, status, area_id, possible), status=status, area_id=area_id,
        possible=sorted(possible), precision=precision, distance_m=None,
    )  # fmt: skip
    if point is not None and row["truth_lat"] and row["truth_lon"]:
        rec["distance_m"] = round(haversine_m(point[0], point[1], float(row["truth_lat"]), float(row["truth_lon"])), 1)
    return rec


def _pct(k: int, n: int) -> float:
    return round(100.0 * k / n, 1) if n else 0.0


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    return round(v[min(len(v) - 1, int(math.ceil(q * len(v))) - 1)], 1)


def summarise(records: list[dict]) -> dict:
    n = len(records)
    c = Counter(r["outcome"] for r in records)
    out = {"n": n, "counts": {k: c.get(k, 0) for k in OUTCOMES}}
    out["answered_pct"] = _pct(n - c["not_answered"] - c["crashed"], n)
    out["right_pct"] = _pct(c["right"], n)
    out["asked_pct"] = _pct(c["asked"], n)
    out["asked_truth_missing_pct"] = _pct(c["asked_truth_missing"], n)
    out["certain_of_several_pct"] = _pct(c["certain_of_several"], n)
    out["confidently_wrong"] = c["confidently_wrong"]
    out["confidently_wrong_pct"] = _pct(c["confidently_wrong"], n)
    out["not_answered_pct"] = _pct(c["not_answered"] + c["crashed"], n)
    out["distance_m"] = {}
    for precision in DISTANCE_PRECISIONS:
        d = [r["distance_m"] for r in records if r["precision"] == precision and r["distance_m"] is not None]
        out["distance_m"][precision] = {
            "n": len(d),
            "median": round(statistics.median(d), 1) if d else None,
            "p90": _quantile(d, 0.9),
        }
    return out


ASKED_WHY = {
    "street_not_in_data": "the street is in no offline source (the answer is the postcode's or town's region)",
    "spelling_corrected": "the street's spelling was corrected; the answer asks to confirm the corrected name",
    "near_border": "the street or address point lies within a border's margin (or its pieces span two areas)",
}


def asked_why(r: dict) -> str:
    """Why an address query was asked rather than answered (keys of :data:`ASKED_WHY`)."""
    if r.get("corrected"):
        return "spelling_corrected"
    if r.get("precision") not in ("address", "street"):
        return "street_not_in_data"
    return "near_border"


def _fmt_m(v: float | None) -> str:
    return "–" if v is None else f"{v:,.0f}"


def print_table(title: str, summaries: dict[str, dict]) -> None:
    print(f"\n{title}")
    head = (
        f"{'':22} {'n':>4} {'answ%':>6} {'right%':>6} {'asked%':>6} {'miss%':>6} {'guess%':>6} {'WRONG':>5} "
        f"{'none%':>6} | {'addr n':>6} {'med m':>7} {'p90 m':>8} | {'street n':>8} {'med m':>7} {'p90 m':>8}"
    )
    print(head)
    print("-" * len(head))
    for name, s in summaries.items():
        a, st = s["distance_m"]["address"], s["distance_m"]["street"]
        print(
            f"{name:22} {s['n']:>4} {s['answered_pct']:>6.1f} {s['right_pct']:>6.1f} {s['asked_pct']:>6.1f} "
            f"{s['asked_truth_missing_pct']:>6.1f} {s['certain_of_several_pct']:>6.1f} {s['confidently_wrong']:>5} "
            f"{s['not_answered_pct']:>6.1f} | {a['n']:>6} {_fmt_m(a['median']):>7} {_fmt_m(a['p90']):>8} | "
            f"{st['n']:>8} {_fmt_m(st['median']):>7} {_fmt_m(st['p90']):>8}"
        )


def _brief(r: dict) -> dict:
    keys = ("query", "group", "variant", "truth", "status", "area_id", "possible", "precision", "matched",
            "distance_m", "error")  # fmt: skip
    return {k: r.get(k) for k in keys if r.get(k) is not None}


def to_json(result: dict) -> str:
    """Indented JSON with each listed query on one line (readable diffs of the results file)."""
    lists = {k: v for k, v in result.items() if isinstance(v, list)}
    text = json.dumps({k: v for k, v in result.items() if k not in lists}, ensure_ascii=False, indent=1)
    parts = [text[: text.rstrip().rfind("}")].rstrip()]
    for key, items in lists.items():
        body = ",\n".join("  " + json.dumps(item, ensure_ascii=False) for item in items)
        parts.append(f',\n "{key}": [' + (f"\n{body}\n ]" if items else "]"))
    return "".join(parts) + "\n}\n"


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True)
        return out.stdout.strip() or None
    except OSError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmark", type=Path, default=DEFAULT_BENCHMARK)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results file ('-' for none).")
    parser.add_argument("--contract", choices=("auto", "new", "old"), default="auto",
                        help="Answer contract: the issue-10 svc.lookup(address=...) or the old lookup_text adapter.")
    parser.add_argument("--list", type=int, default=40, help="How many failing queries to print per kind.")
    parser.add_argument("--label", default=None, help="Free text stored in the results (e.g. what code was measured).")
    args = parser.parse_args(argv)

    with open(args.benchmark, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    t0 = time.perf_counter()
    svc = Service.load(get_settings(), rebuild=True)
    load_s = time.perf_counter() - t0
    contract = detect_contract(svc) if args.contract == "auto" else args.contract

    t0 = time.perf_counter()
    records = [run_one(svc, row, contract) for row in rows]
    run_s = time.perf_counter() - t0

    overall = summarise(records)
    by_group = {g: summarise([r for r in records if r["group"] == g]) for g in dict.fromkeys(r["group"] for r in rows)}
    by_variant = {
        v: summarise([r for r in records if r["variant"] == v]) for v in dict.fromkeys(r["variant"] for r in rows)
    }
    print(f"command: {COMMAND}")
    print(f"benchmark: {args.benchmark} ({len(rows)} queries); contract: {contract}"
          + (" (OLD-CONTRACT ADAPTER: certain = any area id, no 'uncertain')" if contract == "old" else ""))
    print(f"Service.load: {load_s:.1f} s; {len(rows)} lookups: {run_s:.1f} s")
    print("columns: answ = answered, right, asked = uncertain listing the truth, miss = asked but the truth is not "
          "among the choices, guess = certain while the truth spans several areas, WRONG = confidently wrong, "
          "none = not answered; distances from the answer point to the true point by answer precision")
    with_place = summarise([r for r in records if r["group"] in ADDRESS_GROUPS and r["names_place"]])
    print_table("by group", {**by_group, "ALL": overall, "addr+postcode/town": with_place})
    print_table("by variant", by_variant)
    asked = [r for r in records if r["group"] in ADDRESS_GROUPS and r["names_place"] and r["outcome"] == "asked"]
    why = Counter(asked_why(r) for r in asked)
    print(f"\naddr+postcode/town asked ({len(asked)} of {with_place['n']}), by why:")
    for key, text in ASKED_WHY.items():
        print(f"  {why.get(key, 0):>4}  {key}: {text}")
        for r in [r for r in asked if asked_why(r) == key][: args.list]:
            print(f"          {r['query']!r} (truth {r['truth']}, asked {r.get('possible')})")

    failing = {k: [_brief(r) for r in records if r["outcome"] == k]
               for k in ("confidently_wrong", "asked_truth_missing", "certain_of_several", "crashed")}  # fmt: skip
    for kind, items in failing.items():
        if not items:
            continue
        print(f"\n{kind}: {len(items)}" + (f" (first {args.list})" if len(items) > args.list else ""))
        for r in items[: args.list]:
            got = f"{r.get('status')} {r.get('area_id') if r.get('status') == 'certain' else r.get('possible', '')}"
            print(f"  [{r['group']}/{r['variant']}] {r['query']!r}: truth {r['truth']}, got {got}"
                  f" ({r.get('precision') or r.get('error')}: {r.get('matched') or ''})")
    issue = [r for r in records if r["group"] == "issue"]
    if issue:
        print("\nissue 10 queries:")
        for r in issue:
            got = r.get("area_id") if r.get("status") == "certain" else r.get("possible") or ""
            print(f"  {r['outcome']:20} {r['query']!r}: truth {r['truth']}, got {r.get('status') or r.get('error')} {got}"
                  f" ({r.get('precision') or ''}: {r.get('matched') or ''})")
    errors = Counter(r.get("error") for r in records if r["outcome"] == "not_answered")
    if errors:
        print("\nnot answered by error: " + ", ".join(f"{k} {v}" for k, v in errors.most_common()))

    if str(args.out) != "-":
        bench_bytes = args.benchmark.read_bytes()
        result = {
            "bench": "geocode_quality",
            "command": COMMAND,
            "date": dt.date.today().isoformat(),
            "git_commit": _git_commit(),
            "label": args.label,
            "contract": contract if contract == "new" else "old (adapter: any area id = certain, no uncertain)",
            "benchmark": {
                "file": str(args.benchmark.relative_to(PROJECT_ROOT) if args.benchmark.is_relative_to(PROJECT_ROOT)
                            else args.benchmark),
                "sha1": hashlib.sha1(bench_bytes).hexdigest(),
                "queries": len(rows),
            },
            "timing_s": {"service_load": round(load_s, 2), "lookups": round(run_s, 2)},
            "overall": overall,
            "addresses_with_place": with_place,
            "addresses_with_place_asked_why": {k: why.get(k, 0) for k in ASKED_WHY},
            "groups": by_group,
            "variants": by_variant,
            "confidently_wrong": failing["confidently_wrong"],
            "asked_truth_missing": failing["asked_truth_missing"],
            "certain_of_several": failing["certain_of_several"],
            "crashed": failing["crashed"],
            "not_answered": [_brief(r) for r in records if r["outcome"] == "not_answered"],
            "not_answered_errors": dict(errors.most_common()),
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(to_json(result), encoding="utf-8")
        print(f"\nresults: {args.out}")

    wrong = overall["confidently_wrong"]
    print(f"\nconfidently wrong: {wrong} (target 0) -> {'FAIL' if wrong else 'OK'}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
