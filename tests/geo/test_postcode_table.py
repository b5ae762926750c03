"""A postcode's municipality from the postcode table, and a Stockholm postcode's borough from its neighbours (issue 23),
on the real raw files and the county's prepared geocoder (``county_service()``)."""

from __future__ import annotations

import numpy as np
import pytest

from geo.geocode.context import NEIGHBOUR_DIGITS
from geo.geocode.sources import SourceError, read_postcode_municipalities
from core.settings import COUNTY_CODE


@pytest.fixture(scope="module")
def table(settings):
    return read_postcode_municipalities(settings.raw(settings.postcode_municipality_file))


def test_the_reader_reads_the_real_table(table):
    county = {k: v for k, v in table.items() if v[0][:2] == COUNTY_CODE}
    assert len(table) == 15463 and len(county) == 3306  # the counts its README gives
    assert table["17177"] == ("0184", "Stockholm")  # a "Stockholm" postcode in Solna, leading zero kept
    assert all(len(k) == 5 and k.isdigit() and len(c) == 4 and c.isdigit() for k, (c, _) in table.items())


def test_the_reader_refuses_a_broken_table_and_leaves_out_a_postcode_it_cannot_decide(tmp_path):
    with pytest.raises(SourceError, match="not found"):
        read_postcode_municipalities(tmp_path / "none.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("postcode,kommun\n17177,0184\n", encoding="utf-8")
    with pytest.raises(SourceError, match="no column postal_code, locality, municipality_code"):
        read_postcode_municipalities(bad)
    two = tmp_path / "two.csv"
    two.write_text("postal_code,locality,municipality_code\n171 77,Stockholm,184\n11122,Stockholm,0180\n"
                   "11122,Solna,0184\n", encoding="utf-8")
    assert read_postcode_municipalities(two) == {"17177": ("0184", "Stockholm")}


def test_the_prepared_index_holds_the_configured_table(service, table):
    assert service.settings.postcode_municipality_file == "sweden-postcode-municipality-2024.csv"
    assert service.geocoder.index.postcode_table == table


@pytest.mark.parametrize("query", ["17177", "171 77 Stockholm"])
def test_17177_stockholm_lies_in_solna(service, query):
    match = service.geocoder.geocode(query)
    assert match.region.units == ("municipality:0184",)
    assert "postcode_municipality_from_table" in {n.code for n in match.notes}
    area = service.lookup(address=query)["area"]
    solna = service.units.get("municipality:0184").area_ids
    assert area["status"] == "certain" and (area["id"],) == solna and area["municipality"] == "Solna"


def test_a_postal_town_spanning_two_municipalities_is_narrowed_by_the_table(service):
    # Bergshamra is a postal town in Solna and in Norrtälje; the table puts 761 11 in Norrtälje.
    area = service.lookup(address="761 11 Bergshamra")["area"]
    assert area["status"] == "certain" and area["municipality"] == "Norrtälje"


def test_the_neighbour_rule_is_never_wrong_on_the_registers_own_postcodes(service):
    """Leave-one-out: each Stockholm register postcode whose addresses lie in one ASIH area, judged from its
    neighbours only, gets boroughs of that area or nothing — and the rule decides many of them (it is not a rule that
    never speaks). Boroughs of one area are enough: the area is what the answer needs, and naming a borough is left
    to the boroughs' own agreement."""
    geocoder = service.geocoder
    right = 0
    for key, pc in geocoder.index.postcodes.items():
        if not len(pc.xy):
            continue
        mun, _, area = geocoder.units.at(pc.xy[:, 0], pc.xy[:, 1])
        own = set(area.tolist())
        if len(own) != 1 or set(mun.tolist()) != {"0180"}:
            continue
        found = geocoder.context.neighbour_boroughs(key)
        if found is None:
            continue
        assert {a for b in found[2] for a in geocoder.units.get(f"borough:{b}").area_ids} == own, key
        assert found[0] < key < found[1] and found[0][:NEIGHBOUR_DIGITS] == found[1][:NEIGHBOUR_DIGITS] == key[:4]
        right += 1
    assert right >= 190


def test_a_run_end_postcode_is_not_given_its_neighbours_borough(service):
    # 117 50 is on Södermalm; the register knows only 117 55-59, all in Hägersten-Älvsjö: one side is no agreement.
    known = sorted(k for k, p in service.geocoder.index.postcodes.items() if k[:NEIGHBOUR_DIGITS] == "1175"
                   and len(p.xy))
    assert known and all(k > "11750" for k in known)
    assert service.geocoder.context.neighbour_boroughs("11750") is None


def test_a_postcode_without_addresses_takes_the_borough_its_neighbours_agree_on(service):
    geocoder = service.geocoder
    pc = geocoder.index.postcodes["11216"]
    assert not len(pc.xy)  # no register address: GeoNames puts every "Stockholm" postcode at one point
    match = geocoder.geocode("112 16 Stockholm")
    assert match.region.units == ("borough:Kungsholmen",)
    assert "postcode_district_by_neighbours" in {n.code for n in match.notes}
    area = service.lookup(address="112 16 Stockholm")["area"]
    assert area["status"] == "certain" and area["district"] == "Kungsholmen"
    known = sorted(k for k, p in geocoder.index.postcodes.items() if k[:NEIGHBOUR_DIGITS] == "1121" and len(p.xy))
    lower, higher = [k for k in known if k < "11216"][-1], [k for k in known if k > "11216"][0]
    xy = np.vstack([geocoder.index.postcodes[lower].xy, geocoder.index.postcodes[higher].xy])
    _, borough, _ = geocoder.units.at(xy[:, 0], xy[:, 1])
    assert set(borough.tolist()) == {"Kungsholmen"}


def test_neighbours_in_two_boroughs_of_one_area_decide_the_area_and_name_both_boroughs(service):
    # 121 37 has no register address; 121 36 lies in Enskede-Årsta-Vantör, 121 38 in Skarpnäck: both area 3.
    geocoder = service.geocoder
    assert not len(getattr(geocoder.index.postcodes.get("12137"), "xy", ()))
    assert geocoder.context.neighbour_boroughs("12137") == ("12136", "12138", ("Enskede-Årsta-Vantör", "Skarpnäck"))
    match = geocoder.geocode("121 37 Stockholm")
    assert match.region.units == ("borough:Enskede-Årsta-Vantör", "borough:Skarpnäck")
    area = service.lookup(address="121 37 Stockholm", lang="sv")
    assert area["area"]["status"] == "certain" and area["area"]["id"] == 3
    assert "Skarpnäck" in area["area"]["district"] and "Enskede-Årsta-Vantör" in area["area"]["district"]
    note = next(w for w in area["warnings"] if w["code"] == "postcode_district_by_neighbours")
    assert "121 36" in note["message"] and "121 38" in note["message"]
