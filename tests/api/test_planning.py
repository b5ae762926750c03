"""Base siting over HTTP (`GET /v1/units/{unit}/suggest-bases`) and the `asih suggest-bases` command."""

from __future__ import annotations

import json

import pytest
import typer
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli import planning as planning_cli
from api.executor import HeavyExecutor
from api.routes import planning


@pytest.fixture(scope="module")
def client(service):
    app = FastAPI()
    app.include_router(planning.router)
    app.state.service = service
    # The app's own executor, in threads: this module's app shares the session's service (no fork of a test run).
    app.state.heavy = HeavyExecutor(workers=1, processes=False)
    yield TestClient(app)
    app.state.heavy.close()


@pytest.fixture(scope="module")
def answer(client):
    response = client.get("/v1/units/syd-aleris/suggest-bases", params={"count": 1})
    assert response.status_code == 200, response.text
    return response.json()


def test_one_new_base_for_syd_aleris(answer):
    most = answer["most_people"]
    assert most["unit"] == "ASIH Syd Aleris" and most["profile"] == "typical" and most["count"] == 1
    [site] = most["sites"]
    assert site["where"] == "Södertälje" and site["deso"].startswith("0181")
    assert 59.1 < site["lat"] < 59.3 and 17.5 < site["lon"] < 17.8
    area1 = next(a for a in most["areas"] if a["area_id"] == 1)
    assert area1["area_name"] == "Södertälje" and area1["population"] == 132_077
    assert area1["profiles"]["typical"]["verdict_before"] == "unsupported"
    assert area1["profiles"]["typical"]["verdict_after"] == "supported"
    assert area1["profiles"]["free_flow"]["share_after"] > area1["profiles"]["peak"]["share_after"]


def test_fewest_bases_answer(answer):
    fewest = answer["fewest_for_supported"]
    assert fewest["target_met"] is True and fewest["proven_fewest"] is True and fewest["out_of_reach"] == []
    assert all(a["profiles"]["typical"]["share_after"] >= 0.95 for a in fewest["areas"])
    assert fewest["count"] >= answer["most_people"]["count"]


@pytest.mark.parametrize(
    ("path", "status", "detail"),
    [("/v1/units/nobody/suggest-bases", 404, "Unknown provider unit"),
     ("/v1/units/syd-aleris/suggest-bases?count=0", 422, None),
     ("/v1/units/syd-aleris/suggest-bases?count=9", 422, None),
     ("/v1/units/syd-aleris/suggest-bases?profile=rush", 422, None)],
)
def test_bad_requests(client, path, status, detail):
    response = client.get(path)
    assert response.status_code == status
    if detail:
        assert detail in response.json()["detail"]


def test_the_planner_is_built_once_per_profile_and_limit(client, service):
    client.get("/v1/units/byle-gard-fc/suggest-bases", params={"count": 2})
    today = service.approvals_on()
    assert ("planner", id(service), "typical", 1800.0, today) in planning._KEPT
    assert ("planner", id(service), "peak", 1800.0, today) not in planning._KEPT
    built = planning._planner(service, "typical", 1800.0, today)
    assert planning._planner(service, "typical", 1800.0, today) is built  # kept, not built again


def test_cli_suggest_bases(service, monkeypatch):
    from lookup.service import Service

    monkeypatch.setattr(Service, "load", classmethod(lambda cls, *a, **k: service))
    app = typer.Typer()
    for name, fn in planning_cli.COMMANDS.items():
        app.command(name)(fn)
    result = CliRunner().invoke(app, ["suggest-bases", "syd-aleris", "--count", "2", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["most_people"]["count"] == 2 and doc["most_people"]["sites"][0]["where"] == "Södertälje"
    text = CliRunner().invoke(app, ["suggest-bases", "syd-aleris"]).stdout
    assert "Södertälje" in text and "unsupported" in text and max(len(x) for x in text.splitlines()) <= 80
    bad = CliRunner().invoke(app, ["suggest-bases", "syd-aleris", "--profile", "rush"])
    assert bad.exit_code == 2 and "--profile must be one of" in bad.stderr


def test_audit_over_http_has_every_profile_and_what_it_rests_on(client):
    body = client.get("/v1/planning/audit", params={"unit": "sodertalje-sjukhus"}).json()
    [row] = body["rows"]
    assert row["area_name"] == "Södertälje" and row["summary"].endswith("at risk at peak")
    assert {p: v["verdict"] for p, v in row["profiles"].items()} == {
        "free_flow": "supported", "typical": "supported", "peak": "at risk"}
    meta = body["meta"]
    assert meta["limit_minutes"] == 30 and meta["profiles"] == ["free_flow", "typical", "peak"]
    assert meta["targets"] == {"typical": 0.28, "peak": 0.725}
    assert meta["bases"] == {"address": 3, "place": 7, "unknown": 6}
    assert meta["versions"]["providers"] and len(meta["network"]["checksum"]) == 64
    peak = client.get("/v1/planning/audit", params={"profile": "peak", "area": 1}).json()
    assert {r["unit_id"] for r in peak["rows"]} == {"syd-aleris", "sodertalje-sjukhus"}
    assert all(list(r["profiles"]) == ["peak"] for r in peak["rows"])
    assert client.get("/v1/planning/audit", params={"profile": "rush"}).status_code == 422
    assert client.get("/v1/planning/audit", params={"unit": "nobody"}).status_code == 404


def test_audit_downloads_for_excel(client):
    from io import BytesIO

    from openpyxl import load_workbook

    csv = client.get("/v1/planning/audit", params={"unit": "sodertalje-sjukhus", "format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.content.startswith(b"\xef\xbb\xbfEnhet;Enhets-id;Omr\xc3\xa5de;")
    assert ";94,01;i riskzonen;" in csv.content.decode("utf-8-sig")
    xlsx = client.get("/v1/planning/audit", params={"unit": "sodertalje-sjukhus", "format": "xlsx", "lang": "en"})
    assert 'filename="audit.xlsx"' in xlsx.headers["content-disposition"]
    ws = load_workbook(BytesIO(xlsx.content))["audit"]
    assert ws["A1"].value == "Unit" and ws["A2"].value == "ASIH Södertälje sjukhus" and ws.freeze_panes == "A2"


def test_what_if_over_http(client):
    body = client.post("/v1/planning/what-if", json={"add": ["byle-gard-fc=59.7580,18.7040"],
                                                    "profile": "typical"}).json()
    area2 = next(r for r in body["rows"] if r["area_id"] == 2)
    assert area2["area_name"] == "Norrtälje" and area2["profile"] == "typical"
    assert area2["population_share_before"] == 0.0 < 0.5 < area2["population_share_after"]
    assert body["meta"]["profiles"] == ["typical"]
    bad = client.post("/v1/planning/what-if", json={"move": ["syd-aleris=Norrtälje"]})
    assert bad.status_code == 422 and "known only to within" in bad.json()["detail"]
    assert client.post("/v1/planning/what-if", json={}).status_code == 422  # no change given
    assert client.post("/v1/planning/what-if", json={"move": ["syd-aleris=999,999"]}).status_code == 422
