"""The HTTP contract: every operation of the OpenAPI schema fuzzed by schemathesis against the real app (the county's
prepared state, a registry of its own), with the answers checked against what the schema declares.

Checks on every answer: no 5xx; its status code declared for the operation; its content type declared; its body valid
against the declared schema (the one error schema of :mod:`api.schemas` for every 4xx/503); and input the schema
forbids (a boolean for a number, a date that is not YYYY-MM-DD …) refused with a 4xx. Write operations run with a
real token of each role, so the fuzzer reaches their handlers, on a throwaway registry (the process's test registry,
which other tests read, is never written).
"""

from __future__ import annotations

import atexit
import itertools
import shutil
import tempfile

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from api.app import create_app
from api.auth import FailureLimiter
from registry.service import cli_actor
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)
from tests.conftest import county_service
from tests.registry.conftest import open_service

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection]
EXAMPLES = 5
"""Generated examples per operation, besides schemathesis's explicit and coverage cases (boundary values, each
parameter of a wrong type or missing): the 31 operations take about a minute on a busy 2-core machine."""


def _app():
    tmp = tempfile.mkdtemp(prefix="asih-contract-")
    atexit.register(shutil.rmtree, tmp, True)
    registry = open_service(f"sqlite:///{tmp}/contract.sqlite3")
    atexit.register(registry.close)
    tokens = [None]
    for role, units in (("provider", ["ersta-diakoni"]), ("contract_manager", []), ("admin", [])):
        tokens.append(registry.add_user(cli_actor(), role, units, f"contract {role}")[1])
    app = create_app(service=county_service())
    app.state.registry = registry
    app.state.registry_limiter = FailureLimiter({"ip": 10**6, "token": 10**6}, window_s=1)
    return app, itertools.cycle(tokens)


_APP, _TOKENS = _app()
schema = schemathesis.openapi.from_asgi("/openapi.json", _APP)


def setup_module():
    # The lifespan (the heavy-work pool, the audit data) runs once for the module, as in a served app.
    global _CLIENT
    _CLIENT = TestClient(_APP)
    _CLIENT.__enter__()


def teardown_module():
    _CLIENT.__exit__(None, None, None)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
          database=None)
def test_every_operation_keeps_the_contract(case):
    token = next(_TOKENS)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    checks = CHECKS
    if case.media_type == "text/csv":
        # Any text is a CSV body (a row without an address is answered as a failing row, by design): the "wrong
        # type" schemathesis sends for it, an object written as text, is valid input, not a schema violation.
        checks = [c for c in CHECKS if c is not negative_data_rejection]
    # A heavy answer (an audit under three traffic profiles, a PDF) may take longer than the client's default 10 s on
    # a machine busy with other tests: a slow answer is bench/'s business, not a contract failure.
    case.call_and_validate(headers=headers, checks=checks, timeout=120)


def _refused(response, field: str) -> None:
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, list) and any(e["loc"][-1] == field for e in detail), detail


def test_a_date_is_only_yyyy_mm_dd():
    # pydantic alone reads 0 (and "0") as 1970-01-01, and a lookup answered for 1970 looks like a real answer.
    for bad in ("0", "1700000000", "20250301", "2025-3-1", "2025-02-30", "today"):
        _refused(_CLIENT.get("/v1/approvals", params={"date": bad}), "date")
        assert _CLIENT.get("/v1/providers", params={"date": bad}).status_code == 422
        _refused(_CLIENT.get("/v1/lookup", params={"lat": 59.3148, "lon": 18.0843, "date": bad}), "date")
        _refused(_CLIENT.post("/v1/lookup", json={"lat": 59.3148, "lon": 18.0843, "date": bad}), "date")
    _refused(_CLIENT.post("/v1/lookup", json={"lat": 59.3148, "lon": 18.0843, "date": 0}), "date")
    assert _CLIENT.get("/v1/approvals", params={"date": "2025-03-01"}).json()["date"] == "2025-03-01"
    ok = _CLIENT.post("/v1/lookup", json={"lat": 59.3148, "lon": 18.0843, "date": "2025-03-01"})
    assert ok.status_code == 200 and ok.json()["date"] == "2025-03-01"


def test_a_boolean_is_not_a_number_nor_a_number_a_boolean():
    _refused(_CLIENT.post("/v1/lookup", json={"lat": True, "lon": 18.0843}), "lat")
    _refused(_CLIENT.post("/v1/lookup", json={"lat": 59.3148, "lon": 18.0843, "view": 1}), "view")
    _refused(_CLIENT.post("/v1/whatif", json={"unit": "syd-aleris", "add": [{"lat": True, "lon": 18.0}]}), "lat")
    admin = _APP.state.registry.add_user(cli_actor(), "admin", [], "contract strict types")[1]
    auth = {"Authorization": f"Bearer {admin}"}
    _refused(_CLIENT.put("/v1/units/ersta-diakoni/availability", json={"free_places": True}, headers=auth),
             "free_places")
    _refused(_CLIENT.post("/v1/approvals", json={"unit": "ersta-diakoni", "area_id": True, "valid_from": "2025-03-01"},
                          headers=auth), "area_id")
    # Integers stay numbers: 59 is a latitude.
    assert _CLIENT.post("/v1/lookup", json={"lat": 59, "lon": 18}).status_code == 200


def test_every_error_status_of_every_operation_has_the_one_error_schema():
    for path, operations in schema.raw_schema["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref == "#/components/schemas/ErrorOut", (method, path, status)


def test_text_that_no_file_can_hold_is_refused_before_it_is_stored():
    # JSON lets a lone surrogate through; stored, it made the scenario's PDF (and any JSON answer quoting it) a 500.
    admin = _APP.state.registry.add_user(cli_actor(), "admin", [], "contract text")[1]
    auth = {"Authorization": f"Bearer {admin}", "Content-Type": "application/json"}
    body = '{"name": "Mot S\\ud800", "unit": "syd-aleris", "move": [], "add": [], "remove": []}'
    _refused(_CLIENT.post("/v1/scenarios", content=body, headers=auth), "name")
    _refused(_CLIENT.put("/v1/units/ersta-diakoni/availability", content='{"free_places": 2, "note": "\\udfff"}',
                         headers=auth), "note")
    for address in ('"\\ud800"', '"Fj\\u00e4llgatan 44 \\udc00"'):
        answer = _CLIENT.post("/v1/lookup", content='{"address": %s}' % address, headers=auth)
        assert answer.status_code in (200, 422) and answer.json()["detail" if answer.status_code == 422 else "query"]
