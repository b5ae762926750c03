"""Address registers on the real raw files, and on small fixtures written in Lantmäteriet's real schema.

Points are compared in EPSG:3006 metres; expected points come from WGS84 degrees read off the files themselves and
projected here with pyproj, independently of the readers.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from pyproj import Transformer

from geo.geocode import sources
from geo.geocode.registers import (
    AddressPoint,
    SourceError,
    load_exclude_ids,
    read_register,
    split_housenumber,
)
from core.settings import get_settings

RAW = get_settings().data_dir
SODERMALM_PBF = RAW / "stockholm-sodermalm-sample-2020.osm.pbf"
OSTERMALM_XML = RAW / "stockholm-ostermalm-sample-2020.osm"
COUNTY_CSV = RAW / "stockholm-county-address-points-2025.csv"
TO_3006 = Transformer.from_crs("EPSG:4326", "EPSG:3006", always_xy=True)
POINT_TOLERANCE_M = 0.01
"""A node's or a CSV row's own point, reprojected: only floating-point noise is allowed."""


def _xy(lat: float, lon: float) -> tuple[float, float]:
    return TO_3006.transform(lon, lat)


def _distance_m(address: AddressPoint, x: float, y: float) -> float:
    return math.hypot(address.x - x, address.y - y)


def _find(addresses: list[AddressPoint], street: str, number: str) -> AddressPoint:
    (hit,) = [a for a in addresses if a.street == street and a.housenumber == number]
    return hit


# -- OSM ---------------------------------------------------------------------------------------------------------------
def test_sodermalm_pbf_addresses():
    streets, addresses = read_register(SODERMALM_PBF)
    # The README's 392 addr:housenumber tags are all on nodes that also carry addr:street: every one is an address.
    assert len(addresses) == 392
    assert len({a.source_id for a in addresses}) == 392 and all(a.source_id.startswith("n") for a in addresses)
    assert {a.source for a in addresses} == {"osm"}
    assert len(streets) == 71  # named highway ways
    # Node 640305027: Mariatorget 1A, 118 48 Stockholm at 59.3187531 N, 18.0633381 E.
    mariatorget = _find(addresses, "Mariatorget", "1A")
    assert (mariatorget.postcode, mariatorget.city, mariatorget.source_id) == ("11848", "Stockholm", "n640305027")
    assert _distance_m(mariatorget, *_xy(59.3187531, 18.0633381)) < POINT_TOLERANCE_M
    # 27 addresses carry addr:postcode, written "118 48" or "11848": all become five digits in Södermalm's 117/118.
    postcodes = [a.postcode for a in addresses if a.postcode]
    assert len(postcodes) == 27
    assert all(len(p) == 5 and p.isdigit() and p[:3] in ("117", "118") for p in postcodes)
    assert _find(addresses, "Swedenborgsgatan", "6").postcode == "11848"  # tagged "11848"
    assert _find(addresses, "Maria Prästgårdsgata", "32A").postcode == "11852"  # tagged "118 52"


def test_ostermalm_xml_addresses_match_their_nodes():
    streets, addresses = read_register(OSTERMALM_XML)
    nodes = {
        f"n{node.get('id')}": (float(node.get("lat")), float(node.get("lon")))
        for node in ET.parse(OSTERMALM_XML).getroot().iter("node")
        if any(tag.get("k") == "addr:housenumber" for tag in node.iter("tag"))
    }
    # 1 006 addr:housenumber tags, all on nodes with addr:street: one address each, at its node.
    assert len(nodes) == 1006 and len(addresses) == 1006
    assert {a.source_id for a in addresses} == set(nodes)
    assert max(_distance_m(a, *_xy(*nodes[a.source_id])) for a in addresses) < POINT_TOLERANCE_M
    tegner = _find(addresses, "Tegnérgatan", "12")  # node 455888222, tagged addr:postcode "113 58"
    assert (tegner.postcode, tegner.city, tegner.source_id) == ("11358", "Stockholm", "n455888222")
    assert sum(a.postcode is not None for a in addresses) == 138
    assert len(streets) == 427


def test_osm_addr_place_is_the_street_without_addr_street(tmp_path):
    osm = tmp_path / "village.osm"
    osm.write_text(
        """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6">
 <node id="7" lat="59.7000" lon="18.9000"><tag k="addr:place" v="Rådmansö"/><tag k="addr:housenumber" v="12"/>
  <tag k="addr:postcode" v="SE-760 15"/></node>
 <node id="8" lat="59.7001" lon="18.9001"><tag k="addr:housenumber" v="3"/></node>
</osm>""",
        encoding="utf-8",
    )
    _, addresses = read_register(osm)
    assert [(a.street, a.housenumber, a.postcode, a.source_id) for a in addresses] == [
        ("Rådmansö", "12", "76015", "n7")
    ]


# -- CSV ---------------------------------------------------------------------------------------------------------------
def test_county_csv_rows_and_a_known_school():
    _, addresses = read_register(COUNTY_CSV)
    # 1 942 rows; 28 have no number that can be told: 26 bare names ("Runmarö Skola", "Brunnsgatan"), one with three
    # streets in one field ("Surbrunnsg 64/Norrtullsg 12j/Hagag") and one naming a building before the street
    # ("Ängen 1 Maria Höglundsväg 20").
    assert len(addresses) == 1914
    assert {a.source for a in addresses} == {"skolverket-school-units-2026", "skolverket-preschools-2025"}
    vasby = _find(addresses, "Drabantgatan", "3-5")
    assert (vasby.postcode, vasby.city, vasby.municipality_code, vasby.source_id) == (
        "19449", "Upplands Väsby", "0114", "24374886"
    )
    assert _distance_m(vasby, *_xy(59.517596, 17.916014)) < POINT_TOLERANCE_M
    assert all(a.postcode and len(a.postcode) == 5 for a in addresses)
    assert all(a.municipality_code and len(a.municipality_code) == 4 for a in addresses)
    assert sum(a.city is None for a in addresses) > 1000  # preschools give no postal town


def test_county_csv_exclusion_by_source_id():
    _, addresses = read_register(COUNTY_CSV)
    excluded = frozenset({"24374886", addresses[100].source_id, addresses[-1].source_id})
    _, kept = read_register(COUNTY_CSV, exclude_ids=excluded)
    assert len(kept) == len(addresses) - 3
    assert not {a.source_id for a in kept} & excluded


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Drabantgatan 3-5", ("Drabantgatan", "3-5")), ("Odlingsvägen 36 B-C", ("Odlingsvägen", "36B-C")),
     ("Idungatan 4b", ("Idungatan", "4B")), ("Mellansjövägen 60 A", ("Mellansjövägen", "60A")),
     ("Nynäsvägen 203 - 205", ("Nynäsvägen", "203-205")), ("Bersåstigen 2 Och 4", ("Bersåstigen", "2;4")),
     ("Norrängsvägen 58 A Och B", ("Norrängsvägen", "58A-B")), ("Rudsjöterrassen 1, 3 tr", ("Rudsjöterrassen", "1")),
     ("Åbergssons Väg 13nb", ("Åbergssons Väg", "13")), ("Rissneleden 25 Bv", ("Rissneleden", "25")),
     ("Gustav III:s väg 2-10", ("Gustav III:s väg", "2-10")), ("Idunsväg17", ("Idunsväg", "17")),
     ("Vendelsö Alle´ 28", ("Vendelsö Allé", "28")), ("Runmarö Skola", None), ("Brunnsgatan", None),
     ("Surbrunnsg 64/Norrtullsg 12j/Hagag", None), ("Ängen 1 Maria Höglundsväg 20", None)],
)  # fmt: skip
def test_split_housenumber_on_forms_found_in_the_county_csv(text, expected):
    assert split_housenumber(text) == expected


def test_plain_semicolon_csv_with_bom_and_decimal_commas(tmp_path):
    path = tmp_path / "adresser.csv"
    path.write_bytes(
        "\ufeffstreet;number;postcode;town;lat;lon\r\n"
        "Fjällgatan;44;116 28;Stockholm;59,3148;18,0843\r\n"
        "Storgatan;12 B;151 30;Södertälje;59.1955;17.6253\r\n"
        "Okändgatan;1;;Stockholm;norr;18,0\r\n".encode("utf-8")
    )
    _, addresses = read_register(path)
    assert [(a.street, a.housenumber, a.postcode, a.city, a.source) for a in addresses] == [
        ("Fjällgatan", "44", "11628", "Stockholm", "csv"), ("Storgatan", "12 B", "15130", "Södertälje", "csv")
    ]  # fmt: skip
    assert _distance_m(addresses[0], *_xy(59.3148, 18.0843)) < POINT_TOLERANCE_M


def test_csv_without_points_or_usable_rows_is_an_error(tmp_path):
    no_lat = tmp_path / "no_lat.csv"
    no_lat.write_text("street,housenumber,lon\nFjällgatan,44,18.08\n", encoding="utf-8")
    with pytest.raises(SourceError, match="lat"):
        read_register(no_lat)
    unusable = tmp_path / "unusable.csv"
    unusable.write_text("street,housenumber,lat,lon\nFjällgatan,44,x,y\n", encoding="utf-8")
    with pytest.raises(SourceError, match="No usable address"):
        read_register(unusable)


# -- Lantmäteriet ------------------------------------------------------------------------------------------------------
SODERTALJE = (649950.0, 6564770.0)
"""Södertälje centre in EPSG:3006 (m); fixture addresses lie a few tens of metres apart around it."""
LM_ROWS = [
    # adressplatstyp, adressomrade, gardsadressomrade, nummer, bokstav, avviker, avvikande, status, postnummer, dx
    ("Gatuadressplats", "Storgatan", None, 12, None, False, None, "Gällande", 15130, 0),
    ("Gatuadressplats", "Storgatan", None, 14, "B", False, None, "Gällande", 15130, 20),
    ("Gatuadressplats", "Storgatan", None, 16, None, False, None, "Avregistrerad", 15130, 40),
    ("Gatuadressplats", "Nygatan", None, 7, None, True, "7-9", "Gällande", 15132, 60),
    ("Byadressplats", "Tveta", None, 5, None, False, None, "Gällande", 15194, 80),
    ("Gardsadressplats", "Tveta", "Norrgården", 2, None, False, None, "Gällande", 15194, 100),
    ("Gatuadressplats", "Nygatan", None, None, None, False, None, "Gällande", 15132, 120),
]  # fmt: skip
LM_EXPECTED = [
    ("Storgatan", "12", "15130", 0), ("Storgatan", "14B", "15130", 20), ("Nygatan", "7-9", "15132", 60),
    ("Tveta", "5", "15194", 80), ("Tveta Norrgården", "2", "15194", 100),
]  # fmt: skip
"""Read back: the retired address (Avregistrerad) and the one without a number are skipped."""


def _belagenhetsadress(crs: str = "EPSG:3006", drop: str | None = None, kommunkod: str | None = None):
    columns = ["adressplatstyp", "adressomrade_faststalltnamn", "gardsadressomrade_faststalltnamn",
               "adressplatsnummer", "bokstavstillagg", "avvikerfranstandarden", "avvikandeadressplatsbeteckning",
               "statusforbelagenhetsadress", "postnummer"]  # fmt: skip
    df = gpd.GeoDataFrame(
        [dict(zip(columns, row[:-1])) for row in LM_ROWS],
        geometry=[shapely.Point(SODERTALJE[0] + row[-1], SODERTALJE[1]) for row in LM_ROWS],
        crs="EPSG:3006",
    )
    df["adressplatsnummer"] = df["adressplatsnummer"].astype("Int64")
    df["avvikerfranstandarden"] = df["avvikerfranstandarden"].astype(bool)
    df["lagestillagg"] = None
    df["lagestillaggsnummer"] = None
    df["kommundel_faststalltnamn"] = "Södertälje"
    df["postort"] = "Södertälje"
    df["popularnamn"] = None
    df["objektidentitet"] = [f"00000000-0000-4000-8000-{i:012d}" for i in range(len(df))]
    if kommunkod:
        df["kommunkod"] = kommunkod
    if drop:
        df = df.drop(columns=drop)
    return df.to_crs(crs)


def _read_back(addresses: list[AddressPoint]) -> list[tuple]:
    return [(a.street, a.housenumber, a.postcode, round(a.x - SODERTALJE[0], 3)) for a in addresses]


@pytest.fixture
def lm_gpkg(tmp_path) -> Path:
    path = tmp_path / "belagenhetsadresser_kn0181.gpkg"
    _belagenhetsadress().to_file(path, layer="belagenhetsadress", driver="GPKG")
    return path


def test_lantmateriet_gpkg(lm_gpkg):
    streets, addresses = read_register(lm_gpkg)
    assert streets == []
    assert _read_back(addresses) == LM_EXPECTED
    assert {(a.city, a.municipality_code, a.source) for a in addresses} == {("Södertälje", "0181", "lantmateriet")}
    assert addresses[0].source_id == "00000000-0000-4000-8000-000000000000"
    assert all(a.y == pytest.approx(SODERTALJE[1], abs=1e-6) for a in addresses)


def test_lantmateriet_zip_as_delivered(lm_gpkg, tmp_path):
    path = tmp_path / "belagenhetsadresser_kn0181.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.write(lm_gpkg, lm_gpkg.name)
    _, addresses = read_register(path, exclude_ids=frozenset({"00000000-0000-4000-8000-000000000001"}))
    assert _read_back(addresses) == [LM_EXPECTED[0]] + LM_EXPECTED[2:]  # Storgatan 14B excluded by its UUID
    assert {a.municipality_code for a in addresses} == {"0181"}


def test_lantmateriet_reprojects_and_prefers_the_kommunkod_field(tmp_path):
    path = tmp_path / "adresser.gpkg"  # no municipality in the name: the field gives it
    _belagenhetsadress(crs="EPSG:4326", kommunkod="0181").to_file(path, layer="belagenhetsadress", driver="GPKG")
    _, addresses = read_register(path)
    assert [(s, n, p) for s, n, p, _ in _read_back(addresses)] == [(s, n, p) for s, n, p, _ in LM_EXPECTED]
    assert max(abs(a.x - SODERTALJE[0] - dx) for a, (*_, dx) in zip(addresses, LM_EXPECTED)) < POINT_TOLERANCE_M
    assert {a.municipality_code for a in addresses} == {"0181"}


def test_lantmateriet_without_a_required_field_or_the_layer(tmp_path):
    broken = tmp_path / "belagenhetsadresser_kn0181.gpkg"
    _belagenhetsadress(drop="postnummer").to_file(broken, layer="belagenhetsadress", driver="GPKG")
    with pytest.raises(SourceError, match="postnummer"):
        read_register(broken)
    other = tmp_path / "other.gpkg"
    _belagenhetsadress().to_file(other, layer="adresser", driver="GPKG")
    with pytest.raises(SourceError, match="belagenhetsadress"):
        read_register(other)


# -- dispatch, exclusion file, façade ----------------------------------------------------------------------------------
def test_unknown_suffix_is_an_error(tmp_path):
    path = tmp_path / "adresser.xlsx"
    path.write_bytes(b"PK")
    with pytest.raises(SourceError, match="Unsupported address register file type: adresser.xlsx"):
        read_register(path)


def test_load_exclude_ids(tmp_path):
    assert load_exclude_ids(None) == frozenset()
    assert load_exclude_ids(tmp_path / "missing.csv") == frozenset()
    bench = tmp_path / "bench.csv"
    bench.write_text("query;source_id\nDrabantgatan 3-5;24374886\nx; 42 \ny;\n", encoding="utf-8-sig")
    assert load_exclude_ids(bench) == frozenset({"24374886", "42"})
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("query,id\nx,1\n", encoding="utf-8")
    with pytest.raises(SourceError, match="source_id"):
        load_exclude_ids(wrong)


def test_sources_facade_reads_the_configured_files():
    settings = get_settings()
    paths = sources.address_files(settings)
    assert [p.name for p in paths] == [n.strip() for n in settings.address_files.split(";") if n.strip()]
    streets, addresses = sources.read_addresses(
        [SODERMALM_PBF, COUNTY_CSV], exclude_ids=frozenset({"24374886"})
    )
    assert len(streets) == 71 and len(addresses) == 392 + 1914 - 1
    assert sources.AddressPoint is AddressPoint and sources.SourceError is SourceError
