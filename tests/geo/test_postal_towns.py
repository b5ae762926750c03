"""Postal towns (data/postal_towns.yaml) against the real GeoNames postcodes, the Skolverket register and the
boundary files, and validation of broken postal-town files."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict

import pytest

from geo import boundaries
from geo.geocode.postal_towns import (
    STOCKHOLM_BOROUGHS,
    PostalTown,
    PostalTowns,
    PostalTownsError,
    load_postal_towns,
)
from core.settings import STOCKHOLM_CODE

REGISTER_FILE = "stockholm-county-address-points-2025.csv"
COUNTY_PREFIXES = ((100, 199), (760, 764))


@pytest.fixture(scope="module")
def towns(settings) -> PostalTowns:
    return load_postal_towns(settings.postal_towns_file)


@pytest.fixture(scope="module")
def geonames_rows(settings) -> list[list[str]]:
    """GeoNames rows of county postcodes: country postcode place admin1 admin1code admin2 admin2code ... (tab)."""
    rows = []
    with settings.raw(settings.postcodes_file).open(encoding="utf-8", newline="") as f:
        for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            head = int(row[1][:3])
            if any(lo <= head <= hi for lo, hi in COUNTY_PREFIXES):
                rows.append(row)
    assert len(rows) > 3500
    return rows


@pytest.fixture(scope="module")
def register_rows(settings) -> list[dict[str, str]]:
    with settings.raw(REGISTER_FILE).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _covers(town: PostalTown, row: dict[str, str]) -> bool:
    """Whether a register row's own point (municipality, borough) lies in what the town maps to."""
    code = row["municipality_code"]
    if code not in town.municipality_codes:
        return False
    return code != STOCKHOLM_CODE or not town.boroughs or row["stadsdelsomrade"] in town.boroughs


def test_file_loads(towns):
    kinds = Counter(t.kind for t in towns)
    assert kinds["postal_town"] >= 135 and 5 <= kinds["locality"] <= 30
    assert all(t.source for t in towns)
    assert {a for t in towns for a in t.aliases} >= {"Järfalla", "Lindingö", "Norrtalje", "Âlvsjö", "Skärmholmen"}


def test_every_geonames_county_town_resolves(towns, geonames_rows):
    missing = sorted({row[2] for row in geonames_rows if towns.get(row[2]) is None})
    assert not missing, f"GeoNames county postal towns missing from postal_towns.yaml: {missing}"


@pytest.mark.parametrize(
    "name, codes, boroughs",
    [
        ("Hässelby", ("0180",), ("Hässelby-Vällingby",)),
        ("HÄSSELBY", ("0180",), ("Hässelby-Vällingby",)),
        ("Vällingby", ("0180",), ("Hässelby-Vällingby",)),
        ("Bromma", ("0180",), ("Bromma",)),
        ("Farsta", ("0180",), ("Farsta",)),
        ("Kista", ("0180",), ("Rinkeby-Kista",)),
        ("Åkersberga", ("0117",), ()),
        ("Märsta", ("0191",), ()),
        ("Tumba", ("0127",), ()),
        ("Jarfalla", ("0123",), ()),
        ("Lindingö", ("0186",), ()),
        ("SOLNA", ("0184",), ()),
        ("saltsjö-boo", ("0182",), ()),
        ("Jakobsberg", ("0123",), ()),
    ],
)
def test_known_towns(towns, name, codes, boroughs):
    town = towns.get(name)
    assert town is not None, name
    assert (town.municipality_codes, town.boroughs) == (codes, boroughs)


def test_towns_that_span_several_units(towns):
    johanneshov = towns.get("Johanneshov")
    assert johanneshov.municipality_codes == ("0180",)
    assert {"Enskede-Årsta-Vantör", "Skarpnäck"} <= set(johanneshov.boroughs)
    assert set(towns.get("Spånga").boroughs) == {"Spånga-Tensta", "Rinkeby-Kista"}
    stockholm = towns.get("Stockholm")
    assert set(stockholm.boroughs) == set(STOCKHOLM_BOROUGHS)
    assert {"0180", "0184"} <= set(stockholm.municipality_codes)  # Hagastaden's Solna side, Karolinska
    assert "municipality:0184" in stockholm.units and "borough:Norrmalm" in stockholm.units
    assert "municipality:0180" not in stockholm.units
    assert "0184" in towns.get("Bergshamra").municipality_codes  # also Solna's district, not only Norrtälje's postort
    assert towns.get("Stockholm-Globen").name == towns.get("stockholm-globen").name == "Stockholm-Globen"
    assert towns.get("Âlvsjö").name == "Älvsjö" and towns.get("Fasta").name == "Farsta"
    assert towns.get("Jakobsberg").kind == "locality" and towns.get("Tumba").kind == "postal_town"
    assert towns.get("Sveavägen") is None


def test_codes_and_boroughs_exist_in_the_boundary_files(towns, settings):
    county = set(boundaries.load_municipalities(settings)["code"])
    unknown = sorted({(t.name, c) for t in towns for c in t.municipality_codes if c not in county})
    assert not unknown, f"Municipality codes not among the county's 26: {unknown}"
    assert set(boundaries.load_boroughs(settings)["name"]) == set(STOCKHOLM_BOROUGHS)


def test_register_schools_agree(towns, register_rows):
    """Each school's postal town covers the school's own point (municipality, and borough in Stockholm city)."""
    schools = [r for r in register_rows if r["postal_town"].strip()]
    assert len(schools) > 300
    wrong = []
    for row in schools:
        town = towns.get(row["postal_town"])
        if town is None or not _covers(town, row):
            mapped = (town.municipality_codes, town.boroughs) if town else "unknown town"
            wrong.append(f"{row['name']} ({row['postal_town']}): at {row['municipality_code']} "
                         f"{row['stadsdelsomrade']}, mapped to {mapped}")
    assert not wrong, "School rows outside their postal town's mapping:\n" + "\n".join(wrong)


def test_register_preschools_mostly_agree(towns, register_rows, geonames_rows):
    """Preschools carry no town: GeoNames' town of their postcode must cover their point, except where a preschool
    reports its organisation's office postcode (a handful of postcodes shared by sites all over the county)."""
    town_of = {row[1].replace(" ", ""): row[2] for row in geonames_rows}
    checked, wrong = 0, Counter()
    for row in register_rows:
        town = towns.get(town_of.get(row["postcode"].replace(" ", ""), ""))
        if row["postal_town"].strip() or town is None:  # unknown towns: test_every_geonames_county_town_resolves
            continue
        checked += 1
        if not _covers(town, row):
            wrong[town.name] += 1
    assert checked > 1500
    assert sum(wrong.values()) <= 0.05 * checked, f"Preschools outside their postcode's town: {wrong.most_common()}"


def test_geonames_admin2_codes_are_listed(towns, geonames_rows):
    """A county municipality GeoNames gives a town on two or more rows is among the town's municipalities."""
    codes: dict[str, Counter] = defaultdict(Counter)
    for row in geonames_rows:
        town = towns.get(row[2])
        if town is not None and row[6].startswith("01"):
            codes[town.name][row[6]] += 1
    unlisted = sorted((name, code, n) for name, counter in codes.items() for code, n in counter.items()
                      if n >= 2 and code not in towns.get(name).municipality_codes)
    assert not unlisted, f"GeoNames admin2 codes (town, code, rows) not in the mapping: {unlisted}"


# -- broken files ------------------------------------------------------------------------------------------------
_GOOD = """
  - name: Bromma
    municipalities: ["0180"]
    boroughs: [Bromma]
    source: test
"""


@pytest.mark.parametrize(
    "body, message",
    [
        ("  - name: Solna\n    municipalities: [\"0184\"\n", "is not valid YAML"),
        ("  - name: Gamla stan\n    municipalities: [\"0180\"]\n    boroughs: [Gamla stan]\n    source: test\n",
         "'Gamla stan', which is not a Stockholm stadsdelsområde"),
        ("  - name: Solna\n    municipalities: [\"184\"]\n    source: test\n", "'184' is not 4 digits"),
        ("  - name: Uppsala\n    municipalities: [\"0380\"]\n    source: test\n", "'0380' is not in Stockholm County"),
        ("  - name: Järfälla\n    municipalities: [0123]\n    source: test\n", "must be a quoted 4-digit string"),
        ("  - name: BROMMA\n    municipalities: [\"0180\"]\n    source: test\n",
         "'BROMMA' of town 'BROMMA' is also a name or alias of town 'Bromma'"),
        ("  - name: Alvik\n    municipalities: [\"0180\"]\n    aliases: [bromma]\n    source: test\n",
         "'bromma' of town 'Alvik' is also a name or alias of town 'Bromma'"),
        ("  - name: Solna\n    municipalities: [\"0184\"]\n    aliases: [SOLNA]\n    source: test\n",
         "lists the name 'SOLNA' twice"),
        ("  - name: Solna\n    municipalities: [\"0184\"]\n    boroughs: [Bromma]\n    source: test\n",
         "Town 'Solna' lists boroughs but not Stockholm city (0180)"),
        ("  - name: Solna\n    municipalities: [\"0184\"]\n", "Town 'Solna' has no source"),
        ("  - name: Solna\n    municipalities: [\"0184\"]\n    borough: [Bromma]\n    source: test\n",
         "unknown field(s) borough"),
        ("  - name: Solna\n    source: test\n", "Town 'Solna' has no 'municipalities' list"),
        ("  - name: Solna\n    kind: suburb\n    municipalities: [\"0184\"]\n    source: test\n",
         "kind must be one of postal_town, locality"),
    ],
)
def test_broken_files_are_rejected(tmp_path, body, message):
    path = tmp_path / "postal_towns.yaml"
    path.write_text("towns:" + _GOOD + body, encoding="utf-8")
    with pytest.raises(PostalTownsError) as info:
        load_postal_towns(path)
    assert isinstance(info.value, ValueError)
    assert any(message in p for p in info.value.problems), info.value.problems


def test_every_problem_is_named(tmp_path):
    path = tmp_path / "postal_towns.yaml"
    path.write_text(
        "towns:" + _GOOD + "  - name: Solna\n    municipalities: [\"0380\"]\n"
        "  - name: Kista\n    municipalities: [\"0180\"]\n    boroughs: [Kista]\n    source: test\n",
        encoding="utf-8",
    )
    with pytest.raises(PostalTownsError) as info:
        load_postal_towns(path)
    assert len(info.value.problems) == 3, info.value.problems
    assert "Invalid postal towns data" in str(info.value)


def test_missing_file_and_missing_list(tmp_path):
    with pytest.raises(PostalTownsError, match="Postal towns file not found"):
        load_postal_towns(tmp_path / "nowhere.yaml")
    path = tmp_path / "postal_towns.yaml"
    path.write_text("version: 1\n", encoding="utf-8")
    with pytest.raises(PostalTownsError, match="must have a top-level 'towns' list"):
        load_postal_towns(path)


def test_good_file_round_trip(tmp_path):
    path = tmp_path / "postal_towns.yaml"
    path.write_text("towns:" + _GOOD, encoding="utf-8")
    towns = load_postal_towns(path)
    assert len(towns) == 1 and [t.name for t in towns] == ["Bromma"]
    assert towns.get("bromma").units == ("borough:Bromma",) and "BROMMA" in towns
