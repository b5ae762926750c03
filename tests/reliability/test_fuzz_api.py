"""API fuzzing: schemathesis generates requests from the app's own OpenAPI schema and sends them in-process (ASGI).

Checks on every response: no 5xx, and every 4xx with a JSON body carries a ``detail``. The app is the real one
(``api.app.create_app``) over the real prepared service (the session's). The coverage endpoints (audit, choice,
isochrones) cost 0.5–3 s per new parameter set, so they get fewer examples than the cheap ones.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from api.app import create_app
from core.settings import get_settings
from tests.conftest import county_service

SLOW_PATHS = r"^/v1/(audit|choice|isochrones|split|planning|whatif|units/[^/]+/suggest-bases)"
FAST_EXAMPLES = 25
SLOW_EXAMPLES = 4
SLOW_TIMEOUT_S = 120
"""How long a coverage operation may take to answer in the fuzzer (s): generous, the check is on its status."""


def _app():
    return create_app(get_settings(), service=county_service())  # the session's service, not a second load


schema = schemathesis.openapi.from_asgi("/openapi.json", _app())


def four_xx_has_detail(ctx, response, case) -> bool | None:
    """A 4xx answer with a JSON body says why, in ``detail``."""
    if 400 <= response.status_code < 500 and "json" in response.headers.get("content-type", [""])[0]:
        body = response.json()
        assert isinstance(body, dict) and body.get("detail"), f"{response.status_code} without 'detail': {body!r}"
    return True


CHECKS = [not_a_server_error, four_xx_has_detail]
_SETTINGS = dict(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)


@schema.exclude(path_regex=SLOW_PATHS).parametrize()
@settings(max_examples=FAST_EXAMPLES, **_SETTINGS)
def test_fast_operations_never_5xx(case):
    case.call_and_validate(checks=CHECKS)


@schema.include(path_regex=SLOW_PATHS).parametrize()
@settings(max_examples=SLOW_EXAMPLES, **_SETTINGS)
def test_coverage_operations_never_5xx(case):
    # What is checked is the answer, not its speed (measured in bench/): a first, uncached split or audit of a busy
    # 2-core machine may take longer than schemathesis' 10 s default before it answers.
    case.call_and_validate(checks=CHECKS, timeout=SLOW_TIMEOUT_S)


def test_schema_lists_every_route():
    """The fuzzer only reaches what the schema declares: every public route must be in it."""
    paths = set(schema.raw_schema["paths"])
    assert {"/health", "/v1/lookup", "/v1/lookup/batch", "/v1/areas", "/v1/providers", "/v1/audit"} <= paths
