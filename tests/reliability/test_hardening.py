"""Hardening: request size limits, CORS off by default, no tracebacks in 500s, pinned dependencies.

Against the real server where the behaviour is the server's (limits, CORS); in-process for the 500 handler.

Read timeouts are tested in ``test_slow_clients.py``: ``asih serve`` adds header and body read deadlines to uvicorn
(``api.cli.serve``), so 300 slow or idle connections leave the server answering.
"""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def client(live_server):
    with httpx.Client(base_url=live_server.url, timeout=60) as c:
        yield c


def test_body_over_limit_is_413_with_detail(client, settings):
    body = b'{"address": "' + b"a" * settings.request_max_bytes + b'"}'
    for path in ("/v1/lookup", "/v1/lookup/batch"):
        r = client.post(path, content=body, headers={"content-type": "application/json"})
        assert r.status_code == 413, (path, r.status_code)
        assert str(settings.request_max_bytes) in r.json()["detail"]


def test_chunked_body_over_limit_is_413(client, settings):
    """Without a Content-Length (chunked upload) the limit must hold as well, not read the body into memory."""
    chunk = b"x" * 65536

    def stream():
        for _ in range(settings.request_max_bytes // len(chunk) + 2):
            yield chunk

    for path in ("/v1/lookup", "/v1/lookup/batch"):
        r = client.post(path, content=stream(), headers={"content-type": "text/csv"})
        assert r.status_code == 413, (path, r.status_code, r.text[:200])
        assert "detail" in r.json()


def test_batch_over_row_limit_is_413(client, settings):
    n = settings.batch_max_rows + 1
    r = client.post("/v1/lookup/batch", json=[{"lat": 59.3148, "lon": 18.0843}] * n)
    assert r.status_code == 413 and f"{n} rows" in r.json()["detail"]
    csv = "lat,lon\n" + "59.3148,18.0843\n" * n
    r = client.post("/v1/lookup/batch", content=csv.encode(), headers={"content-type": "text/csv"})
    assert r.status_code == 413 and f"at most {settings.batch_max_rows}" in r.json()["detail"]


def test_query_over_max_chars_is_422(client, settings):
    long = "Fjällgatan " + "4" * settings.query_max_chars
    r = client.get("/v1/lookup", params={"address": long})
    assert r.status_code == 422 and r.json()["detail"]
    r = client.post("/v1/lookup", json={"address": long})
    assert r.status_code == 422 and r.json()["detail"]
    assert long.encode() not in r.content  # the error does not echo the input


def test_cors_is_off_by_default(client, settings):
    assert settings.cors_origins == []
    r = client.get("/health", headers={"Origin": "https://evil.example"})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
    pre = client.options(
        "/v1/lookup",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in pre.headers and pre.status_code in (404, 405)


def test_cors_allows_only_configured_origins(settings, service):
    app = create_app(settings.model_copy(update={"cors_origins": ["https://intranet.example"]}), service=service)
    with TestClient(app) as c:
        ok = c.get("/health", headers={"Origin": "https://intranet.example"})
        other = c.get("/health", headers={"Origin": "https://evil.example"})
    assert ok.headers["access-control-allow-origin"] == "https://intranet.example"
    assert "access-control-allow-origin" not in other.headers


def test_unexpected_error_is_500_without_traceback(settings, service, caplog):
    """A real route that fails (added to the real app) answers a sentence; the log names the error type only."""
    app = create_app(settings, service=service)

    @app.get("/boom")
    def boom(address: str):
        raise RuntimeError(f"failed for {address} at /work/secret.py line 1")

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/boom", params={"address": "Fjällgatan 44"})
    assert r.status_code == 500
    assert r.json() == {"detail": "Internal error; the request was not stored."}
    assert "Traceback" not in r.text and "Fjällgatan" not in r.text and "secret" not in r.text
    assert "Fjällgatan" not in caplog.text and "Unhandled RuntimeError on /boom" in caplog.text


def test_constraints_pin_every_installed_package():
    from importlib.metadata import distributions

    def norm(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    lines = [ln.strip() for ln in (PROJECT_ROOT / "constraints.txt").read_text().splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    bad = [ln for ln in lines if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9.+!_-]+", ln)]
    assert bad == [], "every line must be name==version"
    pins = {norm(ln.split("==")[0]): ln.split("==")[1] for ln in lines}
    installed = {norm(d.metadata["Name"]): d.version for d in distributions()}
    unpinned = sorted(set(installed) - set(pins) - {"asih", "pip", "setuptools", "wheel"})
    assert unpinned == [], "run `make lock`"
    assert {k: (pins[k], v) for k, v in installed.items() if k in pins and pins[k] != v} == {}


def test_log_filter_withholds_tracebacks():
    """uvicorn logs 'Exception in ASGI application' with exc_info; the traceback could quote an address."""
    import logging

    from api.privacy import RedactQueryFilter

    try:
        raise ValueError("no match for Fjällgatan 44")
    except ValueError:
        record = logging.LogRecord("uvicorn.error", logging.ERROR, __file__, 1, "Exception in ASGI application",
                                   None, __import__("sys").exc_info())
    assert RedactQueryFilter().filter(record)
    text = logging.Formatter().format(record)
    assert "Fjällgatan" not in text and "Traceback" not in text and "ValueError" in text
