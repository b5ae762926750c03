"""Issue 11, findings 6, 7 and 9: redaction that cannot be bypassed, batch inputs that used to be 500s, CSV as
spreadsheets write it, API headers, ``HEAD`` and the offline API documentation.

Against the real server (``live_server``: ``uvicorn api.main:app`` with the redacting log config) and the real
``asih batch``; raw sockets where a client library would clean up the request.
"""

from __future__ import annotations

import logging
import re
import socket
import time
import urllib.parse

import httpx
import pytest

from api.privacy import RedactQueryFilter, redact_target
from tests.reliability.conftest import run_asih

ADDRESS = "Fjällgatan 44"


@pytest.fixture(scope="module")
def client(live_server):
    with httpx.Client(base_url=live_server.url, timeout=120) as c:
        yield c


def _raw_get(url: str, target: bytes) -> bytes:
    host, port = urllib.parse.urlsplit(url).netloc.split(":")
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data


# -- finding 6: redaction -----------------------------------------------------------------------------------------

BYPASSES = [
    b'/v1/lookup?x="&address=Fj%C3%A4llgatan%2044',
    b"/v1/lookup?x='&address=Fj%C3%A4llgatan%2044",
    b"/v1/lookup?x=%22&address=Fj%C3%A4llgatan+44",
    b'/v1/lookup?"address=Fj%C3%A4llgatan%2044"',
    b"/v1/lookup?x=(&address=Fj%C3%A4llgatan%2044&lat=59.3148&lon=18.0843",
]
RAW_UTF8 = "/v1/lookup?address=Fjällgatan%2044".encode("utf-8")
"""Not valid HTTP (httptools answers 400 before the app): it must not be logged either."""


def test_query_strings_never_reach_the_access_log_whatever_they_hold(live_server):
    for target in BYPASSES:
        assert _raw_get(live_server.url, target).startswith(b"HTTP/1.1 "), target
    assert _raw_get(live_server.url, RAW_UTF8).startswith(b"HTTP/1.1 400 ")
    time.sleep(0.5)  # the access-log lines are flushed as they happen
    log = live_server.log_text()
    for needle in ("llgatan", "Fj%C3%A4", "59.3148", "18.0843", "address="):
        assert needle not in log, needle
    assert log.count('"GET /v1/lookup?<redacted> HTTP/1.1"') >= len(BYPASSES)


def test_filter_redacts_the_parsed_target_of_an_access_record():
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", '/v1/lookup?x="&address=Fj%C3%A4llgatan%2044', "1.1", 200),
                               None)
    assert RedactQueryFilter().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /v1/lookup?<redacted> HTTP/1.1" 200'
    assert redact_target("/v1/areas") == "/v1/areas" and redact_target("/?") == "/?<redacted>"


# -- finding 7: batch inputs that were 500s -----------------------------------------------------------------------


def test_deeply_nested_json_batch_is_422(client):
    body = "[" * 100_000 + "]" * 100_000
    r = client.post("/v1/lookup/batch", content=body.encode(), headers={"content-type": "application/json"})
    assert r.status_code == 422 and "nested too deeply" in r.json()["detail"]
    item = '[{"address": ' + "[" * 5000 + "]" * 5000 + "}]"
    r = client.post("/v1/lookup/batch", content=item.encode(), headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text[:200]


@pytest.mark.parametrize("newline", ["\r", "\r\n", "\n"])
def test_csv_line_ends_are_all_read(client, newline):
    text = newline.join(["lat,lon", "59.3148,18.0843", "59.3323,18.0237"]) + newline
    r = client.post("/v1/lookup/batch", content=text.encode(), headers={"content-type": "text/csv"})
    assert r.status_code == 200, r.text[:300]
    body = r.json()
    assert body["rows"] == 2 and body["ok"] == 2
    assert [x["result"]["area"]["id"] for x in body["results"]] == [4, 5]


def test_semicolon_csv_from_swedish_excel_with_bom_and_decimal_commas(client):
    text = "\ufeffadress;kommentar\r\nFjällgatan 44, Stockholm;patient 1\r\nMariebergsgatan 22, Stockholm;2\r\n"
    r = client.post("/v1/lookup/batch", content=text.encode("utf-8"), headers={"content-type": "text/csv"})
    assert r.status_code == 200 and r.json()["rows"] == 2, r.text[:300]
    assert [x["result"]["area"]["id"] for x in r.json()["results"]] == [4, 5]
    coords = "\ufefflat;lon\r\n59,3148;18,0843\r\n"
    r = client.post("/v1/lookup/batch", content=coords.encode("utf-8"), headers={"content-type": "text/csv"})
    assert r.status_code == 200 and r.json()["results"][0]["result"]["area"]["id"] == 4, r.text[:300]


def test_csv_field_over_the_csv_limit_fails_its_row_only(client, tmp_path):
    long_field = '"' + "x" * 140_000 + '"'
    text = f"address\nFjällgatan 44, Stockholm\n{long_field}\n59.3148, 18.0843\n"
    r = client.post("/v1/lookup/batch", content=text.encode(), headers={"content-type": "text/csv"})
    assert r.status_code == 200, r.text[:300]
    body = r.json()
    assert body["rows"] == 3 and body["ok"] == 2 and not body["results"][1]["ok"]
    assert "could not be read as CSV" in body["results"][1]["error"]
    infile, outfile = tmp_path / "in.csv", tmp_path / "out.csv"
    infile.write_text(text, encoding="utf-8")
    done = run_asih("batch", str(infile), str(outfile))
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    out = outfile.read_text(encoding="utf-8")
    assert out.count("\n") == 4 and "could not be read as CSV" in out


# -- finding 9: headers, HEAD, offline docs -----------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [("GET", "/health"), ("GET", "/v1/areas"), ("GET", "/v1/providers"),
                                              ("GET", "/v1/audit/ersta-diakoni"), ("GET", "/v1/areas/99"),
                                              ("POST", "/v1/lookup/batch")])
def test_api_answers_are_not_stored_or_sniffed(client, method, path):
    r = client.request(method, path, json=[{"lat": 59.3148, "lon": 18.0843}] if method == "POST" else None)
    assert r.headers["cache-control"] == "no-store" and r.headers["x-content-type-options"] == "nosniff", path


@pytest.mark.parametrize("path", ["/", "/health", "/v1/areas", "/openapi.json", "/docs", "/redoc"])
def test_head_answers_where_get_does(client, path):
    get, head = client.get(path), client.head(path)
    assert get.status_code == head.status_code == 200, (path, head.status_code)
    assert head.content == b"" and head.headers["content-length"] == get.headers["content-length"]
    assert client.head("/v1/lookup/batch").status_code == 405  # POST only: no GET, no HEAD


_EXTERNAL = re.compile(rb"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_api_documentation_loads_nothing_from_other_hosts(client, path):
    page = client.get(path)
    assert page.status_code == 200 and not _EXTERNAL.search(page.content), page.text[:500]
    assets = re.findall(rb"""(?:src|href)=["'](/[^"']+)""", page.content)
    assert assets, "the page loads its script from this origin"
    for asset in assets:
        if asset.startswith((b"/docs/assets/", b"/redoc/assets/")):
            r = client.get(asset.decode())
            assert r.status_code == 200 and r.content.strip(), asset
