"""The registry's HTTP API in the real app (its error handlers and middleware), on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.settings import Settings
from api.auth import FailureLimiter
from registry.service import today


def _app(svc, limiter: FailureLimiter):
    app = create_app(Settings(), service=SimpleNamespace())  # the lookup service is not needed here
    app.state.registry = svc
    app.state.registry_limiter = limiter
    return app


@pytest.fixture
def limiter():
    return FailureLimiter({"ip": 4, "token": 3}, window_s=60)


@pytest.fixture
def client(svc, limiter):
    return TestClient(_app(svc, limiter))


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_no_token_is_401_and_reading_is_anonymous(client):
    r = client.put("/v1/units/ersta-diakoni/availability", json={"free_places": 2})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
    assert "token" in r.json()["detail"]
    assert client.get("/v1/changes").status_code == 401
    assert client.post("/v1/approvals", json={"unit": "ersta-diakoni", "area_id": 3,
                                               "valid_from": str(today())}).status_code == 401
    r = client.get("/v1/units/ersta-diakoni/availability")
    assert r.status_code == 200 and r.json()["status"] == "none"
    assert client.get("/v1/units/nowhere/availability").status_code == 404
    assert client.get("/v1/approvals").json()["approvals"]["ersta-diakoni"] == [4, 5]


def test_a_provider_token_writes_its_own_unit_only(client, users):
    token = users["provider"]["token"]
    r = client.put("/v1/units/accesscare/availability", json={"free_places": 2}, headers=bearer(token))
    assert r.status_code == 403 and "ersta-diakoni" in r.json()["detail"]
    r = client.put("/v1/units/ersta-diakoni/availability", json={"free_places": 2, "note": "Från måndag"},
                   headers=bearer(token))
    assert r.status_code == 200
    body = client.get("/v1/units/ersta-diakoni/availability").json()
    assert (body["free_places"], body["note"], body["stale"], body["age_s"]) == (2, "Från måndag", False, 0)
    assert client.get("/v1/units/accesscare/availability").json()["free_places"] is None
    for bad in ({"free_places": -1}, {"free_places": 1001}, {"free_places": 1, "note": "x" * 201},
                {"free_places": 1, "extra": 1}, {}):
        r = client.put("/v1/units/ersta-diakoni/availability", json=bad, headers=bearer(token))
        assert r.status_code == 422, bad
    # Providers read neither the change log nor write approvals.
    assert client.get("/v1/changes", headers=bearer(token)).status_code == 403
    assert client.post("/v1/approvals", json={"unit": "ersta-diakoni", "area_id": 3, "valid_from": str(today())},
                       headers=bearer(token)).status_code == 403
    me = client.get("/v1/me", headers=bearer(token)).json()
    assert me["role"] == "provider" and me["units"] == [{"id": "ersta-diakoni", "unit": "ASIH Ersta Diakoni"}]


def test_wrong_tokens_are_rate_limited_per_ip(client, users):
    wrong = [f"asih_{i:08x}_" + "A" * 43 for i in range(5)]  # a new prefix each time: only the IP adds up
    for token in wrong[:3] + ["garbage"]:
        assert client.get("/v1/me", headers=bearer(token)).status_code == 401
    r = client.get("/v1/me", headers=bearer(wrong[4]))
    assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 60
    # While limited, every failed check from the address is 429; a valid token from it still passes (issue 22).
    assert client.get("/v1/me", headers=bearer(users["admin"]["token"])).status_code == 200
    assert client.get("/v1/units/ersta-diakoni/availability").status_code == 200  # reading stays open


def test_guesses_at_one_token_are_rate_limited_by_its_prefix(svc, users):
    limiter = FailureLimiter({"ip": 100, "token": 3}, window_s=60)
    client = TestClient(_app(svc, limiter))
    real = users["manager"]["token"]
    guess = real[:14] + ("B" if real[14] != "B" else "C") + real[15:]
    for _ in range(3):
        assert client.get("/v1/me", headers=bearer(guess)).status_code == 401
    assert client.get("/v1/me", headers=bearer(guess)).status_code == 429  # guesses at the prefix, from anywhere
    assert client.get("/v1/me", headers=bearer(real)).status_code == 200  # never the right secret (issue 22)
    assert client.get("/v1/me", headers=bearer(users["admin"]["token"])).status_code == 200  # nor others


def test_failure_limiter_window():
    now = [1000.0]
    limiter = FailureLimiter({"ip": 2}, window_s=10, clock=lambda: now[0], max_keys=3)
    key = [("ip", "a")]
    limiter.fail(key)
    now[0] += 4
    limiter.fail(key)
    assert limiter.retry_after(key) == pytest.approx(6.0)
    now[0] += 6.01
    assert limiter.retry_after(key) is None  # the first failure left the window
    for name in "bcde":
        limiter.fail([("ip", name)])
    assert len(limiter._failures) <= 3  # bounded


def test_manager_approval_with_a_future_date(client, users):
    token = users["manager"]["token"]
    tomorrow = today() + timedelta(days=1)
    r = client.post("/v1/approvals", json={"unit": "ersta-diakoni", "area_id": 3, "valid_from": str(tomorrow)},
                    headers=bearer(token))
    assert r.status_code == 201
    assert r.json() == {"action": "add", "approvals": [{"id": r.json()["approvals"][0]["id"], "unit_id": "ersta-diakoni",
                        "area_id": 3, "valid_from": str(tomorrow), "valid_to": None, "withdrawn": False}]}
    assert client.get("/v1/approvals").json()["approvals"]["ersta-diakoni"] == [4, 5]
    assert client.get(f"/v1/approvals?date={today()}").json()["approvals"]["ersta-diakoni"] == [4, 5]
    on = client.get(f"/v1/approvals?date={tomorrow}").json()
    assert on["date"] == str(tomorrow) and on["approvals"]["ersta-diakoni"] == [3, 4, 5]
    r = client.post("/v1/approvals", json={"unit": "ersta-diakoni", "area_id": 3, "valid_from": str(tomorrow)},
                    headers=bearer(token))
    assert r.status_code == 409
    r = client.post("/v1/approvals", json={"unit": "ersta-diakoni", "area_id": 5, "action": "end",
                                           "valid_to": str(today())}, headers=bearer(token))
    assert r.status_code == 200 and r.json()["approvals"][0]["valid_to"] == str(today())
    assert client.get(f"/v1/approvals?date={tomorrow}").json()["approvals"]["ersta-diakoni"] == [3, 4]
    assert client.post("/v1/approvals", json={"unit": "ersta-diakoni", "area_id": 9, "valid_from": str(tomorrow)},
                       headers=bearer(token)).status_code == 422
    assert client.post("/v1/approvals", json={"unit": "ersta-diakoni", "area_id": 2},
                       headers=bearer(token)).status_code == 422
    assert client.post("/v1/approvals", json={"unit": "nowhere", "area_id": 2, "valid_from": str(tomorrow)},
                       headers=bearer(token)).status_code == 404
    assert client.get("/v1/approvals?date=tomorrow").status_code == 422
    periods = client.get("/v1/approvals/periods?unit=ersta-diakoni").json()
    assert [(p["area_id"], p["valid_from"], p["valid_to"]) for p in periods] == [
        (3, str(tomorrow), None), (4, None, None), (5, None, str(today()))]


def test_changes_for_managers_and_admins(client, users):
    client.put("/v1/units/ersta-diakoni/availability", json={"free_places": 5},
               headers=bearer(users["provider"]["token"]))
    for who in ("manager", "admin"):
        r = client.get("/v1/changes?unit=ersta-diakoni&limit=5", headers=bearer(users[who]["token"]))
        assert r.status_code == 200
        latest = r.json()[0]
        assert latest["action"] == "availability.set" and latest["after"]["free_places"] == 5
        assert latest["before"] is None and latest["actor_id"] == users["provider"]["user"]["id"]


def test_openapi_documents_the_bearer_scheme(client):
    spec = client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["RegistryToken"] == {
        "type": "http", "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["RegistryToken"]["description"]}
    put = spec["paths"]["/v1/units/{unit}/availability"]["put"]
    assert put["security"] == [{"RegistryToken": []}]
    assert {"401", "403", "429"} <= set(put["responses"])
    assert "security" not in spec["paths"]["/v1/units/{unit}/availability"]["get"]
    assert "security" in spec["paths"]["/v1/changes"]["get"]
    assert "/leverantor" not in spec["paths"]


def test_provider_page_files_with_the_referrer_page_headers(client):
    r = client.get("/leverantor")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    assert r.headers["Referrer-Policy"] == "no-referrer" and r.headers["X-Content-Type-Options"] == "nosniff"
    assert '<html lang="sv">' in r.text and 'src="/leverantor/provider.js"' in r.text
    for name, kind in (("provider.js", "text/javascript"), ("provider.css", "text/css")):
        r = client.get(f"/leverantor/{name}")
        assert r.status_code == 200 and r.headers["content-type"].startswith(kind)
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    for name in ("provider.html", "app.js", "..%2Fapp.py", "texts.json"):
        assert client.get(f"/leverantor/{name}").status_code == 404


def test_odd_input_is_a_4xx_on_every_database(client, users):
    provider, manager = bearer(users["provider"]["token"]), bearer(users["manager"]["token"])
    assert client.get("/v1/units/a%00b/availability").status_code == 404
    r = client.put("/v1/units/ersta-diakoni/availability", json={"free_places": 1, "note": "a\u0000b\tc"},
                   headers=provider)
    assert r.status_code == 200 and r.json()["note"] == "a b c"
    assert client.put("/v1/units/a%00b/availability", json={"free_places": 1}, headers=manager).status_code == 404
    assert client.get("/v1/changes?unit=a%00b", headers=manager).json() == []
    assert client.get("/v1/approvals/periods?unit=a%00b").status_code == 404
    r = client.post("/v1/approvals", json={"unit": "a\u0000b", "area_id": 3, "valid_from": "2030-01-01"},
                    headers=manager)
    assert r.status_code == 404
    assert client.get("/v1/changes?before_id=99999999999999999999", headers=manager).status_code == 422
