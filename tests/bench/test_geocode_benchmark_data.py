"""The labelled geocoding benchmark (bench/data/geocode_benchmark.csv) is well-formed, covers what issue 10 asks for,
agrees with the raw register, and is reproduced byte for byte by its generator (bench/make_geocode_benchmark.py)."""

from __future__ import annotations

import csv
import importlib.util
import sys
from collections import Counter

import pytest
import yaml

from core.settings import PROJECT_ROOT, STOCKHOLM_CODE, get_settings
from tests.conftest import REQUIRE_ALL

BENCH = PROJECT_ROOT / "bench"
CSV = BENCH / "data" / "geocode_benchmark.csv"
README = BENCH / "data" / "README.md"
COLUMNS = [
    "query", "group", "truth_areas", "truth_lat", "truth_lon", "municipality_code", "stadsdelsomrade",
    "source", "source_id", "label_source", "variant",
]  # fmt: skip
GROUPS = {"register_holdout", "osm_in_register", "postcode", "town", "outside", "issue"}
VARIANTS = {
    "full", "no_postcode", "no_town", "street_only", "lowercase", "no_diacritics", "typo", "postcode_only",
    "town_only", "out_of_county", "issue",
}  # fmt: skip
# Issue 10's queries, verbatim, and where they lie (municipality code or Stockholm stadsdelsområde).
ISSUE = {
    "Riddarplatsen 7, 177 30 Järfälla": ["0123"],
    "Hässelby torg 10, 165 55 Hässelby": ["Hässelby-Vällingby"],
    "Drottningholmsvägen 200, 168 73 Bromma": ["Bromma"],
    "Sickla kaj 5, 120 67 Stockholm": ["Södermalm"],
    "118 20": ["Södermalm"],
    "Johanneshov": ["Enskede-Årsta-Vantör", "Skarpnäck"],
    "Västerlånggatan 50": ["Södermalm"],
    "Stora Nygatan": ["Södermalm"],
    "Skärholmsvägen 2": ["Skärholmen"],
    "Storgatan 10, 151 72 Södertälje": ["0181"],
    "Allévägen 10, 186 30 Vallentuna": ["0115"],
    "Sjödalsvägen 4, 141 47 Huddinge": ["0126"],
    "Jakobsberg": ["0123"],
    "Kungsgatan 5, 753 21 Uppsala": None,  # outside
}
RAW_REGISTER = get_settings().data_dir / "stockholm-county-address-points-2025.csv"
needs_raw = pytest.mark.skipif(not RAW_REGISTER.exists() and not REQUIRE_ALL,  # in CI it must be there: fail
                               reason="raw data directory not available")


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    with open(CSV, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == COLUMNS
        return list(reader)


@pytest.fixture(scope="module")
def areas() -> dict:
    doc = yaml.safe_load(get_settings().areas_file.read_text(encoding="utf-8"))
    by_member = {}
    for a in doc["areas"]:
        for m in (a.get("municipalities") or []) + (a.get("districts") or []):
            by_member[str(m)] = int(a["id"])
    return {"ids": {int(a["id"]) for a in doc["areas"]}, "by_member": by_member}


def area_of(areas: dict, code: str, borough: str) -> int:
    return areas["by_member"][borough if code == STOCKHOLM_CODE else code]


def test_well_formed(rows, areas):
    assert len(rows) >= 200
    for r in rows:
        assert r["query"].strip() == r["query"] and r["query"], r
        assert r["group"] in GROUPS, r
        assert r["variant"] in VARIANTS, r
        assert r["label_source"], r
        truth = r["truth_areas"]
        if truth != "outside":
            ids = [int(v) for v in truth.split(";")]
            assert ids == sorted(set(ids)) and set(ids) <= areas["ids"], r
        assert bool(r["truth_lat"]) == bool(r["truth_lon"]), r
        if r["truth_lat"]:
            assert truth != "outside"
            assert 58.7 < float(r["truth_lat"]) < 60.3 and 17.2 < float(r["truth_lon"]) < 19.4, r
        # source_id is what the register reader excludes: only the held-out register rows carry one.
        assert bool(r["source_id"]) == (r["group"] == "register_holdout"), r
    groups = Counter(r["group"] for r in rows)
    assert groups["register_holdout"] >= 400
    assert groups["osm_in_register"] >= 20 and groups["postcode"] >= 20 and groups["town"] >= 40
    assert groups["outside"] >= 15
    assert all(r["truth_areas"] == "outside" for r in rows if r["group"] == "outside")


def test_holdout_covers_every_municipality_and_borough(rows, areas):
    held = {r["source_id"]: r for r in rows if r["group"] == "register_holdout"}
    munis = Counter(r["municipality_code"] for r in held.values())
    boroughs = Counter(r["stadsdelsomrade"] for r in held.values() if r["stadsdelsomrade"])
    county = [m for m in areas["by_member"] if m.isdigit()] + [STOCKHOLM_CODE]
    assert len(set(county)) == 26
    assert set(munis) == set(county) and min(munis.values()) >= 4, munis
    all_boroughs = [m for m in areas["by_member"] if not m.isdigit()]
    assert len(all_boroughs) == 13
    assert set(boroughs) == set(all_boroughs) and min(boroughs.values()) >= 4, boroughs
    for r in held.values():
        assert r["truth_areas"] == str(area_of(areas, r["municipality_code"], r["stadsdelsomrade"])), r
    assert Counter(r["variant"] for r in rows)["typo"] >= 0.05 * len(held)


def test_issue_queries_verbatim(rows, areas):
    issue = {r["query"]: r for r in rows if r["group"] == "issue"}
    assert set(issue) == set(ISSUE)
    for query, members in ISSUE.items():
        expected = "outside" if members is None else ";".join(
            str(i) for i in sorted({areas["by_member"][m] for m in members})
        )
        assert issue[query]["truth_areas"] == expected, query


def test_towns_include_every_municipality(rows):
    towns = {r["query"] for r in rows if r["group"] == "town"}
    for name in ("Järfälla", "Hässelby", "Johanneshov", "Åkersberga", "Märsta", "Tumba", "Bromma", "Jakobsberg",
                 "Stockholm", "Södertälje", "Norrtälje", "Nykvarn", "Vaxholm"):  # fmt: skip
        assert name in towns
    stockholm = next(r for r in rows if r["group"] == "town" and r["query"] == "Stockholm")
    assert len(stockholm["truth_areas"].split(";")) > 1  # the city spans several areas


@needs_raw
def test_holdout_rows_exist_in_the_raw_register(rows):
    with open(RAW_REGISTER, newline="", encoding="utf-8") as fh:
        raw = {r["source_id"]: r for r in csv.DictReader(fh)}
    held = [r for r in rows if r["group"] == "register_holdout"]
    for r in held:
        src = raw.get(r["source_id"])
        assert src is not None, r["source_id"]
        assert (src["lat"], src["lon"]) == (r["truth_lat"], r["truth_lon"]), r["source_id"]
        assert (src["municipality_code"], src["stadsdelsomrade"]) == (r["municipality_code"], r["stadsdelsomrade"])
        assert src["source"] == r["source"]
    share = len({r["source_id"] for r in held}) / len(raw)
    assert 0.2 <= share <= 0.3, share


@needs_raw
def test_generator_is_deterministic(tmp_path):
    spec = importlib.util.spec_from_file_location("make_geocode_benchmark", BENCH / "make_geocode_benchmark.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
        assert module.main(["--out", str(tmp_path)]) == 0
    finally:
        sys.modules.pop(spec.name, None)
    assert (tmp_path / "geocode_benchmark.csv").read_bytes() == CSV.read_bytes()
    assert (tmp_path / "README.md").read_bytes() == README.read_bytes()
