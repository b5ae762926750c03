"""Query parsing, normalisation and the OSM reader, without the index (fast, no fixtures beyond tmp files)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from core.crs import to_wgs84
from geo.geocode import (
    GeocodeError,
    InvalidQuery,
    QueryTooLong,
    clean_query,
    parse_query,
)
from geo.geocode.normalize import (
    expand_housenumbers,
    fold,
    lower,
    normalize_housenumber,
    postcode_key,
)
from geo.geocode.sources import read_osm

MAX = 300


def _parse(query: str):
    return parse_query(clean_query(query, MAX))


@pytest.mark.parametrize(
    ("query", "street", "number", "postcode", "places"),
    [("Fjällgatan 44, 116 28 Stockholm", "Fjällgatan", "44", "11628", ("Stockholm",)),
     ("fjällgatan 44 stockholm", "fjällgatan", "44", None, ("stockholm",)),
     ("Fjällgatan 44B", "Fjällgatan", "44B", None, ()),
     ("Fjällgatan 44 b, Stockholm", "Fjällgatan", "44B", None, ("Stockholm",)),
     ("Fjällgatan 44-46", "Fjällgatan", "44", None, ()),
     ("Sankt Eriksgatan 10, lgh 1203, 3 tr", "Sankt Eriksgatan", "10", None, ()),
     ("c/o Andersson, Fjällgatan 44, SE-116 28 Stockholm", "Fjällgatan", "44", "11628", ("Stockholm",)),
     ("Gustav Vasas väg 2", "Gustav Vasas väg", "2", None, ()),
     ("Kista", "Kista", None, None, ()),
     ("Fjällgatan, Södermalm, Stockholm", "Fjällgatan", None, None, ("Södermalm", "Stockholm"))],
)
def test_address_parts(query, street, number, postcode, places):
    parsed = _parse(query)
    assert (parsed.kind, parsed.street, parsed.number, parsed.postcode, parsed.places) == (
        "text", street, number, postcode, places)


@pytest.mark.parametrize("query", ["11628", "116 28", "SE-116 28", "se 11628", "116 28 Stockholm"])
def test_postcode_queries(query):
    parsed = _parse(query)
    assert (parsed.kind, parsed.postcode) == ("postcode", "11628")


@pytest.mark.parametrize(
    ("query", "kind"),
    [("59.3157, 18.0867", "coordinates"), ("59,3157, 18,0867", "coordinates"), ("59,3157;18,0867", "coordinates"),
     ("59.3157°, 18.0867°", "coordinates"), ("59,3157,18,0867", "text"), ("59, 18", "text"), ("116 28", "postcode")],
)
def test_coordinate_forms(query, kind):
    try:
        assert _parse(query).kind == kind
    except GeocodeError:
        assert kind == "text"  # nothing alphabetic: not an address either


def test_length_limit_counts_characters():
    assert clean_query("å" * MAX, MAX) == "å" * MAX
    with pytest.raises(QueryTooLong):
        clean_query("å" * (MAX + 1), MAX)


@pytest.mark.parametrize("query", ["a\x00b", "a\x1bb", "a\udcffb", "a\ue000b"])
def test_control_and_private_characters_are_rejected(query):
    with pytest.raises(InvalidQuery):
        clean_query(query, MAX)


def test_zero_width_characters_are_dropped():
    assert clean_query("Fjäll\u200bgatan\ufeff 44", MAX) == "Fjällgatan 44"


@hsettings(max_examples=400, deadline=None)
@given(st.text(max_size=MAX + 20))
def test_parser_raises_only_geocode_errors(text):
    try:
        parsed = parse_query(clean_query(text, MAX))
    except GeocodeError as exc:
        assert exc.user_message
        return
    assert parsed.kind in ("coordinates", "postcode", "text")
    if parsed.kind == "coordinates":
        assert -90 <= parsed.lat <= 90 and -180 <= parsed.lon <= 180


ADDRESS_LIKE = r"[A-Za-zÅÄÖåäö ]{1,20} \d{1,4}[A-Za-z]?(, \d{3} ?\d{2})?( [A-Za-zåäö]{1,12})?"


@hsettings(max_examples=200, deadline=None)
@given(st.from_regex(ADDRESS_LIKE, fullmatch=True))
def test_parser_on_address_shaped_text(text):
    try:
        parsed = parse_query(clean_query(text, MAX))
    except GeocodeError:
        return
    assert parsed.kind in ("postcode", "text", "coordinates")


def test_normalisation():
    assert fold("Fjällgatan") == fold("FJALLGATAN") == "fjallgatan"
    assert fold("Tegnérgatan") == "tegnergatan"
    assert lower("S:t Eriksgatan") == lower("Sankt  Eriksgatan") == "sankt eriksgatan"
    assert normalize_housenumber("44 b") == "44B" and normalize_housenumber("2 tr") is None
    assert expand_housenumbers("25-27") == ["25", "27"] and expand_housenumbers("12;14A") == ["12", "14A"]
    assert postcode_key("SE-116 28") == "11628" and postcode_key("1162") is None


def test_osm_reader_takes_building_centroids_and_named_highways(tmp_path):
    # A square building (about 20 m x 20 m) carrying an address, and a named street: the OSM XML format in small.
    osm = tmp_path / "tiny.osm"
    osm.write_text(
        """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6">
 <node id="1" lat="59.3400" lon="18.0700"/><node id="2" lat="59.3400" lon="18.0704"/>
 <node id="3" lat="59.3402" lon="18.0704"/><node id="4" lat="59.3402" lon="18.0700"/>
 <node id="5" lat="59.3398" lon="18.0690"/><node id="6" lat="59.3398" lon="18.0710"/>
 <way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/>
  <tag k="building" v="yes"/><tag k="addr:street" v="Provgatan"/><tag k="addr:housenumber" v="3"/>
  <tag k="addr:postcode" v="114 99"/></way>
 <way id="11"><nd ref="5"/><nd ref="6"/><tag k="highway" v="residential"/><tag k="name" v="Provgatan"/></way>
</osm>""",
        encoding="utf-8",
    )
    streets, addresses = read_osm(osm)
    assert [s.name for s in streets] == ["Provgatan"] and streets[0].coords.shape == (2, 2)
    (address,) = addresses
    lat, lon = to_wgs84(address.x, address.y)
    assert (address.street, address.housenumber, address.postcode) == ("Provgatan", "3", "11499")
    assert lat == pytest.approx(59.3401, abs=1e-6) and lon == pytest.approx(18.0702, abs=1e-6)
