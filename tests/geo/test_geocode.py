"""The offline geocoder on the real raw data (index built once per session into a temporary cache).

Coordinates are WGS84 degrees; distances are metres in EPSG:3006.
"""

from __future__ import annotations

import math
import statistics
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from geo.boundaries import load_boroughs
from core.cache import CacheError
from core.crs import to_metric
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
from core.settings import Settings

SODERMALM_BOX = ((59.313, 59.318), (18.07, 18.10))
"""Fjällgatan lies on the northern cliff of Södermalm: (lat range, lon range) in degrees."""
ADDRESS_TOLERANCE_M = 30.0


@pytest.fixture(scope="session")
def settings(tmp_path_factory) -> Settings:
    return Settings(cache_dir=tmp_path_factory.mktemp("geocode-cache"))


@pytest.fixture(scope="session")
def units():
    from geo.areas.model import load_area_model
    from geo.areas.units import AdminUnits
    from core.settings import get_settings

    return AdminUnits(load_area_model(get_settings()))


@pytest.fixture(scope="session")
def geocoder(settings, units):
    build_index(settings, progress=False)
    return load_geocoder(settings, units=units)


def _codes(result: GeocodeResult) -> set[str]:
    return {n.code for n in result.notes}


def _region_tokens(units, result: GeocodeResult) -> set[str]:
    """The boroughs (Stockholm) or municipalities every point of the result's region lies in."""
    xy = np.array(result.region.points)
    mun, borough, _ = units.at(xy[:, 0], xy[:, 1])
    return {f"borough:{b}" if b else f"municipality:{m}" for m, b in zip(mun, borough)}


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
def test_fjallgatan_is_on_sodermalm(geocoder, units, query):
    result = geocoder.geocode(query)
    assert result.precision == "street"  # 44 is not in the offline data
    assert result.matched.startswith("Fjällgatan")
    assert _in_box(result, SODERMALM_BOX)
    assert "house_number_not_found" in _codes(result)
    assert result.region.kind == "street" and _region_tokens(units, result) == {"borough:Södermalm"}
    assert 0 < result.region.width_m < 1000


@pytest.mark.parametrize("query", ["Fjalgatan 44", "fjälgatan 44", "Fjällgtan 44, Stockholm"])
def test_small_typos_are_corrected_and_said(geocoder, query):
    result = geocoder.geocode(query)
    assert result.matched.startswith("Fjällgatan")
    assert _in_box(result, SODERMALM_BOX)
    assert result.score < 100 and result.corrected_from is not None
    assert "spelling_corrected" in _codes(result)


def test_missing_diacritics_are_not_a_correction(geocoder):
    result = geocoder.geocode("Fjallgatan 44")
    assert result.matched.startswith("Fjällgatan") and result.corrected_from is None


@pytest.mark.parametrize("query", ["Skärholmsvägen 2", "Västerlånggatan 50", "Stora Nygatan"])
def test_a_different_street_is_never_substituted(geocoder, query):
    # Issue 10: these became Kanholmsvägen/Kvarnholmsvägen, Västeråsgatan and Storängsgatan. Not in the offline data
    # and no town given: the honest answer is "not found", never another street.
    try:
        result = geocoder.geocode(query)
    except NotFound:
        return
    typed = query.rsplit(" ", 1)[0] if query[-1].isdigit() else query
    assert result.matched.startswith(typed), result.matched


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
    assert "entrance_letter_not_found" in _codes(geocoder.geocode("Linnégatan 16 B"))


def test_osm_range_is_expanded(geocoder, settings):
    lat, lon = _osm_address_node(settings, "Linnégatan", "25-27")
    for number in ("25", "27"):
        result = geocoder.geocode(f"Linnégatan {number}")
        assert result.precision == "address"
        assert _distance_m(result.lat, result.lon, lat, lon) < ADDRESS_TOLERANCE_M


# -- regions and context -----------------------------------------------------------------------------------------------
def test_street_in_two_municipalities_keeps_both_parts(geocoder, units):
    result = geocoder.geocode("Storgatan")
    assert result.precision == "street" and "2 places" in result.matched
    assert _region_tokens(units, result) == {"borough:Östermalm", "municipality:0184"}


def test_without_diacritics_every_same_named_street_stays_possible(geocoder, units):
    # "Backvagen" is Backvägen in Lidingö and in Solna, and Bäckvägen in Stockholm: none is dropped silently.
    result = geocoder.geocode("Backvagen 3")
    assert len(_region_tokens(units, result)) >= 2


@pytest.mark.parametrize(
    ("query", "token"),
    [("Storgatan 5, Solna", "municipality:0184"), ("Storgatan 5, 114 55 Stockholm", "borough:Östermalm"),
     ("Storgatan 5 Östermalm", "borough:Östermalm"), ("Karlavägen 4, Lidingö", "municipality:0186"),
     ("Götgatan 1, 172 00 Sundbyberg", "municipality:0183"), ("Götgatan 1, Södermalm", "borough:Södermalm")],
)
def test_town_or_postcode_limits_the_street_to_it(geocoder, units, query, token):
    result = geocoder.geocode(query)
    assert result.precision in ("street", "address")
    assert _region_tokens(units, result) == {token}, result.matched


def test_house_number_picks_the_street(geocoder):
    # Karlavägen is also in Lidingö, but house 26 is only in the Östermalm data.
    result = geocoder.geocode("Karlavägen 26")
    assert result.matched == "Karlavägen 26, Stockholm" and result.precision == "address"
    assert result.region.width_m == 0


@pytest.mark.parametrize(
    ("query", "token"),
    [("Riddarplatsen 7, 177 30 Järfälla", "municipality:0123"),
     ("Zqxwvgatan 12, 186 00 Vallentuna", "municipality:0115"),
     ("Hässelby torg 10, 165 55 Hässelby", "borough:Hässelby-Vällingby"),
     ("Drottningholmsvägen 200, 168 73 Bromma", "borough:Bromma"),
     ("Jakobsberg", "municipality:0123"), ("Åkersberga", "municipality:0117"), ("Märsta", "municipality:0191"),
     ("Tumba", "municipality:0127")],
)
def test_the_town_given_bounds_the_answer(geocoder, units, query, token):
    result = geocoder.geocode(query)
    if result.region.units:
        assert all(units.contains(token, t) for t in result.region.units), result.region.units
    else:
        assert all(units.contains(token, t) for t in _region_tokens(units, result)), _region_tokens(units, result)


def test_unknown_street_in_a_known_town_says_so(geocoder):
    result = geocoder.geocode("Zqxwvgatan 12, 186 00 Vallentuna")
    assert result.precision in ("postcode", "postal_town")
    assert "street_not_found" in _codes(result)


@pytest.mark.parametrize("query", ["Kungsgatan 5, 753 21 Uppsala", "Fjällgatan 44, Uppsala", "Uppsala",
                                   "Storgatan 1, Enköping", "Västerås", "753 21"])
def test_a_place_outside_the_county_is_an_outside_answer(geocoder, query):
    result = geocoder.geocode(query)
    assert result.outside and "Outside Stockholm County" in result.outside.message


# -- postcodes, places, coordinates ------------------------------------------------------------------------------------
@pytest.mark.parametrize("query", ["11628", "116 28", "SE-116 28", "116 28 Stockholm"])
def test_postcode_alone(geocoder, query):
    result = geocoder.geocode(query)
    assert result.precision == "postcode"
    assert result.matched.startswith("116 28")
    assert result.region.points or result.region.units


def test_postcode_from_register_addresses(geocoder, units):
    # 114 47 appears on Östermalm addresses in the OSM sample: the region is those addresses.
    result = geocoder.geocode("114 47")
    assert result.region.kind == "postcode" and result.region.points
    assert _region_tokens(units, result) == {"borough:Östermalm"}


def test_geonames_point_outside_its_own_town_is_not_used(geocoder, units):
    # GeoNames puts 177 xx Järfälla in Bromma: the answer must lie in Järfälla.
    result = geocoder.geocode("177 30")
    x, y = to_metric(result.lat, result.lon)
    assert "municipality:0123" in units.tokens_at(float(x), float(y))


@pytest.mark.parametrize(
    ("query", "tokens"),
    [("Täby", {"municipality:0160"}), ("Södertälje", {"municipality:0181"}), ("sodertalje", {"municipality:0181"}),
     ("Kista", {"borough:Rinkeby-Kista"}), ("Södermalm", {"borough:Södermalm"}), ("Bromma", {"borough:Bromma"})],
)
def test_places(geocoder, units, query, tokens):
    result = geocoder.geocode(query)
    assert result.precision in ("postal_town", "district", "municipality")
    assert set(result.region.units) == tokens
    x, y = to_metric(result.lat, result.lon)
    assert set(units.tokens_at(float(x), float(y))) & tokens  # the likely point lies in the place


def test_stockholm_alone_covers_many_boroughs(geocoder):
    assert len(geocoder.geocode("Stockholm").region.units) >= 4


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
def test_missing_index_is_a_clear_error(tmp_path, units):
    with pytest.raises(CacheError, match="asih prepare"):
        load_geocoder(Settings(cache_dir=tmp_path), units=units)


def test_build_is_skipped_when_fresh(settings, geocoder):
    entry = settings.cache_dir / "geocoder"
    stamp = (entry / "manifest.json").stat().st_mtime_ns
    assert build_index(settings, progress=False) == entry
    assert (entry / "manifest.json").stat().st_mtime_ns == stamp


def test_get_geocoder_offline_and_nominatim(settings, geocoder, units):
    assert get_geocoder(settings, units=units).geocode("116 28").precision == "postcode"
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
        assert result.region is not None
        if not result.outside:
            assert -90 <= result.lat <= 90 and -180 <= result.lon <= 180


def test_two_corrections_equally_close_are_offered_not_chosen(geocoder):
    # "Svavägen" is one letter from Svalvägen (Lidingö) and from Sveavägen (Stockholm): neither is picked.
    with pytest.raises(Ambiguous) as info:
        geocoder.geocode("Svavägen 30")
    assert {c.matched for c in info.value.candidates} == {"Svalvägen, Lidingö", "Sveavägen, Stockholm"}
    assert all(c.precision == "street" and c.corrected_from == "Svavägen" for c in info.value.candidates)


def test_register_postcodes_lie_in_their_own_postal_town(geocoder, units):
    # Registers carry an organisation's office postcode on all its sites; such a postcode must not define the
    # postcode's area. Every register point kept for a postcode lies in that postcode's postal town.
    towns = geocoder.context.postal_towns
    checked = 0
    for key, pc in geocoder.index.postcodes.items():
        town = towns.get(pc.town) if pc.town else None
        if town is None or not len(pc.xy):
            continue
        mun, borough, _ = units.at(pc.xy[:, 0], pc.xy[:, 1])
        for m, b in zip(mun, borough):
            assert m in town.municipality_codes, (key, pc.town, m)
            if m == "0180" and town.boroughs:
                assert b in town.boroughs, (key, pc.town, b)
        checked += 1
    assert checked > 300


@pytest.mark.parametrize("query,town", [("Täby centrum", "Täby"), ("Kista C", "Kista"), ("handen centrum", "Handen")])
def test_a_town_centre_answers_for_the_whole_town_and_says_so(service, query, town):
    """The data has towns, not their centres: "Täby centrum" is answered as all of Täby (never as one point), with a
    caution, instead of the error an unknown street gets."""
    answer = service.lookup(address=query, lang="sv")
    assert answer["query"]["precision"] == "postal_town" and answer["query"]["matched"] == town
    [note] = [w for w in answer["warnings"] if w["code"] == "centre_not_in_data"]
    assert note["severity"] == "caution" and note["params"] == {"place": query.rsplit(" ", 1)[0]}
    assert note["message"] == f"Centrum i {query.rsplit(' ', 1)[0]} finns inte i datat; svaret gäller hela " \
                              f"{query.rsplit(' ', 1)[0]}."
    assert answer == service.lookup(address=query, lang="sv") and answer["query"]["region"]["width_m"] > 1000
    with pytest.raises(NotFound):
        service.lookup(address="Qwxzy centrum")
