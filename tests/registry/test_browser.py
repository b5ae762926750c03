"""The provider page in a real browser (Debian's chromium) against a real uvicorn server with a temporary registry.

A provider signs in with a token, changes the free places in two clicks (and once more by keyboard alone), and the
public ``GET /v1/units/{unit}/availability`` then gives the new number with its age. The token stays in the page's
memory: never in storage, cookies, URLs, the DOM after sign-in, or the server's log. axe-core (vendored for the
tests only) finds no WCAG 2.1 A/AA violation in any state, on a desk and on a phone-sized screen.

Then the referrer's side (issue 14): a lookup on ``/`` shows each eligible unit's free places with their age (a
report of 0 marked "Fullt", a stale one as stale, not as a number), and so does the answer without JavaScript
(``POST /svar``).
"""

from __future__ import annotations

import json
import re
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from core.settings import Settings
from maps.vendor_assets import AXE_DIR, AXE_JS
from registry.service import RegistryService, cli_actor
from tests.conftest import BROWSER_MARKS
from tests.live_server import serve, uvicorn_command

pytestmark = BROWSER_MARKS

WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 320, "height": 640}  # also 1280 px at 400 % zoom
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
UNIT = "ersta-diakoni"
ADDRESS = "Fjällgatan 44, Stockholm"  # area 4, where ersta-diakoni (nearest), nacka-capio and dalen-capio are approved
SHOTS = Path("/tmp/asih-shots")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """uvicorn with the registry's router, a temporary SQLite registry and one provider token for ersta-diakoni."""
    tmp = tmp_path_factory.mktemp("registry_live")
    env_settings = {"ASIH_REGISTRY_URL": f"sqlite:///{tmp / 'registry.sqlite3'}",
                    "ASIH_REGISTRY_SECRET_FILE": str(tmp / "registry.secret")}
    svc = RegistryService.from_settings(Settings(registry_url=env_settings["ASIH_REGISTRY_URL"],
                                                 registry_secret_file=Path(env_settings["ASIH_REGISTRY_SECRET_FILE"])))
    _, token = svc.add_user(cli_actor(), "provider", [UNIT], "Anna på Ersta")
    svc.close()
    with serve(tmp, lambda port, log_config: uvicorn_command("tests.registry.live_app:create", port, log_config,
                                                             "--factory"),
               extra_env={**env_settings, "PYTHONUNBUFFERED": "1"}) as live:
        yield SimpleNamespace(url=live.url, token=token, log_path=live.log_path, settings=env_settings)


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


class Page:
    """A browser context that reaches only 127.0.0.1, records every request, and can run axe."""

    def __init__(self, browser, viewport: dict):
        self.context = browser.new_context(viewport=viewport, locale="sv-SE", service_workers="block")
        if (AXE_DIR / AXE_JS).exists():
            self.context.add_init_script(path=str(AXE_DIR / AXE_JS))
        self.requests: list[str] = []
        self.blocked: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.console_errors: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))

    def _route(self, route) -> None:
        url = route.request.url
        self.requests.append(url)
        if urlsplit(url).hostname != "127.0.0.1" and not url.startswith(("data:", "blob:")):
            self.blocked.append(url)
            route.abort()
        else:
            route.continue_()

    def axe(self) -> list[dict]:
        if not (AXE_DIR / AXE_JS).exists():
            pytest.fail("axe-core is not vendored: run `python -m maps.vendor_assets`")
        return self.page.evaluate(
            """async (tags) => {
                const r = await axe.run(document, {runOnly: {type: "tag", values: tags}});
                return r.violations.map(v => ({id: v.id, help: v.help,
                    nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " :: " + n.failureSummary)}));
            }""",
            AXE_TAGS,
        )

    def tab_to(self, element_id: str, max_presses: int = 15) -> None:
        """Press Tab until ``element_id`` has focus (fails when it is not reachable by keyboard)."""
        for _ in range(max_presses):
            self.page.keyboard.press("Tab")
            if self.page.evaluate("document.activeElement && document.activeElement.id") == element_id:
                return
        pytest.fail(f"#{element_id} was not reached with Tab")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def pages(browser):
    made = []

    def make(viewport: dict = WIDE) -> Page:
        p = Page(browser, viewport)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


def test_provider_updates_free_places_in_two_clicks(server, pages):
    s = pages(WIDE)
    response = s.page.goto(server.url + "/leverantor")
    assert response is not None and response.status == 200
    page = s.page
    assert page.locator("html").get_attribute("lang") == "sv"
    problems = {"sign-in": s.axe()}

    page.get_by_label("Nyckel").fill(server.token)
    page.get_by_role("button", name="Logga in").click()
    expect(page.locator("#report-heading")).to_be_focused()
    expect(page.locator("#current")).to_have_text("Ingen rapport ännu")
    expect(page.locator("#who")).to_have_text("Inloggad som Anna på Ersta (leverantör).")
    assert page.get_by_label("Nyckel").input_value() == ""  # the token is not left in the page
    problems["signed-in"] = s.axe()

    # Two clicks: one more place, save.
    page.get_by_role("button", name="En plats fler").click()
    page.get_by_role("button", name="Spara").click()
    expect(page.locator("#status")).to_contain_text("Sparat: 1 ledig plats")
    expect(page.locator("#current")).to_have_text("1 ledig plats")
    expect(page.locator("#current-age")).to_contain_text("Rapporterat nyss")
    problems["saved"] = s.axe()
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "provider-saved-1280.png"), full_page=True)

    public = _get_json(f"{server.url}/v1/units/{UNIT}/availability")
    assert (public["free_places"], public["status"], public["stale"]) == (1, "current", False)
    assert 0 <= public["age_s"] <= 60
    reported = datetime.fromisoformat(public["reported_at"])
    assert abs((datetime.now(UTC) - reported).total_seconds()) < 60

    # The same by keyboard alone: Tab to "+", Space, Tab to "Spara", Enter.
    s.tab_to("plus")
    page.keyboard.press("Space")
    s.tab_to("save")
    page.keyboard.press("Enter")
    expect(page.locator("#current")).to_have_text("2 lediga platser")
    assert _get_json(f"{server.url}/v1/units/{UNIT}/availability")["free_places"] == 2

    # "Unchanged": one click re-reports the same number with a new time.
    page.get_by_role("button", name="Oförändrat – bekräfta").click()
    expect(page.locator("#status")).to_contain_text("Sparat: 2 lediga platser")

    assert {k: v for k, v in problems.items() if v} == {}
    assert s.console_errors == [] and s.blocked == []
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    assert s.context.cookies() == []
    assert server.token not in page.content()
    assert not [u for u in s.requests if server.token in u]
    assert server.token not in server.log_path.read_text(errors="replace")

    page.get_by_role("button", name="Logga ut och glöm nyckeln").click()
    expect(page.get_by_label("Nyckel")).to_be_focused()
    expect(page.locator("#report")).to_be_hidden()


def test_wrong_token_is_explained_and_the_page_fits_a_phone(server, pages):
    s = pages(NARROW)
    s.page.goto(server.url + "/leverantor")
    page = s.page
    page.get_by_label("Nyckel").fill("asih_00000000_" + "x" * 43)
    page.get_by_label("Nyckel").press("Enter")
    expect(page.locator("#error")).to_contain_text("Nyckeln gäller inte")
    expect(page.get_by_label("Nyckel")).to_be_focused()
    assert page.get_by_label("Nyckel").get_attribute("aria-invalid") == "true"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert s.axe() == []

    page.get_by_label("Nyckel").fill(server.token)
    page.get_by_role("button", name="Logga in").click()
    expect(page.locator("#error")).to_be_hidden()
    expect(page.locator("#report-heading")).to_be_focused()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert s.axe() == []
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "provider-signed-in-320.png"), full_page=True)
    assert s.console_errors == ["Failed to load resource: the server responded with a status of 401 (Unauthorized)"]


def _post_json(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"},
                                 method="POST")
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def _free_cells(page) -> dict[str, str]:
    """Each eligible unit's capacity cell (free places, the provider's note), whitespace collapsed."""
    rows = page.locator("#eligible tbody tr")
    return {row.get_attribute("data-unit"): re.sub(r"\s+", " ", row.locator("td").nth(4).text_content()).strip()
            for row in rows.all()}


JUST_NOW = r"rapporterat (nyss|för \d+ min sedan)"


def test_a_referrer_sees_the_reported_free_places_with_their_age(server, pages, browser):
    """Provider → registry → referrer page (with and without JavaScript), through the real server and database."""
    eligible = [e["id"] for e in _post_json(server.url + "/v1/lookup", {"address": ADDRESS})["eligible"]]
    assert {UNIT, "nacka-capio", "dalen-capio"} <= set(eligible), eligible  # approved for the address's area
    assert eligible[0] == UNIT

    # The provider reports 3 free places and a note on /leverantor.
    s = pages(WIDE)
    s.page.goto(server.url + "/leverantor")
    s.page.get_by_label("Nyckel").fill(server.token)
    s.page.get_by_role("button", name="Logga in").click()
    expect(s.page.locator("#report-heading")).to_be_focused()
    s.page.locator("#places").fill("3")
    s.page.get_by_label("Kort notering (valfri)").fill("Ring före 14 <b>då</b>")
    s.page.get_by_role("button", name="Spara").click()
    expect(s.page.locator("#status")).to_contain_text("Sparat: 3 lediga platser")

    # Two more units eligible there: one full now, one whose last report is 30 hours old.
    live = RegistryService.from_settings(Settings(registry_url=server.settings["ASIH_REGISTRY_URL"],
                                                  registry_secret_file=Path(server.settings["ASIH_REGISTRY_SECRET_FILE"])),
                                         auto_import=False)
    try:
        live.set_availability(cli_actor(), "nacka-capio", 0)
        live.clock = lambda: datetime.now(UTC) - timedelta(hours=30)
        live.set_availability(cli_actor(), "dalen-capio", 2, "Ring först")
    finally:
        live.close()

    def check(cells: dict[str, str]) -> None:
        assert re.fullmatch(rf"Lediga platser: 3 \({JUST_NOW}\) Enhetens notering: Ring före 14 <b>då</b>",
                            cells[UNIT]), cells[UNIT]
        assert re.fullmatch(rf"Fullt – 0 lediga platser \({JUST_NOW}\)", cells["nacka-capio"]), cells["nacka-capio"]
        assert cells["dalen-capio"] == ("⚠ Lediga platser: uppgiften är 30 tim gammal – ring och fråga "
                                        "Enhetens notering: Ring först")  # stale: its age, not its number
        assert all(cells[u] == "Lediga platser: ej rapporterat" for u in eligible if u not in (UNIT, "nacka-capio",
                                                                                                "dalen-capio"))
        assert list(cells) == eligible  # the full unit stays listed, in its place

    # The referrer, with JavaScript, on a desk and on a phone.
    scripted = None
    SHOTS.mkdir(exist_ok=True)
    for viewport in (WIDE, NARROW):
        r = pages(viewport)
        r.page.goto(server.url + "/")
        r.page.locator("#q").fill(ADDRESS)
        r.page.locator("#q").press("Enter")
        expect(r.page.locator("#summary")).to_contain_text("Område 4", timeout=60_000)
        expect(r.page.locator("#summary")).to_be_focused()
        if r.page.locator("#map-box").is_visible():
            expect(r.page.locator("#map .mk-point")).to_have_count(1)
            r.page.wait_for_timeout(350)
        scripted = _free_cells(r.page)
        check(scripted)
        assert r.page.locator(f"#eligible tr[data-unit={UNIT}] b").count() == 0  # the note is text
        assert r.page.locator("#eligible td[data-free=full]").count() == 1
        assert r.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert r.axe() == []
        r.page.screenshot(path=str(SHOTS / f"referrer-free-places-{viewport['width']}.png"), full_page=True)
        assert r.console_errors == [] and r.blocked == []

    # Without JavaScript: the form posts to /svar and the server renders the same.
    context = browser.new_context(java_script_enabled=False, viewport=NARROW, locale="sv-SE")
    try:
        page = context.new_page()
        page.goto(server.url + "/")
        page.locator("#q").fill(ADDRESS)
        with page.expect_navigation() as nav:
            page.locator("#q").press("Enter")
        assert nav.value.status == 200 and page.url == server.url + "/svar"
        served = _free_cells(page)
        check(served)
        page.screenshot(path=str(SHOTS / "referrer-free-places-nojs-320.png"), full_page=True)
    finally:
        context.close()
    norm = lambda cells: {u: re.sub(JUST_NOW, "rapporterat …", c) for u, c in cells.items()}  # noqa: E731
    assert norm(served) == norm(scripted)
    assert "llgatan" not in server.log_path.read_text(errors="replace")  # the address is never logged
