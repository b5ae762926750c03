"""Saved what-if scenarios (``registry/scenarios.py``, ``/v1/scenarios``, ``asih scenario``) on SQLite and PostgreSQL.

A contract manager saves a what-if with a name; it is kept immutable, in the change log, listed and reopened by id;
its stored body is checked with the limits of ``POST /v1/whatif``; over HTTP a save needs a manager's token and is
computed first by the what-if engine, whose day and profile it stores. The CLI prints a scenario's PDF with the
figures ``POST /v1/whatif`` gives for its body.
"""

from __future__ import annotations

import copy
import json

import pypdfium2 as pdfium
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from typer.testing import CliRunner

from api.app import create_app
from api.exports import floor_share
from geo.providers import read_registry
from core.settings import Settings
from api.auth import FailureLimiter
from registry.scenarios import Scenarios
from registry.service import Forbidden, Invalid, NotFound, today
from tests.registry.conftest import PROVIDERS_YAML

SYD_ALERIS = "syd-aleris"  # one base (Handen); approved for areas 1, 3, 4 in data/providers.yaml
TOWARD_SODERTALJE = {"base": 0, "lat": 59.19, "lon": 17.70}
VERDICTS = {"supported": "stöds", "at risk": "i riskzonen", "unsupported": "stöds inte"}
BODY = {"unit": SYD_ALERIS, "move": [TOWARD_SODERTALJE], "add": [], "remove": [], "date": "2026-12-07",
        "profile": "peak"}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# -- the registry ------------------------------------------------------------------------------------------------------
def test_a_manager_saves_a_scenario_that_is_listed_reopened_and_logged(svc, users, clock):
    scenarios = Scenarios.of(svc)
    manager = users["manager"]["actor"]
    saved = scenarios.save(manager, "  Syd Aleris:\tbasen   mot Södertälje ", BODY)
    expected = {
        "id": saved["id"], "name": "Syd Aleris: basen mot Södertälje", "unit": SYD_ALERIS,
        "unit_name": "ASIH Syd Aleris", "date": "2026-12-07", "profile": "peak", "changes": 1,
        "saved_at": clock.now.isoformat(), "saved_by": "Test manager", "saved_by_id": manager.id,
        "whatif": {"unit": SYD_ALERIS, "move": [{"base": 0, "lat": 59.19, "lon": 17.7}], "add": [], "remove": [],
                   "date": "2026-12-07", "profile": "peak"},
    }
    assert saved == expected
    assert scenarios.get(saved["id"]) == expected

    log = svc.changes(limit=1)[0]
    assert (log["action"], log["entity"], log["actor"], log["before"]) == (
        "scenario.save", f"scenario:{saved['id']}", f"user {manager.id} (Test manager)", None)
    assert log["after"] == expected and log["at"] == clock.now.isoformat()

    # Saving again is a new scenario (an admin, an addition and a removal); the list is newest first.
    clock.advance(minutes=5)
    second = scenarios.save(users["admin"]["actor"], "Två baser", {
        "unit": "stockholms-sjukhem", "add": [{"lat": 59.30, "lon": 18.30}], "remove": [1], "date": "2027-01-01",
        "profile": "typical"})
    assert second["id"] == saved["id"] + 1 and second["changes"] == 2 and second["saved_by"] == "Test admin"
    assert second["whatif"]["move"] == [] and second["whatif"]["remove"] == [1]
    listed = scenarios.list()
    assert [s["id"] for s in listed] == [second["id"], saved["id"]]
    assert listed[1] == {k: v for k, v in expected.items() if k != "whatif"}
    assert [s["id"] for s in scenarios.list(unit=SYD_ALERIS)] == [saved["id"]]
    assert scenarios.list(unit="no-such-unit") == [] and scenarios.list(unit="\x00") == []
    for missing in (saved["id"] + 2, 0, -1, 2**31, True, "1"):
        with pytest.raises(NotFound):
            scenarios.get(missing)


def test_only_contract_managers_and_admins_save(svc, users):
    scenarios = Scenarios.of(svc)
    with pytest.raises(Forbidden, match="Only contract managers or admins may save scenarios"):
        scenarios.save(users["provider"]["actor"], "Mitt", BODY)
    assert scenarios.list() == [] and svc.changes(limit=1)[0]["action"] == "user.add"


@pytest.mark.parametrize("change, message", [
    ({"add": [{"lat": 59.3 + k / 100, "lon": 18.0} for k in range(6)]},
     "At most 5 changes at a time (moves, additions and removals together); this scenario has 6."),
    ({"move": [{"base": 0, "lat": 91.0, "lon": 18.0}]}, "move[0]: Latitude 91.0 is outside -90..90 degrees."),
    ({"add": [{"lat": 59.3, "lon": 181}]}, "add[0]: Longitude 181.0 is outside -180..180 degrees."),
    ({"add": [{"lat": "59.3", "lon": 18}]}, "add[0]: lat and lon must be numbers (WGS84 degrees)."),
    ({"add": [{"lat": float("nan"), "lon": 18}]}, "add[0]: Latitude and longitude must be finite numbers."),
    ({"move": [{"base": 1, "lat": 59.3, "lon": 18.0}]}, "move[0]: ASIH Syd Aleris has one base (index 0)."),
    ({"move": [{"base": 0, "lat": 59.3}]}, "move[0]: give exactly base, lat, lon."),
    ({"remove": [0], "move": [{"base": 0, "lat": 59.3, "lon": 18.0}]},
     "remove[0]: base 0 is named by more than one change; give one change per base."),
    ({"remove": [0]}, "ASIH Syd Aleris would have no base left: move a base instead of removing the last one."),
    ({"remove": 0}, "remove must be a list."),
    ({"date": "2026-13-01"}, "date: A date must be written YYYY-MM-DD"),
    ({"date": None}, "date is needed (YYYY-MM-DD): a scenario keeps the approvals of one day."),
    ({"profile": "rush"}, "profile must be one of free_flow, typical, peak."),
    ({"polygon": {}}, "A scenario has no field 'polygon'."),
])
def test_the_stored_body_is_checked(svc, users, change, message):
    scenarios = Scenarios.of(svc)
    with pytest.raises(Invalid) as err:
        scenarios.save(users["manager"]["actor"], "Fel", {"unit": SYD_ALERIS, "date": "2026-12-07",
                                                          "profile": "typical", **change})
    assert str(err.value).startswith(message)
    assert scenarios.list() == []


def test_names_and_units_are_checked(svc, users):
    scenarios = Scenarios.of(svc)
    manager = users["manager"]["actor"]
    with pytest.raises(NotFound) as err:
        scenarios.save(manager, "Fel", {**BODY, "unit": "nowhere"})
    known = ", ".join(u.id for u in read_registry(PROVIDERS_YAML).units)
    assert str(err.value) == f"Unknown unit 'nowhere'. Known ids: {known}."
    for name, message in (("", "A scenario needs a name."), (" \n\t", "A scenario needs a name."),
                          ("x" * 121, "name is longer than 120 characters."), (None, "name must be a text.")):
        with pytest.raises(Invalid, match=message):
            scenarios.save(manager, name, BODY)
    assert scenarios.save(manager, "å" * 120, BODY)["name"] == "å" * 120
    assert len(scenarios.list()) == 1


def test_scenarios_are_immutable_in_the_database(svc, users):
    saved = Scenarios.of(svc).save(users["manager"]["actor"], "Orörd", BODY)
    for statement in ("UPDATE scenarios SET name = 'ändrad'", "DELETE FROM scenarios"):
        with pytest.raises(DatabaseError, match="append-only"):
            with svc.engine.begin() as conn:
                conn.execute(text(statement))
    assert Scenarios.of(svc).get(saved["id"])["name"] == "Orörd"


# -- HTTP --------------------------------------------------------------------------------------------------------------
@pytest.fixture
def client(svc, service):
    """The real app over the county's prepared state, with this test's registry as its live registry (as the app's
    start attaches it: a copy of the service)."""
    county = copy.copy(service)
    county.live = svc
    app = create_app(Settings(), service=county)
    app.state.registry = svc
    app.state.registry_limiter = FailureLimiter({"ip": 50, "token": 50}, window_s=60)
    return TestClient(app)


def test_saving_over_http_needs_a_managers_token(client, users):
    body = {"name": "Syd Aleris mot Södertälje", "unit": SYD_ALERIS, "move": [TOWARD_SODERTALJE]}
    r = client.post("/v1/scenarios", json=body)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
    assert client.post("/v1/scenarios", json=body, headers=bearer("asih_00000000_" + "A" * 43)).status_code == 401
    r = client.post("/v1/scenarios", json=body, headers=bearer(users["provider"]["token"]))
    assert r.status_code == 403 and r.json()["detail"] == (
        "Only contract managers or admins may do this; your token's role is provider.")
    assert client.get("/v1/scenarios").json() == []

    r = client.post("/v1/scenarios", json=body, headers=bearer(users["manager"]["token"]))
    assert r.status_code == 201, r.text
    saved = r.json()
    sid = saved["id"]
    assert r.headers["Location"] == f"/v1/scenarios/{sid}"
    assert saved["link"] == f"/planering?scenario={sid}" and saved["report"] == f"/v1/scenarios/{sid}/report"
    # The day and the profile the figures were computed with are stored: today in Stockholm, the configured profile.
    assert saved["whatif"] == {"unit": SYD_ALERIS, "move": [TOWARD_SODERTALJE], "add": [], "remove": [],
                               "date": today().isoformat(), "profile": Settings().profile}
    assert (saved["name"], saved["saved_by"], saved["unit_name"]) == (body["name"], "Test manager", "ASIH Syd Aleris")

    assert client.get(f"/v1/scenarios/{sid}").json() == saved
    assert client.get("/v1/scenarios").json() == [{k: v for k, v in saved.items() if k != "whatif"}]
    for missing in (sid + 1, 0, 2**40):
        r = client.get(f"/v1/scenarios/{missing}")
        assert r.status_code == 404 and r.json()["detail"] == f"No scenario {missing}."
    assert client.get(f"/v1/scenarios/{sid + 1}/report").status_code == 404

    log = client.get("/v1/changes", params={"limit": 1}, headers=bearer(users["manager"]["token"])).json()[0]
    assert (log["action"], log["entity"], log["after"]["id"]) == ("scenario.save", f"scenario:{sid}", sid)

    # The stored body gives, through POST /v1/whatif, the figures of the body that was saved.
    assert client.post("/v1/whatif", json=saved["whatif"]).json() == client.post(
        "/v1/whatif", json={k: v for k, v in body.items() if k != "name"}).json()


def test_a_save_is_refused_as_the_whatif_would_be(client, users, svc):
    token = users["admin"]["token"]
    cases = [
        ({"unit": "no-such-unit"}, 404, "Unknown provider unit 'no-such-unit'."),
        ({"unit": SYD_ALERIS, "move": [{"base": 0, "lat": 57.7089, "lon": 11.9746}]}, 422,
         "move[0]: Outside Stockholm County"),
        ({"unit": SYD_ALERIS, "remove": [0]}, 422, "ASIH Syd Aleris would have no base left"),
        ({"unit": SYD_ALERIS, "date": "2026-13-01"}, 422, "date: A date must be written YYYY-MM-DD"),
    ]
    for change, status, start in cases:
        r = client.post("/v1/scenarios", json={"name": "Fel", **change}, headers=bearer(token))
        assert r.status_code == status and r.json()["detail"].startswith(start), (change, r.text)
    for bad in ({"unit": SYD_ALERIS, "name": ""}, {"unit": SYD_ALERIS, "name": "x" * 121}, {"unit": SYD_ALERIS},
                {"unit": SYD_ALERIS, "name": "n", "polygon": {}}):
        assert client.post("/v1/scenarios", json=bad, headers=bearer(token)).status_code == 422, bad
    assert Scenarios.of(svc).list() == []


def test_the_cli_lists_and_prints_a_scenario_with_the_whatif_figures(client, svc, users, service, monkeypatch,
                                                                     tmp_path):
    from api.cli import app as cli
    from api.cli import scenario as scenario_cli
    from lookup.service import Service

    body = {"unit": SYD_ALERIS, "move": [TOWARD_SODERTALJE], "profile": "peak"}
    saved = client.post("/v1/scenarios", json={"name": "Mot Södertälje i rusning", **body},
                        headers=bearer(users["manager"]["token"])).json()
    answer = client.post("/v1/whatif", json=body).json()
    monkeypatch.setattr(scenario_cli, "_registry", lambda: svc)
    monkeypatch.setattr(Service, "load", classmethod(lambda cls, settings, **_: copy.copy(service)))  # no second load
    runner = CliRunner()

    listed = runner.invoke(cli, ["scenario", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.output) == [{k: v for k, v in saved.items() if k not in ("whatif", "link", "report")}]

    out = tmp_path / "scenario.pdf"
    printed = runner.invoke(cli, ["scenario", "report", str(saved["id"]), "--out", str(out)])
    assert printed.exit_code == 0, printed.output
    assert f"Approvals as of {today().isoformat()} (live registry)" in printed.output
    pdf = pdfium.PdfDocument(str(out))
    try:
        pages, page_text = len(pdf), " ".join(pdf[0].get_textpage().get_text_range().split())
    finally:
        pdf.close()
    assert pages == 1
    assert "Scenario: Mot Södertälje i rusning" in page_text and "Sparat av Test manager" in page_text
    assert f"Godkännanden per {today().isoformat()}" in page_text and "rusning" in page_text
    assert [r["area_id"] for r in answer["rows"]] == [1, 3, 4]
    for r in answer["rows"]:
        before, after = (f"{floor_share(r[k]['population_share'], 1):.1f} %" for k in ("before", "after"))
        assert f"area {r['area_id']} {r['area_name']}: {before} ({r['before']['verdict']}) → {after} " \
               f"({r['after']['verdict']})" in printed.output
        # The page's row: area, inhabitants, today's share and verdict, with the changes, people not reached.
        row = (f"{r['area_id']} {r['area_name']} {_thousands(r['before']['population'])} "
               f"{before.replace('.', ',')} {VERDICTS[r['before']['verdict']]} "
               f"{after.replace('.', ',')} {VERDICTS[r['after']['verdict']]} "
               f"{_thousands(r['before']['gap_population'])} {_thousands(r['after']['gap_population'])}")
        assert row in page_text, (row, page_text)

    missing = runner.invoke(cli, ["scenario", "report", str(saved["id"] + 1), "--out", str(tmp_path / "x.pdf")])
    assert missing.exit_code == 2 and f"No scenario {saved['id'] + 1}." in missing.output
    assert not (tmp_path / "x.pdf").exists()


def _thousands(n: int) -> str:
    """A whole number as the PDF writes it, its thin spaces read back as spaces."""
    return f"{n:,}".replace(",", " ")
