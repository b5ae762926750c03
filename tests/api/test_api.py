"""The HTTP API in-process (the real app and prepared state; the live-server tests are in test_browser.py)."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.app import create_app


@pytest.fixture(scope="module")
def client(service, settings):
    with TestClient(create_app(settings, service)) as c:
        yield c


def test_health(client):
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["areas"] == 8 and body["units"] == 15


def test_fjallgatan_lookup(client):
    body = client.post("/v1/lookup", json={"address": "Fjällgatan 44, Stockholm"}).json()
    assert body["area"]["id"] == 4 and body["area"]["district"] == "Södermalm"
    assert body["query"]["precision"] in ("street", "address")
    assert 59.31 < body["query"]["lat"] < 59.32
    units = [e["unit"] for e in body["eligible"]]
    assert "ASIH Ersta Diakoni" in units
    assert all(e["base_precision"] in ("address", "place", "unknown") for e in body["eligible"])
    get = client.get("/v1/lookup", params={"address": "Fjällgatan 44, Stockholm"}).json()
    assert get["eligible"] == body["eligible"]


def test_postcode_only_query(client):
    body = client.get("/v1/lookup", params={"address": "11628"}).json()
    assert body["query"]["precision"] == "postcode"
    assert body["query"]["region"]["basis"] and body["query"]["region"]["width_m"] > 0


def test_typo_finds_the_street_and_asks_to_confirm_it(client):
    asked = client.post("/v1/lookup", json={"address": "Mariebergsgtan 22, Stockholm"}).json()
    assert asked["query"]["matched"].startswith("Mariebergsgatan")
    assert asked["area"]["status"] == "uncertain" and asked["eligible"] == []
    assert [c["token"] for c in asked["area"]["choices"]] == ["confirm"]
    assert asked["area"]["choices"][0]["area_id"] == 5
    body = client.post("/v1/lookup", json={"address": "Mariebergsgtan 22, Stockholm", "choice": "confirm"}).json()
    assert body["area"]["status"] == "certain" and body["area"]["id"] == 5


@pytest.mark.parametrize("address", ["Uppsala", "Kungsgatan 5, 753 21 Uppsala", "Fjällgatan 44, Uppsala"])
def test_uppsala_is_outside_the_county(client, address):
    body = client.post("/v1/lookup", json={"address": address}).json()
    assert body["area"]["status"] == "outside" and body["area"]["id"] is None and body["eligible"] == []
    first = body["warnings"][0]
    assert first["code"] == "outside_county" and first["severity"] == "decisive"
    assert "Uppsala" in first["message"]


def test_coordinates_lookup(client):
    body = client.get("/v1/lookup", params={"lat": 59.4440, "lon": 18.0690}).json()
    assert body["area"]["id"] == 8 and body["query"]["precision"] == "coordinates"


@pytest.mark.parametrize(
    "payload",
    [{"address": ""}, {"address": "   "}, {"address": "a" * 10_000}, {"address": "\x00\x01\x02binary"}, {}],
)
def test_bad_input_is_422_with_detail(client, payload):
    r = client.post("/v1/lookup", json=payload)
    assert r.status_code == 422 and r.json()["detail"]


def test_binary_body_is_4xx(client):
    r = client.post("/v1/lookup", content=bytes(range(256)) * 40, headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500 and r.json()["detail"]


def test_street_in_two_areas_asks_and_one_click_answers(client):
    # Storgatan is on Östermalm (area 5) and in Solna (area 6), both in the postal town Stockholm: no area's units
    # are presented as the answer.
    body = client.post("/v1/lookup", json={"address": "Storgatan, Stockholm"}).json()
    area = body["area"]
    assert area["status"] == "uncertain" and {a["id"] for a in area["possible"]} == {5, 6}
    assert body["eligible"] == [] and body["reachable_not_approved"] == []
    assert body["warnings"][0]["code"] == "area_uncertain" and body["warnings"][0]["severity"] == "decisive"
    assert "house_number" in area["decide_by"]
    choice = next(c for c in area["choices"] if c["area_id"] == 6)
    chosen = client.post("/v1/lookup", json={"address": "Storgatan, Stockholm", "choice": choice["token"]}).json()
    assert chosen["area"]["status"] == "certain" and chosen["area"]["id"] == 6
    assert chosen["area"]["municipality"] == "Solna" and chosen["eligible"]
    bad = client.post("/v1/lookup", json={"address": "Storgatan, Stockholm", "choice": "borough:Farsta"})
    assert bad.status_code == 422 and "choice" in bad.json()["detail"]


@pytest.mark.parametrize(
    ("address", "area"),
    [("Riddarplatsen 7, 177 30 Järfälla", 7), ("Hässelby torg 10, 165 55 Hässelby", 6),
     ("Drottningholmsvägen 200, 168 73 Bromma", 6), ("Storgatan 10, 151 72 Södertälje", 1),
     ("Allévägen 10, 186 30 Vallentuna", 8), ("Sjödalsvägen 4, 141 47 Huddinge", 3), ("Jakobsberg", 7)],
)
def test_issue_addresses_get_their_area(client, service, address, area):
    body = client.post("/v1/lookup", json={"address": address}).json()
    assert body["area"]["status"] == "certain" and body["area"]["id"] == area, body["query"]
    approved = {u.id for u in service.registry.units if area in u.areas}
    assert {e["id"] for e in body["eligible"]} == approved
    assert body["basis"]["summary"].startswith("'Within 30 min' rests on")


@pytest.mark.parametrize("address", ["Sickla kaj 5, 120 67 Stockholm", "Stockholm", "Johanneshov", "118 20"])
def test_issue_addresses_never_get_a_wrong_area(client, address):
    # Each is in area 4 or 3 (Sickla kaj, 118 20: Södermalm; Johanneshov: Enskede-Årsta-Vantör and Södermalm's edge);
    # the answer is that area or an honest choice containing it — never area 5 with certainty.
    body = client.post("/v1/lookup", json={"address": address}).json()
    if body["area"]["status"] == "certain":
        assert body["area"]["id"] in (3, 4)
    else:
        assert body["area"]["status"] == "uncertain" and body["area"]["choices"]


def test_street_without_town_is_confirmed_first(client):
    asked = client.post("/v1/lookup", json={"address": "Fjällgatan 44"}).json()
    assert asked["area"]["status"] == "uncertain" and len(asked["area"]["possible"]) == 8
    assert asked["area"]["decide_by"] == ["confirm", "town_or_postcode"]
    confirmed = client.post("/v1/lookup", json={"address": "Fjällgatan 44", "choice": "confirm"}).json()
    assert confirmed["area"]["id"] == 4 and confirmed["eligible"]


def test_spelling_correction_is_said(client):
    body = client.post("/v1/lookup", json={"address": "Mariebergsgtan 22", "lang": "sv"}).json()
    assert body["query"]["corrected_from"] == "Mariebergsgtan"
    assert body["query"]["matched"].startswith("Mariebergsgatan")
    assert any(w["code"] == "spelling_corrected" for w in body["warnings"])


def test_lookup_answers_are_not_cached(client):
    r = client.post("/v1/lookup", json={"address": "Täby"})
    assert r.headers["cache-control"] == "no-store" and r.headers["x-content-type-options"] == "nosniff"


def test_unknown_ids_are_404(client):
    assert client.get("/v1/areas/9").status_code == 404
    r = client.get("/v1/providers/nobody")
    assert r.status_code == 404 and "Known ids" in r.json()["detail"]
    assert client.get("/v1/isochrones/nobody").status_code == 404


def test_area_geojson(client):
    f = client.get("/v1/areas/1").json()
    assert f["type"] == "Feature" and f["properties"]["provenance"] == "confirmed"
    lon, lat = f["geometry"]["coordinates"][0][0][0] if f["geometry"]["type"] == "MultiPolygon" else f["geometry"]["coordinates"][0][0]
    assert 17 < lon < 19 and 58.5 < lat < 60


def test_batch_json_and_csv(client):
    r = client.post("/v1/lookup/batch", json=[{"address": "Täby"}, {"lat": 59.1955, "lon": 17.6253}, {"address": "qqqxxzz"}])
    body = r.json()
    assert body["rows"] == 3 and body["ok"] == 2 and body["failed"] == 1
    assert body["results"][1]["result"]["area"]["id"] == 1
    assert body["results"][2]["error"]
    csv_body = "address\nFjällgatan 44, Stockholm\n\x01\n"
    r = client.post("/v1/lookup/batch", content=csv_body.encode(), headers={"content-type": "text/csv"})
    assert r.json()["ok"] == 1 and r.json()["results"][1]["error"]


def test_batch_limits(client, settings):
    too_many = [{"lat": 59.3, "lon": 18.0}] * (settings.batch_max_rows + 1)
    r = client.post("/v1/lookup/batch", json=too_many)
    assert r.status_code == 413 and "at most" in r.json()["detail"]
    assert client.post("/v1/lookup/batch", json=[]).status_code == 422
    assert client.post("/v1/lookup/batch", content=b"x", headers={"content-type": "image/png"}).status_code == 415


def test_isochrone_geojson(client):
    f = client.get("/v1/isochrones/sodertalje-sjukhus", params={"minutes": 10}).json()["features"][0]
    assert f["properties"]["base_precision"] == "address" and f["properties"]["area_km2"] > 10
    assert f["geometry"]["type"] in ("Polygon", "MultiPolygon")
    # Coordinates in degrees at 6 decimals (≈ 0.1 m), the same as the CLI's dict path writes.
    rings = f["geometry"]["coordinates"] if f["geometry"]["type"] == "Polygon" else f["geometry"]["coordinates"][0]
    lon, lat = np.array(rings[0]).T
    assert 17.0 < lon.min() < lon.max() < 18.5 and 58.8 < lat.min() < lat.max() < 59.5
    assert np.array_equal(np.round(lon, 6), lon) and np.array_equal(np.round(lat, 6), lat)


def test_isochrone_answer_is_the_cli_collection(client, service):
    """The API writes geometries with GEOS (issue 24); the content is the CLI's dict collection, exactly."""
    import json

    from routing.isochrones import unit_isochrones

    body = client.get("/v1/isochrones/stockholms-sjukhem", params={"minutes": "10,20", "shape": "rings"}).json()
    unit = service.registry.get("stockholms-sjukhem")
    cli = unit_isochrones(service.settings, service.network, service.areas, service.eligibility.trees, unit,
                          [10, 20], "rings", "outbound")
    assert body == json.loads(json.dumps(cli))


def test_audit_and_choice_endpoints(client):
    rows = client.get("/v1/audit").json()
    assert {"unit", "area_id", "population_share", "land_share", "road_share", "verdict", "gap_population",
            "base_precision"} <= set(rows[0])
    one = client.get("/v1/audit/byle-gard-fc", params={"gaps": True}).json()
    assert any(r["area_id"] == 2 and r["verdict"] == "unsupported" for r in one["rows"])
    assert one["gaps"]["features"]
    choice = client.get("/v1/choice").json()
    assert choice["county"]["population"] == 2_430_658


def test_lookup_bodies_follow_the_schema(client):
    """The lookup routes skip response validation for speed; the contract is checked here instead."""
    from api.schemas import LookupOut

    for params in ({"address": "Fjällgatan 44, Stockholm"}, {"lat": 59.7580, "lon": 18.7040}, {"address": "Uppsala"},
                   {"address": "Stockholm"}, {"address": "Mariebergsgtan 22", "lang": "sv"}, {"address": "177 30"},
                   {"address": "Stockholm", "choice": "borough:Bromma"},
                   {"address": "Storgatan, Stockholm", "choice": "municipality:0184"}):
        LookupOut.model_validate(client.get("/v1/lookup", params=params).json())


def test_lookup_shows_free_places_and_uses_the_approvals_of_the_day(service, settings, tmp_path):
    import datetime as dt

    from registry.service import RegistryService, cli_actor

    own = {"registry_url": f"sqlite:///{tmp_path / 'registry.sqlite3'}", "registry_secret_file": tmp_path / "secret"}
    live = RegistryService.from_settings(settings.model_copy(update=own))  # this test's registry only
    app = create_app(settings, service)
    app.state.registry = live
    with TestClient(app) as client:
        _free_places_and_dated_approvals(client, live, cli_actor, dt)


def _free_places_and_dated_approvals(client, live, cli_actor, dt):
    live.set_availability(cli_actor(), "ersta-diakoni", 3, "två team")
    body = client.post("/v1/lookup", json={"address": "Fjällgatan 44, Stockholm"}).json()
    ersta = next(e for e in body["eligible"] if e["id"] == "ersta-diakoni")
    assert ersta["availability"]["free_places"] == 3 and not ersta["availability"]["stale"]
    assert 0 <= ersta["availability"]["age_s"] < 120
    others = [e["availability"] for e in body["eligible"] if e["id"] != "ersta-diakoni"]
    assert all(a is None or a["free_places"] is None for a in others)  # never reported: no number shown

    # Rehabhotellet (area 5 only) approved for area 4 from tomorrow: not eligible on Södermalm today, eligible then.
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    live.add_approval(cli_actor(), "rehabhotellet", 4, tomorrow)
    today = client.post("/v1/lookup", json={"address": "Fjällgatan 44, Stockholm"}).json()
    then = client.post("/v1/lookup", json={"address": "Fjällgatan 44, Stockholm", "date": tomorrow.isoformat()}).json()
    assert "rehabhotellet" not in [e["id"] for e in today["eligible"]]
    assert "rehabhotellet" in [e["id"] for e in then["eligible"]]


def test_json_bytes_writes_what_the_encoder_wrote():
    """Heavy answers skip FastAPI's encoder walk (issue 24) but keep its bytes, dates and odd keys included."""
    import datetime

    from fastapi.encoders import jsonable_encoder
    from fastapi.responses import JSONResponse

    from api.executor import json_bytes

    for content in ({"a": 1, "b": [1.5, None, True, "Södertälje"], "day": datetime.date(2026, 1, 2), 3: (4, 5)},
                    [{"when": datetime.datetime(2026, 1, 1, 12)}], {datetime.date(2026, 1, 1): 1}):
        assert json_bytes(content) == JSONResponse(jsonable_encoder(content)).body
