"""The HTTP API in-process (the real app and prepared state; the live-server tests are in test_browser.py)."""

from __future__ import annotations

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
    assert body["warnings"]  # says the point is only the postcode's centre


def test_typo_still_finds_the_street(client):
    body = client.post("/v1/lookup", json={"address": "Mariebergsgtan 22, Stockholm"}).json()
    assert body["query"]["matched"].startswith("Mariebergsgatan")
    assert body["area"]["id"] == 5


def test_uppsala_is_outside_the_county(client):
    body = client.post("/v1/lookup", json={"address": "Uppsala"}).json()
    assert body["area"]["id"] is None and body["eligible"] == []
    assert any("Outside Stockholm County" in w for w in body["warnings"])


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


def test_ambiguous_query_lists_candidates(client):
    r = client.get("/v1/lookup", params={"address": "Storgatan"})
    assert r.status_code == 422
    assert len(r.json()["detail"]["candidates"]) >= 2


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
    f = client.get("/v1/isochrones/sodertalje-sjukhus", params={"minutes": 10}).json()
    assert f["properties"]["base_precision"] == "address" and f["properties"]["area_km2"] > 10
    assert f["geometry"]["type"] in ("Polygon", "MultiPolygon")


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

    for params in ({"address": "Fjällgatan 44, Stockholm"}, {"lat": 59.7580, "lon": 18.7040}, {"address": "Uppsala"}):
        LookupOut.model_validate(client.get("/v1/lookup", params=params).json())
