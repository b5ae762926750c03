"""``POST /v1/whatif`` and the planning page ``/planering`` against the real server, the page in real chromium.

The server is ``api.main:app``, the session's shared ``live_server`` (uvicorn in a subprocess, the redacting log
config): a what-if is computed, never stored, so these tests change nothing another test could see.

axe-core is injected before the page's scripts (``add_init_script``, outside the page's CSP, as in
``test_page_a11y.py``); every state is checked at 1280 px and 320 px for 0 violations of WCAG 2.0/2.1 A and AA.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import shapely
from playwright.sync_api import expect
from shapely.geometry import shape

from tests.conftest import BROWSER_MARKS
from tests.live_server import LiveServer

SYD_ALERIS = "syd-aleris"
HANDEN = (59.167, 18.139)  # Syd Aleris' base today (data/providers.yaml)
TOWARD_SODERTALJE = (59.19, 17.70)  # 25 km west of Handen, on the way to Södertälje (area 1)
SODERTALJE_CENTRUM = (59.1955, 17.6253)
GOTEBORG = (57.7089, 11.9746)
WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 320, "height": 640}
ANSWER_TIMEOUT_MS = 20_000
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SHOTS = Path("/tmp/asih-shots")


@pytest.fixture(scope="module")
def server(live_server) -> LiveServer:
    """The real server with ``POST /v1/whatif`` and ``/planering``."""
    return live_server


def _post(server: LiveServer, body: dict) -> tuple[int, dict]:
    req = urllib.request.Request(server.url + "/v1/whatif", data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _get(server: LiveServer, path: str) -> dict:
    with urllib.request.urlopen(server.url + path, timeout=60) as resp:
        return json.loads(resp.read())


def _row(answer: dict, area_id: int) -> dict:
    return next(r for r in answer["rows"] if r["area_id"] == area_id)


def _inside(feature: dict, lat_lon: tuple[float, float]) -> bool:
    return shape(feature["geometry"]).contains(shapely.Point(lat_lon[1], lat_lon[0]))


# -- the API ------------------------------------------------------------------------------------------------------------
def test_moving_syd_aleris_toward_sodertalje_raises_its_area_1_share(server):
    today = {r["area_id"]: r for r in _get(server, f"/v1/audit/{SYD_ALERIS}")["rows"] if r["approved"]}
    status, answer = _post(server, {"unit": SYD_ALERIS, "move": [{"base": 0, "lat": TOWARD_SODERTALJE[0],
                                                                    "lon": TOWARD_SODERTALJE[1]}]})
    assert status == 200, answer
    assert answer["unit"] == SYD_ALERIS and answer["changes"] == 1 and answer["limit_s"] == 1800.0
    assert [r["area_id"] for r in answer["rows"]] == [1, 3, 4]  # the approved areas, in order
    area1 = _row(answer, 1)
    # "Before" is today's audit, figure for figure.
    for key in ("population_share", "land_share", "road_share", "verdict", "gap_population"):
        assert area1["before"][key] == today[1][key]
    assert area1["before"]["verdict"] == "unsupported" and area1["before"]["population_share"] < 0.10
    assert area1["after"]["population_share"] > 0.95 and area1["after"]["verdict"] == "supported"
    assert area1["change"] == pytest.approx(area1["after"]["population_share"] - area1["before"]["population_share"],
                                            abs=1e-4)
    assert area1["after"]["gap_population"] < area1["before"]["gap_population"]
    # Moving away from Handen costs the east: area 4 (Södermalm / Nacka–Värmdö) falls.
    assert _row(answer, 4)["after"]["population_share"] < _row(answer, 4)["before"]["population_share"]

    base = answer["bases"][0]
    assert (base["index"], base["change"], base["lat"], base["lon"]) == (0, "moved", *TOWARD_SODERTALJE)
    after, before = answer["polygon"], answer["before_polygon"]
    for feature in (after, before):
        assert feature["type"] == "Feature" and feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
        lon_min, lat_min, lon_max, lat_max = shape(feature["geometry"]).bounds
        assert 58.6 < lat_min < lat_max < 60.4 and 17.0 < lon_min < lon_max < 19.7  # WGS84, in the county
        assert feature["properties"]["minutes"] == 30.0 and feature["properties"]["area_km2"] > 100
    assert _inside(after, SODERTALJE_CENTRUM) and not _inside(before, SODERTALJE_CENTRUM)
    assert _inside(before, HANDEN)
    assert after["properties"]["population"] != before["properties"]["population"]


def test_no_change_answers_today_and_add_remove_work(server):
    status, today = _post(server, {"unit": "Syd Aleris"})  # a unit by name, like GET /v1/providers/{unit}
    assert status == 200 and today["unit"] == SYD_ALERIS and today["changes"] == 0
    for r in today["rows"]:
        assert r["before"] == r["after"] and r["change"] == 0
    assert today["polygon"] == today["before_polygon"]

    # A second base in Södertälje, then the first removed: area 1 as well served as with the base moved there.
    status, added = _post(server, {"unit": SYD_ALERIS, "add": [{"lat": SODERTALJE_CENTRUM[0],
                                                                  "lon": SODERTALJE_CENTRUM[1]}]})
    assert status == 200
    assert [b["change"] for b in added["bases"]] == [None, "added"]
    assert _row(added, 1)["after"]["verdict"] == "supported"
    for r in added["rows"]:  # a base more never reaches fewer
        assert r["after"]["population_share"] >= r["before"]["population_share"]
    status, swapped = _post(server, {"unit": SYD_ALERIS, "remove": [0],
                                     "add": [{"lat": SODERTALJE_CENTRUM[0], "lon": SODERTALJE_CENTRUM[1]}]})
    assert status == 200 and [b["index"] for b in swapped["bases"]] == [None]
    assert _row(swapped, 4)["after"]["population_share"] < _row(added, 4)["after"]["population_share"]


def test_unknown_unit_is_404(server):
    status, body = _post(server, {"unit": "no-such-unit"})
    assert status == 404
    assert body["detail"].startswith("Unknown provider unit") and "syd-aleris" in body["detail"]


def test_a_base_outside_the_county_is_422_with_a_sentence(server):
    status, body = _post(server, {"unit": SYD_ALERIS, "move": [{"base": 0, "lat": GOTEBORG[0], "lon": GOTEBORG[1]}]})
    assert status == 422
    detail = body["detail"]
    assert isinstance(detail, str) and detail.startswith("move[0]: Outside Stockholm County") and detail.endswith(".")
    assert "57.7" not in detail and "11.97" not in detail  # names the change, never echoes the coordinates
    status, body = _post(server, {"unit": SYD_ALERIS, "add": [{"lat": 91, "lon": 18}]})
    assert status == 422 and body["detail"].startswith("add[0]: Latitude")


@pytest.mark.parametrize("body, start", [
    ({"add": [{"lat": 59.3 + k / 100, "lon": 18.0} for k in range(6)]}, "At most 5 changes"),
    ({"move": [{"base": 1, "lat": 59.3, "lon": 18.0}]}, "move[0]: ASIH Syd Aleris has one base (index 0)"),
    ({"remove": [0], "move": [{"base": 0, "lat": 59.3, "lon": 18.0}]}, "remove[0]: base 0 is named by more"),
    ({"remove": [0]}, "ASIH Syd Aleris would have no base left"),
])
def test_bad_changes_are_422_with_a_sentence(server, body, start):
    status, answer = _post(server, {"unit": SYD_ALERIS, **body})
    assert status == 422 and isinstance(answer["detail"], str) and answer["detail"].startswith(start), answer


def test_the_page_is_served_with_the_referrer_pages_headers(server):
    from api.routes import web

    with urllib.request.urlopen(server.url + "/planering", timeout=30) as resp:
        html = resp.read().decode()
        headers = resp.headers
    assert '<html lang="sv">' in html and 'src="/static/vendor/leaflet.js"' in html
    for name, value in web.SECURITY_HEADERS.items():
        assert headers[name] == value
    for name in ("whatif.js", "whatif.css"):
        with urllib.request.urlopen(f"{server.url}/planering/{name}", timeout=30) as resp:
            assert resp.status == 200 and resp.headers["Content-Security-Policy"]
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(server.url + "/planering/whatif.html.bak", timeout=30)
    assert err.value.code == 404


def test_the_rows_are_those_of_asih_audit_move_base(service, auditor):
    """In-process: the live what-if gives, figure for figure, what ``asih audit --move-base`` (routing.whatif) gives."""
    from routing.live_whatif import BaseMove, Changes, live_what_if
    from routing.whatif import what_if

    engine = live_what_if(auditor, service.locator)
    for unit_id, k, (lat, lon) in [(SYD_ALERIS, 0, TOWARD_SODERTALJE), ("stockholms-sjukhem", 1, (59.40, 17.85))]:
        mine = engine.answer(unit_id, Changes(move=(BaseMove(k, lat, lon),)))
        ((_, after),) = what_if(auditor, move=[f"{unit_id}:{k + 1}={lat},{lon}"])
        theirs = {r.area_id: r.to_dict() for r in after.approvals}
        assert [r["area_id"] for r in mine["rows"]] == list(theirs)
        for row in mine["rows"]:
            assert row["after"] == {key: v for key, v in theirs[row["area_id"]].items()
                                    if key not in ("unit", "unit_id", "area_id", "approved")}


def test_the_memo_computes_once_for_concurrent_callers():
    import threading

    from core.memo import Memo

    memo, calls, gate = Memo(2), [], threading.Event()

    def compute():
        calls.append(1)
        gate.wait(5)
        return "tree"

    out: list[str] = []
    threads = [threading.Thread(target=lambda: out.append(memo.get_or_compute("k", compute))) for _ in range(4)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join(5)
    assert out == ["tree"] * 4 and len(calls) == 1
    memo.get_or_compute("a", lambda: 1)
    memo.get_or_compute("b", lambda: 2)
    assert len(memo) == 2 and memo.get_or_compute("k", lambda: "again") == "again"  # bounded: the oldest went first


# -- the page in chromium -------------------------------------------------------------------------------------------
def _browser(test):
    """Mark a test as driving chromium (skipped when Debian's chromium is missing)."""
    for mark in BROWSER_MARKS:
        test = mark(test)
    return test


class Planner:
    """One browser context on /planering: non-local requests aborted and recorded, axe injected before the page."""

    def __init__(self, browser, server: LiveServer, viewport: dict):
        from maps.vendor_assets import AXE_DIR, AXE_JS

        self.context = browser.new_context(viewport=viewport, locale="sv-SE", service_workers="block")
        self.context.add_init_script(path=str(AXE_DIR / AXE_JS))
        self.blocked: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.console_errors: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        self.width = viewport["width"]
        response = self.page.goto(server.url + "/planering")
        assert response is not None and response.status == 200

    def _route(self, route) -> None:
        url = route.request.url
        if not url.startswith("http://127.0.0.1:") and not url.startswith(("data:", "blob:")):
            self.blocked.append(url)
            route.abort()
        else:
            route.continue_()

    def unit(self, unit_id: str) -> None:
        expect(self.page.locator("#unit")).to_be_enabled(timeout=ANSWER_TIMEOUT_MS)
        self.page.select_option("#unit", unit_id)
        expect(self.page.locator("#announce")).to_contain_text(" i dag.", timeout=ANSWER_TIMEOUT_MS)
        expect(self.page.locator("#coverage tbody tr").first).to_be_visible()

    def population(self, area_id: int) -> str:
        return self.page.locator(f'#coverage tr[data-area="{area_id}"] td.pop .after').inner_text()

    def drawn(self) -> int:
        return int(self.page.locator("#map-box").get_attribute("data-drawn") or 0)

    def pixel(self, lat: float, lon: float) -> tuple[float, float]:
        """Page pixel of a WGS84 point on the map (Web Mercator within the view's bounds)."""
        south, west, north, east = (float(v) for v in self.page.locator("#map").get_attribute("data-view").split(","))
        box = self.page.locator("#map").bounding_box()

        def merc(phi: float) -> float:
            return math.log(math.tan(math.pi / 4 + math.radians(phi) / 2))

        x = box["x"] + (lon - west) / (east - west) * box["width"]
        y = box["y"] + (merc(north) - merc(lat)) / (merc(north) - merc(south)) * box["height"]
        return x, y

    def drag_base(self, key: str, lat: float, lon: float) -> None:
        marker = self.page.locator(f'#map .leaflet-marker-icon[data-key="{key}"]')
        box = marker.bounding_box()
        x, y = self.pixel(lat, lon)
        mouse = self.page.mouse
        mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        mouse.down()
        mouse.move(x, y, steps=12)
        mouse.up()

    def place_anyway(self) -> None:
        """Answer "place it here anyway" to the question asked for a base put more than 500 m from a road (the test
        places toward Södertälje and east of Nacka lie 0.95 km from the prepared network's nearest road)."""
        expect(self.page.locator("#far")).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
        self.page.locator("#far-place").click()

    def axe(self) -> list[dict]:
        return self.page.evaluate(
            """async (tags) => {
                const r = await axe.run(document, {runOnly: {type: "tag", values: tags}});
                return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " :: " + n.failureSummary)}));
            }""",
            AXE_TAGS,
        )

    def check(self, state: str, problems: dict) -> None:
        SHOTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"planering-{state}-{self.width}.png"), full_page=True)
        violations = self.axe()
        if violations:
            problems[f"{state} @ {self.width}px"] = violations
        if self.page.evaluate("document.documentElement.scrollWidth") > self.width:
            problems[f"{state} @ {self.width}px: scrolls sideways"] = True

    def close(self) -> None:
        self.context.close()


def planners(browser, server: LiveServer, default: dict):
    """A fixture body for the /planering tests: yields ``make(viewport=default)``, which opens a :class:`Planner`;
    every page made is closed after the test."""
    made = []

    def make(viewport: dict = default) -> Planner:
        p = Planner(browser, server, viewport)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


@pytest.fixture
def planner(browser, server):
    from maps.vendor_assets import AXE_DIR, vendored

    if vendored() is None or vendored(AXE_DIR) is None:
        pytest.fail("Leaflet or axe-core is not vendored: run `python -m maps.vendor_assets`")
    yield from planners(browser, server, WIDE)


@_browser
def test_dragging_a_base_redraws_the_reach_and_changes_the_coverage(planner):
    s = planner(WIDE)
    s.unit(SYD_ALERIS)
    assert s.population(1) == "0,0\u00a0%"  # typical traffic (the configured profile): Handen is far from Södertälje
    drawn = s.drawn()
    s.drag_base("b0", *TOWARD_SODERTALJE)
    s.place_anyway()

    status = s.page.locator("#announce")
    expect(status).to_contain_text("Område 1: 0,0\u00a0% → ", timeout=ANSWER_TIMEOUT_MS)
    after = float(s.population(1).split("\u00a0")[0].replace(",", "."))
    assert after >= 90, s.population(1)
    # Area 1's verdict follows its share (at risk from 80 %, supported from 95 %).
    assert ("stöds." if after >= 95 else "i riskzonen.") in status.inner_text().split("Område 3")[0]
    assert s.drawn() > drawn
    # The new reach (filled) and today's (dashed outline) are both drawn; the base is marked as moved.
    assert s.page.locator('#map path[stroke="#b84a00"]').count() >= 1
    assert s.page.locator('#map path[stroke="#1b1f23"][stroke-dasharray]').count() >= 1
    assert s.page.locator('#map .leaflet-marker-icon[data-key="b0"].mk-moved').count() == 1
    assert "Flyttad" in s.page.locator("#bases").inner_text()
    lat = float(s.page.locator("#lat").input_value().replace(",", "."))
    lon = float(s.page.locator("#lon").input_value().replace(",", "."))
    assert abs(lat - TOWARD_SODERTALJE[0]) < 0.02 and abs(lon - TOWARD_SODERTALJE[1]) < 0.03

    # Undo: back to today.
    s.page.get_by_role("button", name="Återställ alla ändringar").click()
    expect(status).to_contain_text("ASIH Syd Aleris i dag.", timeout=ANSWER_TIMEOUT_MS)
    assert s.population(1) == "0,0\u00a0%"
    assert s.blocked == [] and s.console_errors == []


@_browser
def test_the_report_links_follow_the_unit_and_give_a_pdf(planner, server):
    s = planner(WIDE)
    s.unit(SYD_ALERIS)
    link = s.page.locator("#report-unit")
    expect(link).to_have_text("för ASIH Syd Aleris")
    assert link.get_attribute("href") == f"/v1/reports/{SYD_ALERIS}"
    assert s.page.locator("#report-county").get_attribute("href") == "/v1/reports/county"
    with urllib.request.urlopen(server.url + link.get_attribute("href"), timeout=120) as r:
        assert r.status == 200 and r.headers["content-type"] == "application/pdf" and r.read(5) == b"%PDF-"


@_browser
def test_a_base_moves_by_keyboard_alone(planner):
    s = planner(WIDE)
    s.unit(SYD_ALERIS)
    kb = s.page.keyboard
    status = s.page.locator("#announce")

    # Tab to the "west" button of the move pad, then 20 presses of the left arrow key: 20 km west.
    for _ in range(40):
        kb.press("Tab")
        if s.page.evaluate("document.activeElement.dataset.dir") == "w":
            break
    assert s.page.evaluate("document.activeElement.dataset.dir") == "w"
    for _ in range(20):
        kb.press("ArrowLeft")
    expect(status).to_contain_text("Område 1: 0,0\u00a0% → ", timeout=ANSWER_TIMEOUT_MS)
    assert float(s.population(1).split("\u00a0")[0].replace(",", ".")) > 0
    assert s.page.locator("#changes-count").inner_text() == "1 av 5 ändringar"
    assert s.page.evaluate("document.activeElement.dataset.dir") == "w"  # focus stays where the user is

    # Coordinates typed in the form (Swedish decimal commas), sent with Enter.
    for _ in range(10):
        kb.press("Tab")
        if s.page.evaluate("document.activeElement.id") == "lat":
            break
    assert s.page.evaluate("document.activeElement.id") == "lat"
    kb.press("Control+A")
    kb.type("59,1955")
    kb.press("Tab")
    kb.press("Control+A")
    kb.type("17,6253")
    kb.press("Enter")
    expect(s.page.locator('#coverage tr[data-area="1"] td.pop .after')).to_have_text("98,4\u00a0%",
                                                                                     timeout=ANSWER_TIMEOUT_MS)
    expect(status).to_contain_text("Område 1: 0,0\u00a0% → 98,4\u00a0% av befolkningen, stöds.")

    # A place outside the county is refused in Swedish, and the base goes back to where it was.
    s.page.locator("#lat").fill("57,7089")
    s.page.locator("#lon").fill("11,9746")
    s.page.locator("#lon").press("Enter")
    expect(s.page.locator("#error")).to_contain_text("utanför Stockholms län", timeout=ANSWER_TIMEOUT_MS)
    expect(s.page.locator("#lat")).to_have_value("59,19550", timeout=ANSWER_TIMEOUT_MS)
    assert s.population(1) == "98,4\u00a0%"
    # 404/422 answers are logged by the browser as failed resources; nothing else may be.
    assert [e for e in s.console_errors if "status of 422" not in e] == []
    assert s.blocked == []


@pytest.mark.parametrize("viewport", [WIDE, NARROW], ids=["1280px", "320px"])
@_browser
def test_every_state_has_no_axe_violations(planner, viewport):
    s = planner(viewport)
    problems: dict = {}
    s.unit(SYD_ALERIS)
    s.page.wait_for_timeout(300)  # fitBounds
    s.check("today", problems)

    s.page.locator("#lat").fill("59,19")
    s.page.locator("#lon").fill("17,70")
    s.page.locator("#apply").click()
    s.place_anyway()
    expect(s.page.locator("#announce")).to_contain_text(" → ", timeout=ANSWER_TIMEOUT_MS)
    s.check("moved", problems)

    s.page.select_option("#target", "new")
    s.page.locator("#lat").fill("59,30")
    s.page.locator("#lon").fill("18,30")
    s.page.locator("#apply").click()
    s.place_anyway()
    expect(s.page.locator("#changes-count")).to_have_text("2 av 5 ändringar")
    expect(s.page.locator("#bases li")).to_have_count(2)
    s.page.locator("#busy").wait_for(state="hidden", timeout=ANSWER_TIMEOUT_MS)
    s.page.get_by_role("button", name="Lägg till en bas genom att klicka på kartan").click()
    s.check("added-and-add-mode", problems)

    s.page.locator("#lat").fill("x")
    s.page.locator("#apply").click()
    expect(s.page.locator("#coords-error")).to_be_visible()
    s.check("form-error", problems)

    s.page.locator("#lat").fill("57,7")
    s.page.locator("#lon").fill("11,97")
    s.page.locator("#apply").click()
    expect(s.page.locator("#error")).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    s.check("server-error", problems)

    s.page.emulate_media(forced_colors="active")
    s.check("forced-colours", problems)
    s.page.emulate_media(forced_colors="none")

    assert not problems, json.dumps(problems, indent=1, ensure_ascii=False)
    assert s.blocked == []


def test_the_app_includes_the_whatif_router():
    from api.main import app

    assert "/v1/whatif" in app.openapi()["paths"], (  # included routers are not listed one route each
        "api/app.py must include api.routes.whatif (`for module in (..., whatif):`)")
