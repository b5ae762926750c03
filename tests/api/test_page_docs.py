"""``/docs`` offline: Swagger UI from local files, under the CSP, with a language, a main landmark and an h1.

``api.routes.docs`` replaces FastAPI's CDN page once the app includes it (``docs_url=None``). Until then these tests
build a small app with the router; the browser test serves that page in place of the live server's ``/docs`` (the
OpenAPI document itself comes from the live server) and runs axe over it.
"""

from __future__ import annotations

import json

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.routes import docs
from maps.vendor_assets import AXE_DIR, AXE_JS, SWAGGER_UI_DIR, vendored
from tests.conftest import BROWSER_MARKS

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
    if "/docs/assets/" not in html:
        pytest.xfail("api/app.py still mounts FastAPI's CDN /docs: docs_url=None and include api.routes.docs.router")
    assert '<html lang="en">' in html


@BROWSER_MARKS[0]
@BROWSER_MARKS[1]
def test_docs_have_no_axe_violations(live_server, browser, client):
    if vendored(SWAGGER_UI_DIR) is None:
        pytest.skip("Swagger UI is not vendored")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(path=str(AXE_DIR / AXE_JS))
    errors = []
    try:
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))

        def serve(route):
            path = route.request.url.removeprefix(live_server.url)
            r = client.get(path)
            route.fulfill(status=r.status_code, body=r.content, headers=dict(r.headers))

        page.route(live_server.url + "/docs**", serve)
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
