"""The offline geocoder on the real raw data (index built once per session into a temporary cache).

Coordinates are WGS84 degrees; distances are metres in EPSG:3006.
"""

from __future__ import annotations

import math
import statistics
import time
import xml.etree.ElementTree as ET

import pytest
import shapely
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from geo.boundaries import load_boroughs
from geo.cache import CacheError
from geo.crs import to_metric
from geo.geocode import (
    PRECISIONS,
    Ambiguous,
    EmptyQuery,
    GeocodeError,
    GeocodeResult,
    GeocoderUnavailable,
    InvalidQuery,
    NotFound,
    QueryTooLong,
    build_index,
    get_geocoder,
    load_geocoder,
)
from geo.settings import Settings

SODERMALM_BOX = ((59.313, 59.318), (18.07, 18.10))
"""Fjällgatan lies on the northern cliff of Södermalm: (lat range, lon range) in degrees."""
ADDRESS_TOLERANCE_M = 30.0


@pytest.fixture(scope="session")
def settings(tmp_path_factory) -> Settings:
    return Settings(cache_dir=tmp_path_factory.mktemp("geocode-cache"))


@pytest.fixture(scope="session")
def geocoder(settings):
    build_index(settings, progress=False)
    return load_geocoder(settings)


def _distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    x1, y1 = to_metric(lat1, lon1)
    x2, y2 = to_metric(lat2, lon2)
    return math.hypot(x2 - x1, y2 - y1)


def _in_box(result: GeocodeResult, box) -> bool:
    (lat0, lat1), (lon0, lon1) = box
    return lat0 <= result.lat <= lat1 and lon0 <= result.lon <= lon1


# -- streets and addresses ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "query",
    ["Fjällgatan 44, Stockholm", "Fjällgatan 44, 116 28 Stockholm", "fjällgatan 44 stockholm", "Fjällgatan 44",
     "FJÄLLGATAN 44", "Fjällgatan 44, lgh 1102, 2 tr, 116 28 Stockholm", "Fjällgatan 44\n116 28 Stockholm"],
)
def test_fjallgatan_is_on_sodermalm(geocoder, query):
    result = geocoder.geocode(query)
    assert result.precision in ("street", "address")
    assert result.matched == "Fjällgatan, Stockholm"
    assert _in_box(result, SODERMALM_BOX)
    assert "House number" in (result.note or "")  # 44 is not in the offline sample


@pytest.mark.parametrize("query", ["Fjalgatan 44", "fjälgatan 44", "Fjallgatan 44", "Fjällgtan 44, Stockholm"])
def test_typos_and_missing_diacritics_find_fjallgatan(geocoder, query):
    result = geocoder.geocode(query)
    assert result.matched == "Fjällgatan, Stockholm"
    assert _in_box(result, SODERMALM_BOX)
    assert result.score < 100


@pytest.mark.parametrize("query", ["Mariebergsgatan 22", "Mariebergsgtan", "mariebergsgatan 22, 112 19 Stockholm"])
def test_mariebergsgatan_is_in_kungsholmen(geocoder, settings, query):
    result = geocoder.geocode(query)
    assert result.matched == "Mariebergsgatan, Stockholm"
    boroughs = load_boroughs(settings).set_index("name")
    x, y = to_metric(result.lat, result.lon)
    assert boroughs.geometry["Kungsholmen"].contains(shapely.Point(x, y))


def _osm_address_node(settings, street: str, number: str) -> tuple[float, float]:
    """(lat, lon) of the node carrying this address in the raw OSM sample, read independently of the index."""
    root = ET.parse(settings.raw(settings.address_osm_file)).getroot()
    for node in root.iter("node"):
        tags = {t.get("k"): t.get("v") for t in node.findall("tag")}
        if tags.get("addr:street") == street and tags.get("addr:housenumber") == number:
            return float(node.get("lat")), float(node.get("lon"))
    raise AssertionError(f"{street} {number} is not in the OSM sample")


@pytest.mark.parametrize(
    ("street", "number", "query"),
    [("Linnégatan", "18", "Linnégatan 18, Stockholm"), ("Linnégatan", "18", "linnegatan 18"),
     ("Karlavägen", "26", "Karlavägen 26"), ("Tegnérgatan", "1", "Tegnergatan 1, 113 58 Stockholm"),
     ("Linnégatan", "16", "Linnégatan 16 B, 114 47 Stockholm")],
)
def test_ostermalm_address_lands_on_its_osm_node(geocoder, settings, street, number, query):
    lat, lon = _osm_address_node(settings, street, number)
    result = geocoder.geocode(query)
    assert result.precision == "address"
    assert result.matched == f"{street} {number}, Stockholm"
    assert _distance_m(result.lat, result.lon, lat, lon) < ADDRESS_TOLERANCE_M


def test_entrance_letter_not_in_data_falls_back_to_the_number(geocoder):
    assert "Entrance letter" in geocoder.geocode("Linnégatan 16 B").note


def test_osm_range_is_expanded(geocoder, settings):
    lat, lon = _osm_address_node(settings, "Linnégatan", "25-27")
    for number in ("25", "27"):
        result = geocoder.geocode(f"Linnégatan {number}")
        assert result.precision == "address"
        assert _distance_m(result.lat, result.lon, lat, lon) < ADDRESS_TOLERANCE_M


# -- ambiguity and context ---------------------------------------------------------------------------------------------
def test_street_in_two_municipalities_is_ambiguous(geocoder):
    with pytest.raises(Ambiguous) as info:
        geocoder.geocode("Storgatan")
    labels = {c.matched for c in info.value.candidates}
    assert labels == {"Storgatan, Stockholm", "Storgatan, Solna"}
    assert all(c.precision == "street" for c in info.value.candidates)


def test_typed_without_diacritics_matches_three_streets(geocoder):
    # "Backvagen" is Backvägen in Lidingö and in Solna, and Bäckvägen in Stockholm.
    with pytest.raises(Ambiguous) as info:
        geocoder.geocode("Backvagen 3")
    assert len(info.value.candidates) == 3


def test_exact_spelling_beats_other_diacritics(geocoder):
    with pytest.raises(Ambiguous) as info:
        geocoder.geocode("Backvägen")  # both Backvägen are exact; Bäckvägen is not
    assert {c.matched for c in info.value.candidates} == {"Backvägen, Lidingö", "Backvägen, Solna"}
    assert geocoder.geocode("Bäckvägen").matched == "Bäckvägen, Stockholm"


@pytest.mark.parametrize(
    ("query", "label"),
    [("Storgatan 5, Solna", "Storgatan, Solna"), ("Storgatan 5, 114 55 Stockholm", "Storgatan, Stockholm"),
     ("Storgatan 5 Östermalm", "Storgatan, Stockholm"), ("Karlavägen 4, Lidingö", "Karlavägen, Lidingö"),
     ("Götgatan 1, 172 00 Sundbyberg", "Götgatan, Sundbyberg"), ("Götgatan 1, Södermalm", "Götgatan, Stockholm")],
)
def test_town_or_postcode_picks_the_street(geocoder, query, label):
    assert geocoder.geocode(query).matched == label


def test_house_number_picks_the_street(geocoder):
    # Karlavägen is also in Lidingö, but house 26 is only in the Östermalm data.
    assert geocoder.geocode("Karlavägen 26").matched == "Karlavägen 26, Stockholm"
    with pytest.raises(Ambiguous):
        geocoder.geocode("Karlavägen 4")


def test_unknown_street_with_postcode_falls_back_to_postcode(geocoder):
    result = geocoder.geocode("Zqxwvgatan 12, 186 00 Vallentuna")
    assert result.precision == "postcode"
    assert result.matched == "186 00 Vallentuna"
    assert "Street not found" in result.note


# -- postcodes, places, coordinates ------------------------------------------------------------------------------------
@pytest.mark.parametrize("query", ["11628", "116 28", "SE-116 28", "116 28 Stockholm"])
def test_postcode_alone(geocoder, query):
    result = geocoder.geocode(query)
    assert result.precision == "postcode"
    assert result.matched == "116 28 Stockholm"
    assert "postal town" in result.note  # GeoNames puts all inner-city postcodes at one point


def test_postcode_point_from_addresses(geocoder):
    # 114 47 appears on Östermalm addresses in the OSM sample, so its point is theirs, not the town centre.
    result = geocoder.geocode("114 47")
    assert result.note is None
    assert _distance_m(result.lat, result.lon, 59.3376, 18.0777) < 300


@pytest.mark.parametrize(
    ("query", "lat", "lon", "tolerance_m"),
    [("Uppsala", 59.86, 17.64, 3000), ("Täby", 59.44, 18.07, 3000), ("Södertälje", 59.20, 17.63, 3000),
     ("Kista", 59.40, 17.945, 1500), ("Södermalm", 59.314, 18.07, 2000), ("sodertalje", 59.20, 17.63, 3000),
     ("Upplands Väsby", 59.52, 17.91, 5000), ("Stockholm", 59.33, 18.06, 3000)],
)
def test_places(geocoder, query, lat, lon, tolerance_m):
    result = geocoder.geocode(query)
    assert result.precision == "place"
    assert _distance_m(result.lat, result.lon, lat, lon) < tolerance_m


@pytest.mark.parametrize("query", ["59.3157, 18.0867", "59.3157 18.0867", "59,3157, 18,0867", "59,3157 18,0867",
                                   "59.3157;18.0867", " 59.3157 , 18.0867 "])
def test_coordinates(geocoder, query):
    result = geocoder.geocode(query)
    assert (result.lat, result.lon, result.precision) == (59.3157, 18.0867, "coordinates")


@pytest.mark.parametrize("query", ["95.0, 18.0", "59.3, 181.5", "-91.0 0.0"])
def test_coordinates_out_of_range(geocoder, query):
    with pytest.raises(InvalidQuery):
        geocoder.geocode(query)


# -- bad input and privacy ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "error"),
    [("", EmptyQuery), ("   ", EmptyQuery), ("\n\t ", EmptyQuery), (", ; -", EmptyQuery),
     ("Fjällgatan 44 " * 800, QueryTooLong), ("x" * 10_000, QueryTooLong), ("Fjäll\x00gatan 44", InvalidQuery),
     ("\x07\x08", InvalidQuery), (b"Fjallgatan 44", InvalidQuery), ("Fjällgatan\ufffd44", InvalidQuery),
     (None, InvalidQuery), ("Zqxwvgatan 12", NotFound), ("Xyzzy", NotFound), ("gatan", NotFound)],
)
def test_bad_queries_raise_geocode_errors(geocoder, query, error):
    with pytest.raises(error) as info:
        geocoder.geocode(query)
    assert isinstance(info.value, GeocodeError)
    message = info.value.user_message
    assert message and "zqxwv" not in message.lower() and "fjäll" not in message.lower()
    assert info.value.__cause__ is None


def test_geocoding_writes_nothing_and_logs_nothing(geocoder, settings, caplog):
    before = {p: p.stat().st_mtime_ns for p in settings.cache_dir.rglob("*")}
    with caplog.at_level("DEBUG"):
        for query in ("Fjällgatan 44, 116 28 Stockholm", "Linnégatan 18", "Zqxwvgatan 12", "Storgatan"):
            try:
                geocoder.geocode(query)
            except GeocodeError:
                pass
    assert {p: p.stat().st_mtime_ns for p in settings.cache_dir.rglob("*")} == before
    assert not any("gatan" in r.getMessage().lower() for r in caplog.records)


def test_lookup_is_fast(geocoder):
    queries = ["Fjällgatan 44", "Fjalgatan 44", "Mariebergsgtan 22", "Linnégatan 18, Stockholm", "Kista", "116 28"]
    times = []
    for query in queries * 20:
        start = time.perf_counter()
        geocoder.geocode(query)
        times.append(time.perf_counter() - start)
    assert statistics.median(times) < 0.005  # seconds; typically well under 1 ms


# -- index and factory -------------------------------------------------------------------------------------------------
def test_missing_index_is_a_clear_error(tmp_path):
    with pytest.raises(CacheError, match="asih prepare"):
        load_geocoder(Settings(cache_dir=tmp_path))


def test_build_is_skipped_when_fresh(settings, geocoder):
    entry = settings.cache_dir / "geocoder"
    stamp = (entry / "manifest.json").stat().st_mtime_ns
    assert build_index(settings, progress=False) == entry
    assert (entry / "manifest.json").stat().st_mtime_ns == stamp


def test_get_geocoder_offline_and_nominatim(settings, geocoder):
    assert get_geocoder(settings).geocode("116 28").precision == "postcode"
    with pytest.raises(GeocoderUnavailable):
        get_geocoder(settings.model_copy(update={"geocoder": "nominatim"}))
    try:
        import geopy  # noqa: F401
    except ImportError:
        with pytest.raises(GeocoderUnavailable, match="geopy"):
            get_geocoder(settings.model_copy(update={"geocoder": "nominatim", "nominatim_url": "http://localhost:1"}))


def test_every_answer_has_a_known_precision(geocoder):
    for query in ("Fjällgatan 44", "Linnégatan 18", "116 28", "Kista", "59.3, 18.1"):
        assert geocoder.geocode(query).precision in PRECISIONS


@hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=320))
def test_arbitrary_text_gives_a_result_or_a_geocode_error(geocoder, text):
    try:
        result = geocoder.geocode(text)
    except Ambiguous as exc:
        assert 2 <= len(exc.candidates) <= 5
    except GeocodeError as exc:
        assert exc.user_message
    else:
        assert result.precision in PRECISIONS
        assert -90 <= result.lat <= 90 and -180 <= result.lon <= 180


def test_street_outside_the_town_given_is_not_answered_silently(geocoder):
    # Fjällgatan is only in Stockholm's data; the referrer wrote Uppsala: offer both rather than guess.
    with pytest.raises(Ambiguous) as info:
        geocoder.geocode("Fjällgatan 44, Uppsala")
    assert [c.precision for c in info.value.candidates] == ["street", "place"]
    assert info.value.candidates[1].matched == "Uppsala"
