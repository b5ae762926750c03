"""``/docs`` offline: Swagger UI from local files, under the CSP, with a language, a main landmark and an h1.

``api.routes.docs`` replaces FastAPI's CDN page (the app has ``docs_url=None`` and includes the router). The router is
tested on a small app of its own; the live server must serve the same page, and the browser test runs axe over it.
"""

from __future__ import annotations

import json

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.routes import docs
from maps.vendor_assets import AXE_DIR, AXE_JS, SWAGGER_UI_DIR, vendored
from tests.conftest import BROWSER_MARKS, missing

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture(scope="module")
def client():
    app = FastAPI(title="ASIH area coverage and routing", version="1.0", docs_url=None, redoc_url=None)
    app.include_router(docs.router)
    with TestClient(app) as c:
        yield c


def test_docs_page_is_local_and_labelled(client):
    r = client.get("/docs")
    assert r.status_code == 200
    assert "script-src 'self'" in r.headers["content-security-policy"]
    html = r.text
    assert '<html lang="en">' in html and "<main" in html and "<h1>" in html
    assert "cdn" not in html.lower() and "https://" not in html
    if vendored(SWAGGER_UI_DIR) is not None:
        assert '<script src="/docs/assets/swagger-ui-bundle.js"' in html
        assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200
        assert client.get("/docs/assets/swagger-ui.css").headers["content-type"].startswith("text/css")
    assert client.get("/docs/assets/docs.js").status_code == 200
    for bad in ("index.html", "..%2Fapp.py", "manifest.json", "axe.min.js"):
        assert client.get(f"/docs/assets/{bad}").status_code == 404


def test_the_app_serves_the_local_docs(live_server):
    import urllib.request

    with urllib.request.urlopen(live_server.url + "/docs", timeout=10) as resp:
        html = resp.read().decode()
    assert "/docs/assets/" in html, "api/app.py must serve api.routes.docs' page (docs_url=None), not FastAPI's CDN one"
    assert '<html lang="en">' in html


@BROWSER_MARKS[0]
@BROWSER_MARKS[1]
def test_docs_have_no_axe_violations(live_server, browser):
    if vendored(SWAGGER_UI_DIR) is None:
        missing("Swagger UI is not vendored: run `python -m maps.vendor_assets`")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(path=str(AXE_DIR / AXE_JS))
    errors = []
    try:
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.goto(live_server.url + "/docs")
        page.locator(".opblock").first.wait_for(timeout=15_000)
        violations = {}
        for state in ("collapsed", "expanded"):
            if state == "expanded":
                page.locator(".opblock-summary").first.click()
                page.locator(".opblock-body").first.wait_for()
            found = page.evaluate(
                "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}})).violations"
                ".map(v => v.id + ': ' + v.nodes.length)", AXE_TAGS)
            if found:
                violations[state] = found
        page.screenshot(path="/tmp/asih-shots/docs-1280.png")
        assert violations == {}, json.dumps(violations)
        assert errors == []
        assert page.url == live_server.url + "/docs"  # no deep links in the URL
    finally:
        context.close()
