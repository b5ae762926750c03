"""The referrer page in a real browser (Debian's chromium, headless) against the real server.

Every request that is not to 127.0.0.1 is aborted and recorded: the page must need nothing from the internet. After
the lookups the server's log must hold no trace of the address or its coordinates.
"""

from __future__ import annotations

import shutil
import time
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from maps.vendor_assets import vendored
from tests.conftest import BROWSER_MARKS

PHONE = {"width": 390, "height": 844}
SMALL_PHONE = {"width": 360, "height": 740}
RESULT_TIMEOUT_MS = 15_000

pytestmark = BROWSER_MARKS


class Session:
    """One browser context and page, with every request recorded and every non-local one aborted."""

    def __init__(self, browser, viewport: dict, block: tuple[str, ...] = ()):
        self.context = browser.new_context(viewport=viewport, locale="sv-SE", service_workers="block")
        self.requests: list[tuple[str, str]] = []
        self.blocked: list[str] = []
        self.context.route("**/*", self._route)
        self._block = block
        self.page = self.context.new_page()
        self.console_errors: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))

    def _route(self, route) -> None:
        request = route.request
        self.requests.append((request.method, request.url))
        host = urlsplit(request.url).hostname
        if host != "127.0.0.1" and not request.url.startswith(("data:", "blob:")):
            self.blocked.append(request.url)
            route.abort()
        elif any(part in request.url for part in self._block):
            route.abort()
        else:
            route.continue_()

    def open(self, url: str) -> None:
        response = self.page.goto(url)
        assert response is not None and response.status == 200, (
            f"GET {url} answered {response and response.status}: is api.routes.web.router included in api/app.py?"
        )
        self.history_length = self.page.evaluate("history.length")

    def search(self, text: str) -> None:
        self.page.get_by_label("Adress, postnummer eller koordinater").fill(text)
        self.page.get_by_role("button", name="Sök", exact=True).click()

    def wait_result(self) -> None:
        self.page.locator("#result").wait_for(state="visible", timeout=RESULT_TIMEOUT_MS)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def session_factory(browser):
    sessions = []

    def make(viewport: dict = PHONE, block: tuple[str, ...] = ()) -> Session:
        s = Session(browser, viewport, block)
        sessions.append(s)
        return s

    yield make
    for s in sessions:
        s.close()


def _assert_log_clean(live_server, forbidden: tuple[str, ...]) -> None:
    # The access log must show the lookups happened (so an empty log cannot pass), and nothing of what was asked.
    deadline = time.monotonic() + 5
    text = live_server.log_text()
    while "POST /v1/lookup" not in text and time.monotonic() < deadline:
        time.sleep(0.1)
        text = live_server.log_text()
    assert "POST /v1/lookup" in text
    for term in forbidden:
        assert term not in text, f"the server log contains {term!r}"


def _assert_private(s: Session, forbidden: tuple[str, ...]) -> None:
    assert s.blocked == [], f"the page tried to reach the internet: {s.blocked}"
    for term in forbidden:
        assert term not in s.page.url
        assert not [url for _, url in s.requests if term in url], f"{term!r} went into a request URL"
    lookups = [method for method, url in s.requests if urlsplit(url).path.startswith("/v1/lookup")]
    assert lookups and set(lookups) == {"POST"}
    assert s.page.evaluate("localStorage.length + sessionStorage.length") == 0
    assert s.page.evaluate("history.length") == s.history_length  # no pushState, no navigation


def test_address_lookup_on_a_phone(live_server, session_factory, tmp_path):
    s = session_factory(PHONE)
    s.open(live_server.url + "/")
    assert s.page.locator('meta[name="referrer"]').get_attribute("content") == "no-referrer"
    assert s.page.locator("#search").get_attribute("autocomplete") == "off"

    s.search("Fjällgatan 44, Stockholm")
    s.wait_result()

    assert "Område 4 – Södermalm / Nacka–Värmdö" in s.page.locator("#area").inner_text()
    assert "hypotes" in s.page.locator("#area").inner_text()
    assert s.page.locator("#precision").inner_text() == "Precision: gata"
    eligible = s.page.locator("#eligible tbody tr")
    assert eligible.count() >= 3
    assert "Ersta Diakoni" in s.page.locator("#eligible").inner_text()
    # Ranked by drive time: Ersta sjukhus is on Södermalm, a few minutes away and within the limit.
    first = eligible.first.inner_text()
    assert "ASIH Ersta Diakoni" in first and "✓" in first
    assert s.page.get_by_text("Når platsen men är inte godkända här (ej valbara)").is_visible()
    assert s.page.get_by_text("Adressen sparas eller loggas inte.").is_visible()
    assert s.page.get_by_text("© OpenStreetMap contributors, Lantmäteriet, SCB, Stockholms stad, GeoNames").is_visible()

    if vendored() is not None:
        # Area outline (SVG) + patient point + numbered bases (named pictures), without any tile server.
        expect(s.page.locator("#map .leaflet-overlay-pane path")).to_have_count(1, timeout=RESULT_TIMEOUT_MS)
        expect(s.page.locator("#map .mk-base").first).to_be_attached(timeout=RESULT_TIMEOUT_MS)
        assert s.page.locator("#map .mk-point").count() == 1
        s.page.wait_for_timeout(300)  # let fitBounds settle before the screenshot

    shot = tmp_path / "asih-web.png"
    s.page.screenshot(path=str(shot), full_page=True)
    shutil.copyfile(shot, "/tmp/asih-web.png")

    assert s.console_errors == []
    _assert_private(s, ("Fj", "llgatan", "59.31"))
    _assert_log_clean(live_server, ("Fj", "llgatan", "59.31", "18.08"))


def test_street_in_two_towns_and_postcode(live_server, session_factory):
    s = session_factory(SMALL_PHONE)
    s.open(live_server.url + "/")

    # A street in two towns is not guessed: the area is asked for, and one click answers.
    s.search("Storgatan")
    choices = s.page.locator("#choice button")
    choices.first.wait_for(timeout=RESULT_TIMEOUT_MS)
    labels = [" ".join(t.split()) for t in choices.all_inner_texts()]
    assert "B Solna kommun – område 6, Västerort" in labels, labels
    assert s.page.locator("#eligible").count() == 0
    s.page.get_by_role("button", name="Solna kommun – område 6, Västerort").click()
    expect(s.page.locator("#area")).to_contain_text("Område 6 – Västerort", timeout=RESULT_TIMEOUT_MS)
    assert s.page.locator("#precision").inner_text() == "Precision: gata"
    assert s.page.locator("#eligible tbody tr").count() >= 3

    s.search("116 28")
    expect(s.page.locator("#precision")).to_have_text("Precision: postnummer", timeout=RESULT_TIMEOUT_MS)
    # How sure the answer is: its caveats, or (an uncertain area) the question, asked once in the choice section.
    assert s.page.locator("#answer .cautions li, #answer .decisive li, #answer details.info li, #answer #choice").count() >= 1

    # Fits a 360 px phone: no sideways scrolling.
    assert s.page.evaluate("document.documentElement.scrollWidth") <= SMALL_PHONE["width"]
    _assert_private(s, ("Storgatan", "Solna", "116"))
    _assert_log_clean(live_server, ("Storgatan", "Solna", "116 28", "116%2028"))


def test_outside_county_and_without_map(live_server, session_factory):
    # Leaflet unavailable: the answer must still be shown, with a note instead of the map.
    s = session_factory({"width": 1280, "height": 900}, block=("/static/vendor/",))
    s.open(live_server.url + "/")

    s.search("Göteborg")
    s.wait_result()
    assert s.page.locator("#area").inner_text() == "Utanför Stockholms län"
    assert "Utanför Stockholms län" in s.page.locator("#answer .decisive").inner_text()
    assert s.page.locator("#eligible").count() == 0
    assert s.page.locator("#map-box").is_hidden()  # no lone dot under a legend promising more

    s.search("Fjällgatan 44, Stockholm")
    expect(s.page.locator("#area")).to_contain_text("Område 4", timeout=RESULT_TIMEOUT_MS)
    assert "Ersta Diakoni" in s.page.locator("#eligible").inner_text()
    expect(s.page.locator("#map-note")).to_contain_text("Kartan kunde inte visas", timeout=RESULT_TIMEOUT_MS)
    _assert_private(s, ("Fj", "llgatan", "teborg"))
    _assert_log_clean(live_server, ("Fj", "llgatan", "teborg", "59.31", "57.70"))
