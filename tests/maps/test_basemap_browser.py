"""The offline base map in a real browser (Debian's chromium) at 1280 and 320 px: on the referrer page served by the
real server, and in an exported HTML map opened from disk. Water, roads and place names are drawn, no two names'
boxes overlap (nor a name and a marker), nothing is fetched from other hosts, and axe finds no violation."""

from __future__ import annotations

import gzip
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from maps.interactive import overview_map
from maps.offline import save_html
from maps.vendor_assets import AXE_DIR, AXE_JS, vendored
from tests.api.conftest import live_server  # noqa: F401 - the real server, shared fixture
from tests.api.test_page_a11y import ANSWER, AXE_TAGS, NARROW, SHOTS, WIDE, Page
from tests.conftest import BROWSER_MARKS

pytestmark = BROWSER_MARKS
TIMEOUT_MS = 15_000

BOXES = """() => {
    const box = (n) => { const r = n.getBoundingClientRect(); return {l: r.left, r: r.right, t: r.top, b: r.bottom,
                                                                    text: n.textContent}; };
    const names = [...document.querySelectorAll('.asih-bm-label')].map(box);
    const markers = [...document.querySelectorAll('.leaflet-marker-pane .leaflet-marker-icon')]
        .filter((n) => !n.classList.contains('asih-al-hidden')).map(box).filter((b) => b.r > b.l && b.b > b.t);
    const hit = (a, b) => a.l < b.r - 0.5 && b.l < a.r - 0.5 && a.t < b.b - 0.5 && b.t < a.b - 0.5;
    const overlaps = [];
    names.forEach((a, i) => names.slice(i + 1).forEach((b) => { if (hit(a, b)) overlaps.push([a.text, b.text]); }));
    names.forEach((a) => markers.forEach((m) => { if (hit(a, m)) overlaps.push([a.text, 'marker ' + m.text]); }));
    const map = document.querySelector('.leaflet-container').getBoundingClientRect();
    const outside = names.filter((a) => a.l < map.left - 0.5 || a.r > map.right + 0.5 || a.t < map.top - 0.5
                                        || a.b > map.bottom + 0.5).map((a) => a.text);
    return {names: names.map((a) => a.text), overlaps, outside};
}"""

DRAWN = """(sel) => [...document.querySelectorAll(sel)].filter((p) => (p.getAttribute('d') || '').length > 20).length"""


def _axe(page, within: str | None = None) -> list[dict]:
    return page.evaluate(
        """async ([tags, within]) => {
            const r = await axe.run(within ? document.querySelector(within) : document,
                                    {runOnly: {type: "tag", values: tags}});
            return r.violations.map(v => ({id: v.id, nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))}));
        }""", [AXE_TAGS, within])


def _settled(page) -> dict:
    page.wait_for_timeout(400)  # the zoom animation and the names' placing (40 ms after the last move)
    return page.evaluate(BOXES)


@pytest.fixture(scope="module", autouse=True)
def _assets():
    if vendored() is None or vendored(AXE_DIR) is None:
        pytest.fail("Leaflet or axe-core is not vendored: run `python -m maps.vendor_assets`")


@pytest.mark.parametrize("viewport", [WIDE, NARROW], ids=["1280px", "320px"])
def test_referrer_map_has_the_base_map(live_server, browser, viewport):  # noqa: F811
    s = Page(browser, viewport)
    try:
        s.open(live_server.url + "/")
        s.ask(ANSWER)
        s.answered()
        page = s.page
        expect(page.locator("#map")).to_have_attribute("data-basemap", "ready", timeout=TIMEOUT_MS)
        near = _settled(page)
        SHOTS.mkdir(exist_ok=True)
        page.locator("#map").screenshot(path=str(SHOTS / f"basemap-answer-{viewport['width']}.png"))
        # At the answer's zoom (a street on Södermalm): main roads and the district names around it.
        assert page.evaluate(DRAWN, "path.asih-bm-road") >= 1
        assert near["names"], "no place name on the answer's map"
        assert near["overlaps"] == [] and near["outside"] == []
        # Out to the county: the sea, every road class, municipality names; still no overlap.
        for _ in range(2):
            page.locator(".leaflet-control-zoom-out").click()
            page.wait_for_timeout(300)
        county = _settled(page)
        page.locator("#map").screenshot(path=str(SHOTS / f"basemap-county-{viewport['width']}.png"))
        assert page.evaluate(DRAWN, "path.asih-bm-water") == 1
        # Lined water: no area fill (of any colour, for any reader) can be taken for it.
        assert page.locator("path.asih-bm-water").get_attribute("fill") == "url(#asih-bm-water-lines)"
        assert page.locator("#asih-bm-water-lines line").count() == 1
        for cls in ("motorway", "trunk", "primary", "secondary"):
            assert page.evaluate(DRAWN, f"path.asih-bm-{cls}") == 1, cls
        municipalities = page.locator(".asih-bm-municipality").count()
        assert municipalities >= (8 if viewport is WIDE else 2), county["names"]
        assert county["overlaps"] == [] and county["outside"] == []
        assert "GeoNames" in page.locator(".leaflet-control-attribution").inner_text()  # the localities' source
        assert _axe(page) == []
        assert s.blocked == []
        assert any(url.endswith("/v1/basemap") for _, url in s.requests)
    finally:
        s.close()


@pytest.mark.parametrize("viewport", [WIDE, NARROW], ids=["1280px", "320px"])
def test_exported_map_embeds_the_same_base_map(browser, areas, municipalities, boroughs, bases, land, tmp_path,
                                                viewport):
    path = save_html(overview_map(areas, municipalities, boroughs, bases, land=land), tmp_path / "overview.html")
    context = browser.new_context(viewport=viewport)
    context.add_init_script(path=str(AXE_DIR / AXE_JS))
    page = context.new_page()
    refused, errors = [], []
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("file:", "data:"))
               else (refused.append(r.request.url), r.abort()))
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(path.as_uri())
        expect(page.locator(".leaflet-container")).to_have_attribute("data-basemap", "ready", timeout=TIMEOUT_MS)
        if viewport is NARROW:  # the whole county in 320 px leaves no room for names between the area labels: town
            page.locator(".leaflet-container").focus()
            for _ in range(3):
                page.keyboard.press("Equal")  # Leaflet's keyboard zoom in ("+" / "=")
                page.wait_for_timeout(350)
        page.wait_for_timeout(600)  # the folium labels' own placing (maps/layers.py Declutter), then the names'
        page.wait_for_function("document.querySelectorAll('.asih-bm-label').length >= 3", timeout=TIMEOUT_MS)
        boxes = _settled(page)
        assert page.evaluate(DRAWN, "path.asih-bm-water") == 1
        assert page.evaluate(DRAWN, "path.asih-bm-motorway") == 1
        assert len(boxes["names"]) >= 3, boxes["names"]
        assert boxes["overlaps"] == [] and boxes["outside"] == []
        assert _axe(page) == []  # the whole page: the map, base map included, and its wrapper (lang, zoomable)
        assert refused == [] and errors == []
    finally:
        context.close()


@pytest.mark.parametrize("viewport", [WIDE, NARROW], ids=["1280px", "320px"])
def test_planning_map_has_the_base_map(live_server, browser, viewport):  # noqa: F811
    from tests.api.test_whatif import SYD_ALERIS, Planner

    s = Planner(browser, live_server, viewport)
    try:
        s.unit(SYD_ALERIS)
        page = s.page
        expect(page.locator("#map")).to_have_attribute("data-basemap", "ready", timeout=TIMEOUT_MS)
        page.wait_for_function("document.querySelectorAll('.asih-bm-label').length >= 2", timeout=TIMEOUT_MS)
        boxes = _settled(page)
        assert page.evaluate(DRAWN, "path.asih-bm-road") >= 1
        assert boxes["overlaps"] == [] and boxes["outside"] == []
        assert _axe(page) == []
        assert s.blocked == []
    finally:
        s.close()


def test_basemap_answer_is_cached_and_revalidated(live_server):  # noqa: F811
    with urllib.request.urlopen(live_server.url + "/v1/basemap", timeout=30) as resp:  # urllib asks for no gzip
        body, headers = resp.read(), resp.headers
    assert headers["Content-Type"] == "application/geo+json"
    assert headers["Cache-Control"] == "public, max-age=86400"
    etag = headers["ETag"]
    assert etag.startswith('"') and len(etag) == 34
    assert 50_000 < len(body) < 600_000  # compact: the whole county's base map in a few hundred kB
    again = urllib.request.Request(live_server.url + "/v1/basemap", headers={"If-None-Match": etag})
    with pytest.raises(urllib.error.HTTPError) as unchanged:
        urllib.request.urlopen(again, timeout=30)
    assert unchanged.value.code == 304
    other = urllib.request.Request(live_server.url + "/v1/basemap", headers={"If-None-Match": '"other"'})
    with urllib.request.urlopen(other, timeout=30) as resp:
        assert resp.status == 200 and resp.read() == body
    # A browser takes it gzipped (about a fifth), the same content under its own tag.
    packed = urllib.request.Request(live_server.url + "/v1/basemap", headers={"Accept-Encoding": "gzip, br"})
    with urllib.request.urlopen(packed, timeout=30) as resp:
        assert resp.headers["Content-Encoding"] == "gzip" and resp.headers["Vary"] == "Accept-Encoding"
        zipped, zipped_tag = resp.read(), resp.headers["ETag"]
    assert gzip.decompress(zipped) == body and len(zipped) < len(body) / 3 and zipped_tag != etag
