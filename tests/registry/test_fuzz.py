"""The registry's HTTP operations fuzzed from their own OpenAPI schema (schemathesis, in-process) on SQLite.

Requests come with no token, a malformed one or a real one of each role, so that the fuzzer reaches the handlers
and not only the 401. Checks: no 5xx, and every 4xx says why in ``detail``.
"""

from __future__ import annotations

import atexit
import itertools
import shutil
import tempfile
from types import SimpleNamespace

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from api.app import create_app
from core.settings import Settings
from api.auth import FailureLimiter
from registry.service import cli_actor
from tests.registry.conftest import open_service

REGISTRY_PATHS = r"^/v1/(units/[^/]+/availability|approvals|changes|me)"


def _app(tmp_dir):
    svc = open_service(f"sqlite:///{tmp_dir}/fuzz.sqlite3")
    tokens = [None, "asih_0000_bad"]
    for role, units in (("provider", ["ersta-diakoni"]), ("contract_manager", []), ("admin", [])):
        tokens.append(svc.add_user(cli_actor(), role, units, f"fuzz {role}")[1])
    app = create_app(Settings(), service=SimpleNamespace())
    app.state.registry = svc
    app.state.registry_limiter = FailureLimiter({"ip": 10**6, "token": 10**6}, window_s=1)
    return app, itertools.cycle(tokens)


_TMP = tempfile.mkdtemp(prefix="asih-registry-fuzz-")
_APP, _TOKENS = _app(_TMP)
# Made when the module is collected (schemathesis needs the app then), so removed at exit, run or deselected.
atexit.register(shutil.rmtree, _TMP, True)
atexit.register(_APP.state.registry.close)
schema = schemathesis.openapi.from_asgi("/openapi.json", _APP)


def four_xx_has_detail(ctx, response, case) -> bool | None:
    if 400 <= response.status_code < 500 and "json" in response.headers.get("content-type", [""])[0]:
        body = response.json()
        assert isinstance(body, dict) and body.get("detail"), f"{response.status_code} without 'detail': {body!r}"
    return True


@schema.include(path_regex=REGISTRY_PATHS).parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
def test_registry_operations_never_5xx(case):
    token = next(_TOKENS)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    case.call_and_validate(headers=headers, checks=[not_a_server_error, four_xx_has_detail])


def test_the_schema_lists_the_registry_routes():
    paths = set(schema.raw_schema["paths"])
    assert {"/v1/units/{unit}/availability", "/v1/approvals", "/v1/approvals/periods", "/v1/changes",
            "/v1/me"} <= paths
