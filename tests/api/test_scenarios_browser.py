"""Saved scenarios on the planning page ``/planering`` in real chromium, against the session's real server.

A contract manager changes Syd Aleris' bases in peak traffic, saves the changes as a scenario with a name and a
token (by keyboard), and gets a link; the link opened in a fresh browser shows the same unit, changes, profile, day
and figures; the scenario's PDF is one A4 page whose before/after shares are those ``POST /v1/whatif`` gives for the
stored body (floored to one decimal, Swedish). The token never leaves the page's memory. axe-core finds no WCAG 2.1
A/AA violation in the save form's states at 1280 and 320 px.

The server's live registry is the test session's throwaway SQLite file (``tests/conftest.py``): the manager's token is
made there, and the scenarios saved here are new rows nobody else reads.
"""

from __future__ import annotations

import json
import urllib.request

import pypdfium2 as pdfium
import pytest
from playwright.sync_api import expect

from api.exports import floor_share
from core.settings import get_settings
from registry.service import RegistryService, cli_actor
from tests.api.test_whatif import ANSWER_TIMEOUT_MS, NARROW, SYD_ALERIS, TOWARD_SODERTALJE, WIDE, Planner, planners
from tests.conftest import BROWSER_MARKS
from tests.live_server import LiveServer

pytestmark = BROWSER_MARKS

NEW_BASE = ("59,30", "18,30")  # Värmdövägen east of Nacka, in area 4
VERDICTS_SV = {"supported": "stöds", "at risk": "i riskzonen", "unsupported": "stöds inte"}
REPORT_TIMEOUT_S = 240


@pytest.fixture(scope="module")
def server(live_server) -> LiveServer:
    return live_server


@pytest.fixture(scope="module")
def manager_token(server) -> str:
    """A contract manager's token in the server's registry (made after the server opened and migrated it)."""
    registry = RegistryService.from_settings(get_settings())
    try:
        _, token = registry.add_user(cli_actor(), "contract_manager", [], "Avtal HSF")
    finally:
        registry.close()
    return token


@pytest.fixture
def planner(browser, server):
    yield from planners(browser, server, WIDE)


def _json(server: LiveServer, path: str, body: dict | None = None) -> dict:
    req = urllib.request.Request(server.url + path, method="GET" if body is None else "POST",
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


def _pct(share: float) -> str:
    """A share as the page writes it: floored to one decimal, decimal comma, a no-break space before %."""
    return f"{floor_share(share, 1):.1f}".replace(".", ",") + "\u00a0%"


def _change_bases(s: Planner) -> None:
    """Peak traffic; base 1 moved toward Södertälje and a new base east of Nacka, both typed in the form."""
    s.page.select_option("#profile", "peak")
    expect(s.page.locator("#basis")).to_contain_text("rusning", timeout=ANSWER_TIMEOUT_MS)
    s.page.locator("#lat").fill(f"{TOWARD_SODERTALJE[0]:.2f}".replace(".", ","))
    s.page.locator("#lon").fill(f"{TOWARD_SODERTALJE[1]:.2f}".replace(".", ","))
    s.page.locator("#apply").click()
    s.place_anyway()
    s.page.select_option("#target", "new")
    s.page.locator("#lat").fill(NEW_BASE[0])
    s.page.locator("#lon").fill(NEW_BASE[1])
    s.page.locator("#apply").click()
    s.place_anyway()
    expect(s.page.locator("#changes-count")).to_have_text("2 av 5 ändringar")
    s.page.locator("#busy").wait_for(state="hidden", timeout=ANSWER_TIMEOUT_MS)
    expect(s.page.locator("#announce")).to_contain_text(" → ", timeout=ANSWER_TIMEOUT_MS)


def _shown(s: Planner) -> dict:
    """What the page shows of the what-if: the coverage table, the base list, the profile and the day."""
    return {"table": s.page.locator("#coverage tbody").inner_text(), "bases": s.page.locator("#bases").inner_text(),
            "changes": s.page.locator("#changes-count").inner_text(),
            "profile": s.page.locator("#profile").input_value(),
            "day": s.page.locator("#day").input_value(), "announce": s.page.locator("#announce").inner_text()}


def _save_by_keyboard(s: Planner, name: str, token: str) -> None:
    s.page.locator("#scenario-name").focus()
    kb = s.page.keyboard
    kb.type(name)
    kb.press("Tab")
    assert s.page.evaluate("document.activeElement.id") == "token"
    kb.type(token)
    kb.press("Enter")


def test_a_scenario_is_saved_reopened_by_its_link_and_printed(planner, server, manager_token):
    s = planner(WIDE)
    s.unit(SYD_ALERIS)
    _change_bases(s)
    before_save = _shown(s)
    problems: dict = {}

    _save_by_keyboard(s, "Syd Aleris: mot Södertälje och Nacka", manager_token)
    saved = s.page.locator("#saved")
    expect(saved).to_contain_text("Sparat som scenario ", timeout=ANSWER_TIMEOUT_MS)
    link = saved.locator("a").first.get_attribute("href")
    sid = int(link.removeprefix("/planering?scenario="))
    assert link == f"/planering?scenario={sid}"
    assert saved.inner_text() == (f"Sparat som scenario {sid} ”Syd Aleris: mot Södertälje och Nacka”. Länk: "
                                  f"{server.url}{link}. Skriv ut scenariot (PDF).")
    assert saved.locator("a").nth(1).get_attribute("href") == f"/v1/scenarios/{sid}/report"
    # The token stays in the page's memory: not in the form, the DOM, storage, cookies, the URL or the server's log.
    assert s.page.locator("#token").input_value() == ""
    kept = s.page.evaluate("document.documentElement.outerHTML + JSON.stringify(localStorage) + "
                           "JSON.stringify(sessionStorage) + document.cookie + location.href")
    assert manager_token not in kept and manager_token not in server.log_text()
    s.check("saved", problems)

    # Stored: the unit, the two changes, peak traffic and today's approvals (the day the page's figures used).
    scenario = _json(server, f"/v1/scenarios/{sid}")
    assert scenario["whatif"] == {
        "unit": SYD_ALERIS, "move": [{"base": 0, "lat": TOWARD_SODERTALJE[0], "lon": TOWARD_SODERTALJE[1]}],
        "add": [{"lat": 59.3, "lon": 18.3}], "remove": [], "profile": "peak",
        "date": _json(server, "/v1/approvals")["date"]}
    assert (scenario["saved_by"], scenario["changes"]) == ("Avtal HSF", 2)
    assert scenario["id"] in [x["id"] for x in _json(server, "/v1/scenarios")]

    # The page showed the figures POST /v1/whatif gives for the stored body.
    answer = _json(server, "/v1/whatif", scenario["whatif"])
    assert [r["area_id"] for r in answer["rows"]] == [1, 3, 4]
    for r in answer["rows"]:
        cell = s.page.locator(f'#coverage tr[data-area="{r["area_id"]}"] td.pop')
        assert cell.locator(".before").inner_text() == _pct(r["before"]["population_share"])
        assert cell.locator(".after").inner_text() == _pct(r["after"]["population_share"])

    # Someone else opens the link: the same unit, changes, profile, day and figures.
    other = planner(WIDE)
    response = other.page.goto(server.url + link)
    assert response is not None and response.status == 200
    note = other.page.locator("#scenario-note")
    expect(note).to_contain_text(f"Visar scenario {sid} ”Syd Aleris: mot Södertälje och Nacka”, sparat av "
                                 "Avtal HSF", timeout=ANSWER_TIMEOUT_MS)
    expect(other.page.locator("#announce")).to_have_text(before_save["announce"], timeout=ANSWER_TIMEOUT_MS)
    other.page.locator("#busy").wait_for(state="hidden", timeout=ANSWER_TIMEOUT_MS)
    assert other.page.locator("#unit").input_value() == SYD_ALERIS
    assert _shown(other) == {**before_save, "day": scenario["whatif"]["date"]}
    assert before_save["day"] == ""  # the first page used today without naming it; the scenario names the day
    assert "Flyttad" in before_save["bases"] and "Ny bas 1" in before_save["bases"]
    other.check("reopened", problems)
    # A change leaves the scenario: the note goes, the figures follow the change.
    other.page.get_by_role("button", name="Återställ alla ändringar").click()
    expect(other.page.locator("#announce")).to_contain_text("ASIH Syd Aleris i dag.", timeout=ANSWER_TIMEOUT_MS)
    assert other.page.locator("#scenario-note").is_hidden()

    # Printed: one A4 page with the same before/after shares, floored to one decimal with a decimal comma.
    with urllib.request.urlopen(server.url + f"/v1/scenarios/{sid}/report", timeout=REPORT_TIMEOUT_S) as resp:
        assert resp.status == 200 and resp.headers["Content-Type"] == "application/pdf"
        data = resp.read()
    pdf = pdfium.PdfDocument(data)
    try:
        pages, size = len(pdf), pdf[0].get_size()
        text = " ".join(pdf[0].get_textpage().get_text_range().split())
    finally:
        pdf.close()
    assert pages == 1 and size == pytest.approx((595.3, 841.9), abs=1.0)
    assert "Scenario: Syd Aleris: mot Södertälje och Nacka" in text and "Sparat av Avtal HSF" in text
    assert f"Godkännanden per {scenario['date']} (registret)" in text and "kartan och rubriken: rusning" in text
    assert "Bas 1 – Handen, Haninge flyttad" in text and "59,19000° N, 17,70000° Ö" in text
    assert "Ny bas 1 ny" in text and "59,30000° N, 18,30000° Ö" in text
    for r in answer["rows"]:
        b, a = r["before"], r["after"]
        row = (f"{r['area_id']} {r['area_name']} {_thousands(b['population'])} "
               f"{_pct(b['population_share']).replace(chr(0xa0), ' ')} {VERDICTS_SV[b['verdict']]} "
               f"{_pct(a['population_share']).replace(chr(0xa0), ' ')} {VERDICTS_SV[a['verdict']]} "
               f"{_thousands(b['gap_population'])} {_thousands(a['gap_population'])}")
        assert row in text, (row, text)

    assert not problems, json.dumps(problems, indent=1, ensure_ascii=False)
    assert s.blocked == [] and other.blocked == [] and s.console_errors == [] and other.console_errors == []


@pytest.mark.parametrize("viewport", [WIDE, NARROW], ids=["1280px", "320px"])
def test_the_save_form_says_what_is_wrong_and_passes_axe(planner, server, manager_token, viewport):
    s = planner(viewport)
    s.unit(SYD_ALERIS)
    problems: dict = {}
    error = s.page.locator("#save-error")

    s.page.locator("#save").click()
    expect(error).to_have_text("Skriv ett namn på scenariot.")
    assert s.page.evaluate("document.activeElement.id") == "scenario-name"
    assert s.page.locator("#scenario-name").get_attribute("aria-invalid") == "true"
    s.check("save-no-name", problems)

    s.page.locator("#scenario-name").fill("Syd Aleris i dag")
    s.page.locator("#save").click()
    expect(error).to_have_text("Skriv eller klistra in din nyckel.")
    s.page.locator("#token").fill("asih_00000000_" + "A" * 43)
    s.page.locator("#save").click()
    expect(error).to_have_text("Nyckeln gäller inte (okänd, felskriven eller återkallad). Kontrollera den och "
                               "försök igen.", timeout=ANSWER_TIMEOUT_MS)
    assert s.page.evaluate("document.activeElement.id") == "token"
    s.check("save-bad-token", problems)

    # Today's state (no change) is a scenario too; the token is then kept in memory for the next save.
    s.page.locator("#token").fill(manager_token)
    s.page.locator("#save").click()
    expect(s.page.locator("#saved")).to_contain_text("Sparat som scenario ", timeout=ANSWER_TIMEOUT_MS)
    assert error.is_hidden() and s.page.locator("#token").input_value() == ""
    first = s.page.locator("#saved a").first.get_attribute("href")
    s.page.locator("#save").click()  # again, the token field empty: a new id
    expect(s.page.locator("#saved a").first).not_to_have_attribute("href", first, timeout=ANSWER_TIMEOUT_MS)
    second = s.page.locator("#saved a").first.get_attribute("href")
    assert int(second.rsplit("=", 1)[1]) > int(first.rsplit("=", 1)[1])
    s.check("saved-twice", problems)

    # A link to no scenario says so, and the page shows the units today.
    s.page.goto(server.url + "/planering?scenario=999999999")
    expect(s.page.locator("#error")).to_have_text("Fel: Scenario 999999999 finns inte. Sidan visar enheterna i dag.",
                                                  timeout=ANSWER_TIMEOUT_MS)
    expect(s.page.locator("#announce")).to_contain_text(" i dag.", timeout=ANSWER_TIMEOUT_MS)
    s.check("unknown-scenario", problems)

    assert not problems, json.dumps(problems, indent=1, ensure_ascii=False)
    assert s.blocked == []
    assert [e for e in s.console_errors if "status of 401" not in e and "status of 404" not in e] == []


def _thousands(n: int) -> str:
    """A whole number as the PDF writes it, its thin spaces read back as spaces."""
    return f"{n:,}".replace(",", " ")
