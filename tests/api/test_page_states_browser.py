"""Every state of the referrer page has a next step, fits a phone and prints without overlap (issue 23, items 2–4).

Real chromium against the real server (``live_server``), axe-core injected as in ``test_page_a11y``. The states:
an answer, an uncertain area, a one-town question, a query not found, a place outside the county and a point far
from any road. A map click in the error state is located and checked like any other point: the page asks the server
for those coordinates, and a point far from a road is answered with the server's decisive warning and the next step.
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from maps.vendor_assets import vendored
from tests.api.test_browser import RESULT_TIMEOUT_MS, _assert_log_clean, _assert_private
from tests.api.test_page_a11y import ANSWER, NARROW, OUTSIDE, SHOTS, UNKNOWN, WIDE, Page, open_pages
from tests.conftest import BROWSER_MARKS, missing

pytestmark = BROWSER_MARKS

UNCERTAIN = "Stockholm"  # a postal town over four areas: 15 boroughs to choose from
ONE_TOWN = "Fjällgatan 44"  # a street without its town: "Gäller det Fjällgatan, Stockholm?"
FAR = (59.40, 18.55)  # open water in the archipelago, area 4: 2.6 km from the nearest drivable road
COUNTY = [[58.74, 17.23], [60.23, 19.15]]  # the error state's map frame, as app.js fits it
A4_CSS_PX = {"width": 711, "height": 1000}  # A4 less the print margins (188 mm) at 96 px per inch
PRIVATE = ("Fj", "llgatan", "Qwxzyv", "teborg")

OVERLAPS = """() => {
    // Every line box of visible text, and the table cell holding it; two texts never share a spot, and a cell's
    // text stays inside the cell (an overflow into the next column is an overprint waiting for a neighbour).
    const hidden = (n) => { for (let e = n; e; e = e.parentElement) { const c = getComputedStyle(e);
        if (c.display === "none" || c.visibility === "hidden" || (c.clip && c.clip !== "auto")) return true; }
        return false; };
    const boxes = [], out = [];
    const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
        const p = n.parentElement;
        if (!n.textContent.trim() || p.closest("script, #map") || hidden(p)) continue;
        const range = document.createRange();
        range.selectNodeContents(n);
        const cell = p.closest("td, th");
        const c = cell && cell.getBoundingClientRect();
        for (const r of range.getClientRects()) {
            if (r.width < 0.5 || r.height < 0.5) continue;
            const text = n.textContent.trim().slice(0, 40);
            boxes.push({text, l: r.left, t: r.top, r: r.right, b: r.bottom});
            if (c && (r.left < c.left - 1 || r.right > c.right + 1)) out.push("out of its cell: " + text);
        }
    }
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i], b = boxes[j];
        if (a.l + 1 < b.r && b.l + 1 < a.r && a.t + 1 < b.b && b.t + 1 < a.b) out.push(a.text + " ⟷ " + b.text);
    }
    return {boxes: boxes.length, out};
}"""

BROKEN_WORDS = """() => {
    // A word of a button's text laid out on two lines is broken ("Logg / a in").
    const out = [];
    for (const b of document.querySelectorAll("button")) {
        if (!b.offsetParent) continue;
        const walk = document.createTreeWalker(b, NodeFilter.SHOW_TEXT);
        for (let n = walk.nextNode(); n; n = walk.nextNode()) {
            if (n.parentElement.closest(".sr")) continue;
            for (const m of n.textContent.matchAll(/[^\\s–-]+/g)) {
                const r = document.createRange();
                r.setStart(n, m.index);
                r.setEnd(n, m.index + m[0].length);
                const lines = new Set([...r.getClientRects()].filter(x => x.width > 0).map(x => Math.round(x.top)));
                if (lines.size > 1) out.push(m[0] + " in " + b.textContent.trim().slice(0, 40));
            }
        }
    }
    return out;
}"""


@pytest.fixture
def pages(browser):
    yield from open_pages(browser)


def _needs_leaflet() -> None:
    if vendored() is None:
        missing("Leaflet is not vendored: run `python -m maps.vendor_assets`")


def _print_overlaps(s: Page, state: str) -> list[str]:
    """The state printed (print media, the A4 text width): every overlap of two text boxes."""
    viewport = s.page.viewport_size
    s.page.emulate_media(media="print")
    s.page.set_viewport_size(A4_CSS_PX)
    try:
        s.page.evaluate("document.querySelectorAll('#result details').forEach(d => d.open = true)")
        found = s.page.evaluate(OVERLAPS)
        SHOTS.mkdir(exist_ok=True)
        s.page.screenshot(path=str(SHOTS / f"print-state-{state}.png"), full_page=True)
        assert found["boxes"] >= 5, found  # the page has text to check
        return found["out"]
    finally:
        s.page.emulate_media(media="screen")
        s.page.set_viewport_size(viewport)
        s.page.evaluate("document.querySelectorAll('#result details').forEach(d => d.open = false)")


def _twin_centre(s: Page, pan_x: int) -> dict:
    """The centre of the error state's map after a pan of ``pan_x`` pixels (as an arrow key pans it), and how many
    degrees two pixels are there, from a twin Leaflet map of the same size fitted to the same frame."""
    return s.page.evaluate(
        """([frame, panX]) => {
            const real = document.getElementById("map");
            const div = document.createElement("div");
            div.style.cssText = `position:absolute;left:-5000px;top:0;width:${real.clientWidth}px;height:${real.clientHeight}px`;
            document.body.append(div);
            const twin = L.map(div, {zoomControl: false, attributionControl: false});
            twin.fitBounds(frame);
            twin.panBy([panX, 0], {animate: false});
            const c = twin.getCenter();
            const p = twin.latLngToContainerPoint(c);
            const off = twin.containerPointToLatLng([p.x + 2, p.y + 2]);
            twin.remove();
            div.remove();
            return {lat: c.lat, lon: c.lng, dlat: Math.abs(off.lat - c.lat), dlon: Math.abs(off.lng - c.lng)};
        }""",
        [COUNTY, pan_x],
    )


def _map_point(s: Page, lat: float, lon: float) -> dict:
    """Where (lat, lon) is on the error state's map, in page pixels, and how many degrees two pixels are there
    (``dlat``, ``dlon``): a twin Leaflet map of the same size, fitted to the same frame, says (the page's own map is
    private to app.js)."""
    return s.page.evaluate(
        """([frame, lat, lon]) => {
            const real = document.getElementById("map");
            const box = real.getBoundingClientRect();
            const div = document.createElement("div");
            div.style.cssText = `position:absolute;left:-5000px;top:0;width:${real.clientWidth}px;height:${real.clientHeight}px`;
            document.body.append(div);
            const twin = L.map(div, {zoomControl: false, attributionControl: false});
            twin.fitBounds(frame);
            const p = twin.latLngToContainerPoint([lat, lon]);
            const off = twin.containerPointToLatLng([p.x + 2, p.y + 2]);  // two pixels: the click is whole pixels
            twin.remove();
            div.remove();
            return {x: box.left + real.clientLeft + p.x, y: box.top + real.clientTop + p.y,
                    dlat: Math.abs(off.lat - lat), dlon: Math.abs(off.lng - lon)};
        }""",
        [COUNTY, lat, lon],
    )


@pytest.mark.parametrize("viewport", [WIDE, NARROW], ids=["1280px", "320px"])
def test_every_state_offers_a_next_step_without_axe_violations_or_print_overlap(live_server, pages, viewport):
    _needs_leaflet()
    w = viewport["width"]
    problems: dict = {}
    overlaps: dict = {}
    broken: dict = {}
    s = pages(viewport)
    s.open(live_server.url + "/")

    def state(name: str) -> None:
        s.check(name, w, problems)
        if found := s.page.evaluate(BROKEN_WORDS):
            broken[name] = found
        if found := _print_overlaps(s, f"{name}-{w}"):
            overlaps[name] = found[:6]

    # An answer: the map is one link away (focus lands on it).
    s.ask(ANSWER)
    s.answered()
    link = s.page.locator("#to-map-line a")
    expect(link).to_be_visible()
    link.click()
    assert s.page.evaluate("document.activeElement.id") == "map"
    state("answer")

    # A free-flow-only caution in a unit row: it once overprinted the Bas column on paper.
    s.ask("59.43115, 17.79169")
    s.answered()
    expect(s.page.locator("#eligible .traffic").first).to_contain_text("bara utan trafik")
    state("free-flow-only")

    # An uncertain area: the question is asked once (not also as a decisive warning above it), the map a link away.
    s.ask(UNCERTAIN)
    s.answered()
    assert s.page.locator("#answer > *").first.get_attribute("id") == "choice"
    assert "Området kan inte avgöras" not in s.page.locator("#answer").inner_text()
    assert s.page.locator("#choice button").count() >= 2
    expect(s.page.locator("#choice .map-pick a")).to_have_text("Eller klicka där patienten är på kartan.")
    expect(s.page.locator("#pick-centre")).to_be_visible()
    state("uncertain")

    # A one-town question: "yes" and "no, another town" with a field for the town.
    s.ask(ONE_TOWN)
    s.answered()
    assert s.page.locator("#choice-heading").inner_text().startswith("Gäller det Fjällgatan")
    expect(s.page.get_by_label("Nej, en annan ort – skriv orten eller postnumret:")).to_be_visible()
    state("one-town")

    # Not found: what to type instead, and the county's map to click on.
    s.ask(UNKNOWN)
    s.failed()
    steps = s.page.locator("#next-steps")
    expect(steps).to_be_visible()
    assert "postnummer och ort" in steps.inner_text() and "59.3121, 18.0838" in steps.inner_text()
    expect(s.page.locator("#next-map a")).to_be_visible()
    expect(s.page.locator("#map-box")).to_be_visible()
    assert s.page.locator("#map").get_attribute("aria-label").startswith("Karta över Stockholms län")
    assert "Sök kartans mittpunkt" in s.page.locator("#map-note").inner_text()
    state("not-found")
    # The same next steps in English, the map's note and name included.
    s.page.get_by_role("link", name="English").click()
    expect(s.page.locator("#q-error")).to_contain_text("Error:", timeout=RESULT_TIMEOUT_MS)
    assert "Type the address again with postcode and town" in steps.inner_text()
    assert "Search the map's centre" in s.page.locator("#map-note").inner_text()
    expect(s.page.locator("#pick-centre")).to_have_text("Search the map's centre")
    assert s.page.locator("#map").get_attribute("aria-label").startswith("Map of Stockholm County")
    s.page.get_by_role("link", name="Svenska").click()
    expect(s.page.locator("#q-error")).to_contain_text("Fel:", timeout=RESULT_TIMEOUT_MS)

    # Outside the county: whom to contact, or how to search again.
    s.ask(OUTSIDE)
    s.answered()
    assert s.page.locator("#outside-next").inner_text().startswith("Bor patienten i en annan region")
    assert s.page.locator("#map-box").is_hidden()
    state("outside")

    assert not problems, json.dumps(problems, indent=1, ensure_ascii=False)
    assert not broken, broken
    assert not overlaps, json.dumps(overlaps, indent=1, ensure_ascii=False)
    assert [e for e in s.console_errors if "status of 422" not in e] == []
    _assert_private(s, PRIVATE)


@pytest.mark.parametrize("viewport", [WIDE, NARROW], ids=["1280px", "320px"])
def test_a_map_click_in_the_error_state_is_located_and_checked(live_server, pages, viewport):
    _needs_leaflet()
    w = viewport["width"]
    s = pages(viewport)
    s.open(live_server.url + "/")
    s.ask(UNKNOWN)
    s.failed()
    # The map is one link away from the error.
    s.page.locator("#next-map a").click()
    assert s.page.evaluate("document.activeElement.id") == "map"
    s.page.wait_for_timeout(350)  # the frame's fitting, before the twin measures it

    # A click in open water is a lookup by coordinates, answered with the server's warning and what to do next.
    xy = _map_point(s, *FAR)
    s.page.mouse.click(xy["x"], xy["y"])
    s.answered()
    asked = s.lookups[-1]
    assert set(asked) == {"lat", "lon", "lang", "view"} and asked["lang"] == "sv"
    assert abs(asked["lat"] - FAR[0]) < xy["dlat"] and abs(asked["lon"] - FAR[1]) < xy["dlon"], (asked, xy)
    assert s.page.locator("#q").input_value() == f"{asked['lat']}, {asked['lon']}"
    assert s.page.locator("#precision").inner_text() == "Precision: koordinater"
    decisive = s.page.locator("#answer .decisive").inner_text()
    assert re.search(r"Punkten ligger \d+ m från närmaste bilväg", decisive), decisive
    assert int(re.search(r"Punkten ligger (\d+) m", decisive).group(1)) > 1500
    assert "Punkten ligger" in s.page.locator("#summary").inner_text()  # spoken, too
    expect(s.page.locator("#far-next")).to_have_text(
        "Kontrollera punkten: sök på patientens adress, eller ange en punkt vid vägen till bostaden.")
    assert s.page.locator("#error").is_hidden() and s.page.locator("#next-steps").is_hidden()
    assert s.page.locator("#pick-line").is_hidden()  # an answer's map is not a picker
    problems: dict = {}
    s.check("far-from-road", w, problems)
    assert not problems, json.dumps(problems, indent=1, ensure_ascii=False)
    assert not _print_overlaps(s, f"far-from-road-{w}")

    assert [e for e in s.console_errors if "status of 422" not in e] == []
    _assert_private(s, ("Qwxzyv", "59.4", "18.5"))
    _assert_log_clean(live_server, ("Qwxzyv", f"{asked['lat']}", f"{asked['lon']}"))


@pytest.mark.parametrize("viewport", [WIDE, NARROW], ids=["1280px", "320px"])
def test_the_keyboard_picks_the_map_centre_in_the_error_state(live_server, pages, viewport):
    _needs_leaflet()
    s = pages(viewport)
    s.open(live_server.url + "/")
    s.ask(UNKNOWN)
    s.failed()
    s.page.wait_for_timeout(350)  # the frame's fitting, before the twin measures it
    moved = _twin_centre(s, -80)  # where an arrow key (Leaflet pans 80 px) takes the centre
    kb = s.page.keyboard
    for _ in range(12):  # from the search field, by Tab, to the map
        kb.press("Tab")
        if s.page.evaluate("document.activeElement.id") == "map":
            break
    assert s.page.evaluate("document.activeElement.id") == "map"
    kb.press("ArrowLeft")
    s.page.wait_for_timeout(600)  # the pan's animation
    for _ in range(8):
        kb.press("Tab")
        if s.page.evaluate("document.activeElement.id") == "pick-centre":
            break
    kb.press("Enter")
    s.answered()
    asked = s.lookups[-1]
    assert abs(asked["lat"] - moved["lat"]) < moved["dlat"] and abs(asked["lon"] - moved["lon"]) < moved["dlon"], (
        asked, moved)
    assert s.page.locator("#matched").inner_text() == f"{asked['lat']:.5f}, {asked['lon']:.5f}"
    assert s.page.locator("#precision").inner_text() == "Precision: koordinater"
    assert [e for e in s.console_errors if "status of 422" not in e] == []
    _assert_log_clean(live_server, ("Qwxzyv", f"{asked['lat']}", f"{asked['lon']}"))


def test_on_a_phone_the_question_and_its_buttons_follow_the_summary(live_server, pages):
    s = pages(NARROW)
    s.open(live_server.url + "/")
    screen = NARROW["height"]
    confirms = ((ONE_TOWN, "#other-town-search"), ("Mariebergsgtan 22", "#other-town-search"))  # "Menade du …?"
    for query, last in ((UNCERTAIN, "#choice ul.choices button"), *confirms):
        s.ask(query)
        s.answered()
        tops = s.page.evaluate(
            """(sel) => {
                const y = (e) => e.getBoundingClientRect();
                return {summary: y(document.getElementById("summary")).top,
                        first: y(document.querySelector("#choice ul.choices button")).bottom,
                        last: y(document.querySelector(sel)).bottom};
            }""",
            last,
        )
        # The summary takes focus and the first screen from it holds the question's first button (and, for a
        # confirmation, the other town's field and its button), in view without scrolling.
        assert tops["first"] - tops["summary"] <= screen, (query, tops)
        assert tops["last"] - tops["summary"] <= screen, (query, tops)
        assert 0 <= tops["summary"] and tops["last"] <= screen, (query, tops)
        assert s.page.evaluate(BROKEN_WORDS) == []
    s.ask(ONE_TOWN)
    s.answered()
    # "No, another town": the same street asked in the town typed.
    s.page.get_by_label("Nej, en annan ort – skriv orten eller postnumret:").fill("116 28")
    s.page.get_by_role("button", name="Sök med den orten").click()
    s.answered()
    assert s.lookups[-1] == {"address": "Fjällgatan 44, 116 28", "lang": "sv", "view": True}
    assert s.page.locator("#q").input_value() == "Fjällgatan 44, 116 28"
    assert s.page.locator("#summary").inner_text().startswith("Område 4 – Södermalm / Nacka–Värmdö.")
    _assert_private(s, ("Fj", "llgatan", "116"))


def test_provider_page_buttons_keep_their_words_whole_at_320px(live_server, pages):
    s = pages(NARROW)
    s.open(live_server.url + "/leverantor")
    expect(s.page.locator("#login-button")).to_be_visible()
    assert s.page.evaluate(BROKEN_WORDS) == []
    box = s.page.locator("#login-button").bounding_box()
    assert box["height"] < 60, box  # one line


def test_without_javascript_the_error_and_question_offer_what_the_page_can_do(live_server, browser):
    context = browser.new_context(java_script_enabled=False, viewport=NARROW, locale="sv-SE")
    try:
        page = context.new_page()
        page.goto(live_server.url + "/")

        def post(fill: dict, button=None) -> int:
            for sel, value in fill.items():
                page.locator(sel).fill(value)
            with page.expect_navigation() as nav:
                (button or page.locator("#submit")).click()
            return nav.value.status

        # Not found: the next steps this page supports, and no word of a map it cannot show.
        assert post({"#q": UNKNOWN}) == 422
        main = page.locator("main").inner_text()
        assert page.locator("#next-steps").is_visible() and "postnummer och ort" in main
        assert "kart" not in main.lower(), main
        assert page.locator("#next-map").is_hidden()

        # An uncertain area: buttons, and coordinates rather than "a point on the map".
        assert post({"#q": UNCERTAIN}) == 200
        main = page.locator("main").inner_text()
        assert page.locator("#choice button").count() >= 2 and "koordinater (lat, lon)" in main
        # The one word of a map is the note that this page has none.
        assert re.findall(r"\w*kart\w*", main) == ["karta"] and "Svaret visas utan karta" in main, main

        # A one-town question: "no, another town" is a field and a button, posted to /svar.
        assert post({"#q": ONE_TOWN}) == 200
        assert post({"#other-town": "116 28"}, page.get_by_role("button", name="Sök med den orten")) == 200
        assert page.url == live_server.url + "/svar"
        assert page.locator("#summary").inner_text().startswith("Område 4 – Södermalm / Nacka–Värmdö.")
        assert page.locator("#q").input_value() == "Fjällgatan 44, 116 28"
    finally:
        context.close()
    _assert_log_clean(live_server, ("Fj", "llgatan", "Qwxzyv", "116 28", "116+28"))
