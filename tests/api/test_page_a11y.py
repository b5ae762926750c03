"""The referrer page for everyone (issue 16) and its "uncertain area" answers (issue 10), in real chromium.

axe-core (vendored from npm by ``python -m maps.vendor_assets``, never served by the app) is injected by the test
through ``add_init_script``, which runs before the page's scripts and is not subject to the page's CSP; the CSP
itself stays on (checked: an inline script is refused). Every state is checked at 1280 px and 320 px (= 1280 px at
400 % zoom) for 0 violations of WCAG 2.0/2.1 A and AA, and screenshotted into /tmp/asih-shots/.

The states are reached through the real service; a few it produces only for particular data (a phone number, a unit
without contact, a decisive warning next to a chosen area, a 422 with candidates, free places of every kind from the
live registry) are also shown from answers in the lookup contract served by a route stub.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from maps.vendor_assets import AXE_DIR, AXE_JS, vendored
from tests.api.test_browser import RESULT_TIMEOUT_MS, Session, _assert_log_clean, _assert_private
from tests.conftest import BROWSER_MARKS, missing

pytestmark = BROWSER_MARKS

WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 320, "height": 640}  # also 1280 px at 400 % zoom (WCAG 1.4.10)
SHOTS = Path("/tmp/asih-shots")
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
ENGLISH = re.compile(
    r"\b(the|is|not|only|from|with|within|and|area|areas|drive|base|point|unit|units|approved|known|guess|choose|"
    r"street|reach|reaches|answer|nearest|eligible|about|city|inner|north|teams|patients)\b",
    re.IGNORECASE,
)
"""English words no Swedish answer text contains (unit, organisation and place names included)."""

ANSWER = "Fjällgatan 44, Stockholm"
OUTSIDE = "Göteborg"
NONE_WITHIN = "Hallstavik"  # area 2; its two approved units' bases are over an hour away
UNKNOWN = "Qwxzyv 99"
FREE_FLOW_ONLY = "59.43115, 17.79169"  # area 7: ASIH Nord Aleris within 30 min only without traffic

BASIS_SV = ("”Inom 30 min” bygger på körtider utan köer på länets vägnät från OpenStreetMap (≈2013, MATSim 2014); "
            "den osäkraste basen är känd till platsen.")
UNCERTAIN_SV = {
    "query": {
        "precision": "postal_town", "matched": "Bromma (Stockholm)", "lat": 59.3401, "lon": 17.9402,
        "corrected_from": None,
        "region": {"kind": "postal_town", "label": "Bromma (Stockholm)", "width_m": 6400.0,
                   "basis": "Postortens utbredning enligt postnumren."},
    },
    "area": {
        "status": "uncertain", "id": None, "name": None, "provenance": None, "municipality": None, "district": None,
        "stadsdel": None, "border_warning": None,
        "possible": [{"id": 6, "name": "Västerort", "provenance": "hypothesis"},
                     {"id": 5, "name": "Innerstaden", "provenance": "hypothesis"}],
        "choices": [
            {"token": "borough:Bromma", "label": "Bromma", "area_id": 6, "area_name": "Västerort",
             "lat": 59.3420, "lon": 17.9360},
            {"token": "borough:Kungsholmen", "label": "Kungsholmen", "area_id": 5, "area_name": "Innerstaden",
             "lat": 59.3320, "lon": 18.0300},
        ],
        "decide_by": ["house_number", "district", "map_point"],
    },
    "eligible": [],
    "reachable_not_approved": [],
    "warnings": [
        {"code": "area_uncertain", "severity": "decisive",
         "message": "Området kan inte avgöras från platsen: den kan ligga i område 6 eller 5. Välj nedan, eller ange "
                    "ett husnummer."},
        {"code": "area_hypothesis", "severity": "info",
         "message": "Område 6:s avgränsning är en hypotes (data/areas.yaml), inte den officiella listan."},
    ],
    "basis": {"profile": "free_flow", "network": "MATSim", "limit_s": 1800.0, "summary": BASIS_SV},
    "limit_s": 1800.0,
    "profile": "free_flow",
}


def _unit(uid, name, org, seconds, base, precision, contact, capacity=None):
    return {"id": uid, "unit": name, "organisation": org, "drive_time_s": seconds, "within_limit": seconds <= 1800,
            "base": base, "base_precision": precision, "capacity_note": capacity, "contact": contact}


CHOSEN_SV = {
    "query": {
        "precision": "street", "matched": "Mariebergsgatan, Stockholm", "lat": 59.3333, "lon": 18.0244,
        "corrected_from": "Mariebergsgtan",
        "region": {"kind": "street", "label": "Mariebergsgatan (Stockholm)", "width_m": 640.0,
                   "basis": "Gatans sträckning i adressdatat."},
    },
    "area": {
        "status": "certain", "id": 5, "name": "Innerstaden", "provenance": "hypothesis", "municipality": "Stockholm",
        "district": "Kungsholmen", "stadsdel": "Marieberg", "border_warning": None,
        "possible": [{"id": 5, "name": "Innerstaden", "provenance": "hypothesis"}], "choices": [], "decide_by": [],
    },
    "eligible": [
        _unit("stockholms-sjukhem", "ASIH Stockholms sjukhem", "Stiftelsen Stockholms sjukhem", 18.0,
              "Mariebergsgatan 22, Kungsholmen", "address", {"referral": "Belport"}),
        _unit("stockholm-norr", "ASIH Stockholm Norr", "SLSO (Region Stockholm)", 177.0,
              "North inner city / Solna (guess)", "unknown", {"referral": "Belport", "phone": "08-000 00 00"}),
        _unit("rehabhotellet", "ASIH Rehabhotellet", "Rehabhotellet AB", 2233.0, "Inner city (guess)", "unknown",
              None),
    ],
    "reachable_not_approved": [
        _unit("dalen-capio-x", "ASIH Exempel", "Exempel AB", 546.0, "Dalens sjukhus, Enskededalen", "place", None),
    ],
    "warnings": [
        {"code": "far_from_road", "severity": "decisive",
         "message": "Punkten ligger 1035 m från närmaste bilväg; körtiderna slutar vid den vägen."},
        {"code": "spelling_corrected", "severity": "caution",
         "message": "Stavningen rättades till närmaste namn."},
        {"code": "area_hypothesis", "severity": "info",
         "message": "Område 5:s avgränsning är en hypotes (data/areas.yaml), inte den officiella listan."},
        {"code": "base_precision", "severity": "info",
         "message": "Körtider för ASIH Stockholm Norr: basens läge är en gissning; bekräfta med vårdgivaren."},
    ],
    "basis": {"profile": "free_flow", "network": "MATSim", "limit_s": 1800.0, "summary": BASIS_SV},
    "limit_s": 1800.0,
    "profile": "free_flow",
}


def _availability(free_places, age_s, note=None):
    """A unit's free places as the live registry reports them (registry/service.py: availability)."""
    status = "none" if free_places is None else "stale" if age_s > 86400 else "current"
    return {"free_places": free_places, "note": note, "age_s": age_s, "stale": status != "current", "status": status,
            "reported_at": None if free_places is None else "2026-03-02T08:00:00+00:00", "stale_after_s": 86400.0}


FREE_NOTE = "Två team i kväll <b>ring först</b> & fråga efter Anna"
"""A note with markup in it: shown as text, never as markup."""
FREE_SV = {
    **CHOSEN_SV,
    "query": {**CHOSEN_SV["query"], "corrected_from": None},
    "eligible": [
        {**_unit("stockholms-sjukhem", "ASIH Stockholms sjukhem", "Stiftelsen Stockholms sjukhem", 18.0,
                 "Mariebergsgatan 22, Kungsholmen", "address", {"referral": "Belport"},
                 "ASIH Bromma: 4 team, cirka 100 patienter (stockholmssjukhem.se, 2024-01-22)."),
         "availability": _availability(3, 7200, FREE_NOTE)},
        {**_unit("stockholm-norr", "ASIH Stockholm Norr", "SLSO (Region Stockholm)", 177.0,
                 "North inner city / Solna (guess)", "unknown", {"referral": "Belport", "phone": "08-000 00 00"}),
         "availability": _availability(0, 600)},
        {**_unit("ersta-diakoni", "ASIH Ersta Diakoni", "Ersta Diakonisällskap", 640.0, "Ersta sjukhus, Södermalm",
                 "place", {"referral": "Belport"}),
         "availability": _availability(4, 30 * 3600, "Ring före 14")},
        {**_unit("rehabhotellet", "ASIH Rehabhotellet", "Rehabhotellet AB", 2233.0, "Inner city (guess)", "unknown",
                 None),
         "availability": _availability(None, None)},
    ],
    "warnings": [w for w in CHOSEN_SV["warnings"] if w["severity"] == "info"],
}
"""A certain answer with each kind of free places: current (with a note), full (0), stale (30 h), never reported."""
FREE_CELLS_SV = [
    "Lediga platser: 3 (rapporterat för 2 tim sedan) Enhetens notering: " + FREE_NOTE
    + " ASIH Bromma: 4 team, cirka 100 patienter (stockholmssjukhem.se, 2024-01-22).",
    "Fullt – 0 lediga platser (rapporterat för 10 min sedan)",
    "⚠ Lediga platser: uppgiften är 30 tim gammal – ring och fråga Enhetens notering: Ring före 14",
    "Lediga platser: ej rapporterat",
]


def _service_has_new_contract(live_server) -> bool:
    import urllib.request

    req = urllib.request.Request(
        live_server.url + "/v1/lookup", data=json.dumps({"address": ANSWER, "lang": "sv"}).encode(),
        headers={"Content-Type": "application/json"}, method="POST",
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return "status" in json.loads(resp.read())["area"]


class Page(Session):
    """A session with axe injected before the page's own scripts, and helpers for the page's states."""

    def __init__(self, browser, viewport: dict, **kw):
        super().__init__(browser, viewport, **kw)
        self.context.add_init_script(path=str(AXE_DIR / AXE_JS))
        self.lookups: list[dict] = []
        self.page.on("request", self._record_lookup)

    def _record_lookup(self, request) -> None:
        if urlsplit(request.url).path == "/v1/lookup" and request.method == "POST":
            self.lookups.append(json.loads(request.post_data or "{}"))

    def ask(self, text: str) -> None:
        self.page.locator("#q").fill(text)
        self.page.locator("#q").press("Enter")

    def answered(self) -> None:
        self.wait_result()
        expect(self.page.locator("#summary")).to_be_focused(timeout=RESULT_TIMEOUT_MS)
        if vendored() is not None and self.page.locator("#map-box").is_visible():
            expect(self.page.locator("#map .mk-point")).to_have_count(1, timeout=RESULT_TIMEOUT_MS)
            self.page.wait_for_timeout(350)  # fitBounds' animation, before axe and the screenshot

    def failed(self) -> None:
        expect(self.page.locator("#error")).to_be_visible(timeout=RESULT_TIMEOUT_MS)
        expect(self.page.locator("#q")).to_be_focused()

    def axe(self) -> list[dict]:
        return self.page.evaluate(
            """async (tags) => {
                const r = await axe.run(document, {runOnly: {type: "tag", values: tags}});
                return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " :: " + n.failureSummary)}));
            }""",
            AXE_TAGS,
        )

    def check(self, state: str, width: int, problems: dict) -> None:
        SHOTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{state}-{width}.png"), full_page=True)
        violations = self.axe()
        if violations:
            problems[f"{state} @ {width}px"] = violations
        clipped = self.page.evaluate(
            """() => {
                const out = [];
                // Text for screen readers only is clipped on purpose (a 1 px box with a clip rectangle).
                const srOnly = (n) => { for (let e = n; e; e = e.parentElement) {
                    const c = getComputedStyle(e); if (c.clip && c.clip !== "auto") return true; } return false; };
                if (document.documentElement.scrollWidth > window.innerWidth) out.push("page scrolls sideways");
                for (const n of document.querySelectorAll("main *, footer *")) {
                    if (!n.offsetParent || n.closest("#map") || srOnly(n)) continue;
                    if (n.scrollWidth > n.clientWidth + 1 && getComputedStyle(n).overflowX !== "visible")
                        out.push(n.tagName + "#" + n.id + "." + n.className + ": " + n.textContent.slice(0, 40));
                    const r = n.getBoundingClientRect();
                    if (r.right > window.innerWidth + 1) out.push("beyond the right edge: " + n.tagName + "." + n.className);
                }
                return out;
            }"""
        )
        if clipped:
            problems[f"{state} @ {width}px: clipped"] = clipped[:8]

    def stub_lookups(self, answers) -> None:
        """Answer POST /v1/lookup from ``answers(body) -> dict`` (the new contract), without the service, with the
        view model the server makes for it (api/view.py), as the real route does when the page asks."""

        def handle(route):
            body = json.loads(route.request.post_data or "{}")
            answer = _with_view(answers(body), body)
            route.fulfill(status=200, content_type="application/json", body=json.dumps(answer))

        self.page.route("**/v1/lookup", handle)


def _with_view(answer: dict, body: dict) -> dict:
    """A canned answer as POST /v1/lookup gives it to the page: with the server's view model when asked."""
    from api.view import view

    assert body.get("view") is True  # the page asks for the view model; it computes no text itself
    return {**answer, "view": view(answer, body.get("lang", "sv"))}


@pytest.fixture(scope="module", autouse=True)
def _axe_vendored():
    if vendored(AXE_DIR) is None:
        pytest.fail("axe-core is not vendored: run `python -m maps.vendor_assets`")


def open_pages(browser):
    """A fixture body: yields ``make(viewport=WIDE, **kw)``, which opens a :class:`Page`; every page made is closed
    after the test."""
    made = []

    def make(viewport: dict = WIDE, **kw) -> Page:
        p = Page(browser, viewport, **kw)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


@pytest.fixture
def pages(browser):
    yield from open_pages(browser)


@pytest.mark.parametrize("viewport", [WIDE, NARROW], ids=["1280px", "320px"])
def test_every_state_has_no_axe_violations(live_server, pages, viewport):
    w = viewport["width"]
    problems: dict = {}
    s = pages(viewport)
    s.open(live_server.url + "/")
    s.check("empty", w, problems)

    s.ask(ANSWER)
    s.answered()
    s.check("answer", w, problems)
    s.page.evaluate("document.querySelectorAll('#result details').forEach(d => d.open = true)")
    s.check("details-open", w, problems)

    s.ask(UNKNOWN)
    s.failed()
    s.check("error", w, problems)

    s.ask(OUTSIDE)
    s.answered()
    s.check("outside", w, problems)

    s.ask(FREE_FLOW_ONLY)
    s.answered()
    expect(s.page.locator("#eligible .traffic").first).to_contain_text("bara utan trafik")
    s.check("free-flow-only", w, problems)

    s.ask(NONE_WITHIN)
    s.answered()
    assert "ingen" in s.page.locator("#summary").inner_text()
    s.check("none-within", w, problems)

    s.page.get_by_role("link", name="English").click()
    expect(s.page.locator("#summary")).to_contain_text("Area 2", timeout=RESULT_TIMEOUT_MS)
    s.answered()
    s.check("english", w, problems)
    s.page.get_by_role("link", name="Svenska").click()
    expect(s.page.locator("#summary")).to_contain_text("Område 2", timeout=RESULT_TIMEOUT_MS)

    s.ask(UNCERTAIN_QUERIES[0])
    s.answered()
    assert s.page.locator("#choice button").count() >= 2
    s.check("uncertain-service", w, problems)
    s.ask("Mariebergsgtan 22")
    s.answered()
    s.check("did-you-mean-service", w, problems)

    # The contract's other states, from stubbed answers: an uncertain area, then the chosen one.
    s.stub_lookups(lambda body: CHOSEN_SV if body.get("choice") else UNCERTAIN_SV)
    s.ask("Bromma")
    s.answered()
    s.check("uncertain", w, problems)
    s.page.locator("#choice button").first.click()
    s.answered()
    s.page.evaluate("document.querySelectorAll('#result details').forEach(d => d.open = true)")
    s.check("chosen-corrected", w, problems)

    s.page.emulate_media(forced_colors="active")
    s.check("forced-colours", w, problems)
    s.page.emulate_media(forced_colors="none")

    # Free places from the live registry: current, full, stale and never reported.
    s.stub_lookups(lambda body: FREE_SV)
    s.ask("Mariebergsgatan 22")
    s.answered()
    expect(s.page.locator("#eligible td[data-free=full]")).to_have_count(1)
    s.check("free-places", w, problems)
    s.page.emulate_media(forced_colors="active")
    s.check("free-places-forced-colours", w, problems)
    s.page.emulate_media(forced_colors="none")

    assert not problems, json.dumps(problems, indent=1, ensure_ascii=False)
    assert [e for e in s.console_errors if "status of 422" not in e] == []  # 422: the unknown query, by design
    _assert_private(s, ("Fj", "llgatan", "Qwxzyv", "teborg", "Hallstavik", "Bromma", "Mariebergs"))


def test_axe_runs_with_the_csp_on(live_server, pages):
    s = pages(WIDE)
    s.open(live_server.url + "/")
    response = s.page.request.get(live_server.url + "/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert s.page.evaluate("typeof axe.run") == "function"  # injected before the page, outside its CSP
    with pytest.raises(Exception, match="Content Security Policy"):
        s.page.add_script_tag(content="window.__inline = 1")  # the page itself still refuses inline scripts
    assert s.page.evaluate("window.__inline") is None
    # axe is never served to users.
    assert s.page.request.get(live_server.url + "/static/vendor/axe.min.js").status == 404
    assert s.page.request.get(live_server.url + "/static/vendor/axe/axe.min.js").status == 404


def test_the_answer_is_spoken_and_errors_are_tied_to_the_input(live_server, pages):
    s = pages(WIDE)
    s.open(live_server.url + "/")
    status = s.page.locator("[role=status]#summary")

    s.ask(ANSWER)
    s.answered()
    text = status.inner_text()
    assert text.startswith("Område 4 – Södermalm / Nacka–Värmdö.")
    n = s.page.locator("#eligible tbody tr").count()
    assert f"{n} valbara enheter" in text
    assert "Närmast: ASIH Ersta Diakoni, 2 min." in text
    assert s.page.evaluate("document.activeElement.id") == "summary"
    assert s.page.locator("#summary").get_attribute("tabindex") == "-1"
    assert s.page.locator("[aria-live], [role=status], [role=alert]").count() == 3  # answer, copy note, errors

    s.ask(UNKNOWN)
    s.failed()
    alert = s.page.locator("[role=alert]#error")
    assert "Fel:" in alert.inner_text() and len(alert.inner_text()) > 20
    assert status.inner_text() == ""
    q = s.page.locator("#q")
    assert q.get_attribute("aria-invalid") == "true"
    assert "q-error" in q.get_attribute("aria-describedby").split()
    assert s.page.locator("#q-error").inner_text() in alert.inner_text()

    s.page.locator("#q").fill("")
    s.page.locator("#q").press("Enter")
    expect(s.page.locator("#q-error")).to_contain_text("Skriv en adress")
    expect(q).to_be_focused()

    s.ask(ANSWER)  # a good answer clears the error state
    s.answered()
    assert q.get_attribute("aria-invalid") is None
    assert q.get_attribute("aria-describedby") == "q-hint"

    # A decisive warning is spoken too, and comes first on the page, boxed and labelled (not colour alone).
    s.stub_lookups(lambda body: CHOSEN_SV)
    s.ask("Mariebergsgtan 22")
    s.answered()
    assert "Viktigt: Punkten ligger 1035 m från närmaste bilväg" in status.inner_text()
    first = s.page.locator("#answer > *").first
    assert first.get_attribute("class") == "decisive"
    assert first.locator("strong").first.inner_text() == "Avgörande:"
    assert "⚠" in first.locator("h3").inner_text()
    # Routine caveats are folded away; cautions are open.
    assert s.page.locator("details.info li").count() == 2
    assert not s.page.locator("details.info").evaluate("d => d.open")
    assert s.page.locator(".cautions li").all_inner_texts() == ["Stavningen rättades till närmaste namn."]


def test_keyboard_only_lookup_rows_and_map_skip(live_server, pages):
    s = pages(WIDE)
    s.open(live_server.url + "/")
    kb = s.page.keyboard
    for _ in range(6):
        kb.press("Tab")
        if s.page.evaluate("document.activeElement.id") == "q":
            break
    assert s.page.evaluate("document.activeElement.id") == "q"
    kb.type(ANSWER)
    kb.press("Enter")
    s.answered()

    rows = s.page.locator("#eligible tbody tr").evaluate_all("rs => rs.map(r => r.dataset.unit)")
    visited, skip_reached = [], False
    for _ in range(60):
        kb.press("Tab")
        info = s.page.evaluate(
            "() => { const a = document.activeElement; return {id: a.id, unit: a.dataset.unit || null,"
            " inMap: !!a.closest('#map'), tag: a.tagName}; }"
        )
        if info["unit"]:
            visited.append(info["unit"])
        assert not info["inMap"], "the map was reached before its skip link"
        if info["id"] == "skip-map":
            skip_reached = True
            break
    assert skip_reached
    if vendored() is not None:
        assert visited == rows, "every unit row is reachable by Tab, in table order"
        # The map holds at most its own focus and the two zoom buttons; markers are never tab stops.
        stops = s.page.locator("#map [tabindex]:not([tabindex='-1']), #map a[href], #map button").count()
        assert stops <= 3
        assert s.page.locator("#map .leaflet-control-zoom-in").get_attribute("title") == "Zooma in"
        assert s.page.locator("#map .leaflet-control-zoom-out").get_attribute("aria-label") == "Zooma ut"
        names = s.page.locator("#map .mk-base").evaluate_all("ms => ms.map(m => m.getAttribute('aria-label'))")
        assert names[0].startswith("1. ASIH Ersta Diakoni, 2 min")
        assert s.page.locator("#map [role=img]").count() == s.page.locator("#map .leaflet-marker-icon").count()
        assert s.page.locator("#map").get_attribute("role") != "img"

    kb.press("Enter")  # one step past the map
    assert s.page.evaluate("document.activeElement.id") == "after-map"
    kb.press("Tab")
    assert not s.page.evaluate("!!document.activeElement.closest('#map-box')")
    _assert_private(s, ("Fj", "llgatan"))


def test_a_row_button_shows_the_base_on_the_map(live_server, pages):
    if vendored() is None:
        missing("Leaflet is not vendored: run `python -m maps.vendor_assets`")
    s = pages(WIDE)
    s.open(live_server.url + "/")
    s.ask(ANSWER)
    s.answered()
    s.page.locator("#eligible tbody tr").nth(1).locator("button.show-on-map").click()
    expect(s.page.locator(".leaflet-tooltip")).to_contain_text("2. ASIH", timeout=RESULT_TIMEOUT_MS)


@pytest.mark.parametrize("query", [ANSWER, "Mariebergsgatan 22, Stockholm"], ids=["6+9-units", "10+5-units"])
def test_print_is_one_a4_page_with_everything_unfolded(live_server, pages, query):
    s = pages(WIDE)
    s.open(live_server.url + "/")
    s.ask(query)
    s.answered()
    s.page.emulate_media(media="print")
    # Folded sections print unfolded: their content is laid out on paper.
    for box in ("#others-box", "#info-box"):
        if s.page.locator(box).count():
            assert s.page.locator(f"{box} li, {box} tbody tr").first.is_visible()
    assert re.fullmatch(r"Svar hämtat \d{4}-\d\d-\d\d \d\d:\d\d\.", s.page.locator("#answered-at").inner_text())
    assert s.page.locator("#basis").is_visible()
    assert s.page.locator("#map-box").is_hidden() and s.page.locator("#search").is_hidden()
    pdf = s.page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    SHOTS.mkdir(exist_ok=True)
    (SHOTS / f"print-{query.split()[0].lower()}.pdf").write_bytes(pdf)
    pages_ = len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))
    assert pages_ == 1, f"the printout has {pages_} pages"
    s.page.emulate_media(media="screen")
    assert s.page.locator("#others-box").count() == 0 or not s.page.locator("#others-box").evaluate("d => d.open")


def test_copy_answer_leaves_the_address_out_unless_asked(live_server, pages):
    s = pages(WIDE)
    s.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    s.open(live_server.url + "/")
    s.ask(ANSWER)
    s.answered()
    s.page.get_by_role("button", name="Kopiera svar").click()
    expect(s.page.locator("#copy-status")).to_have_text("Svaret är kopierat.")
    text = s.page.evaluate("navigator.clipboard.readText()")
    assert "Område: Område 4 – Södermalm / Nacka–Värmdö" in text
    assert re.search(r"ASIH-svar, \d{4}-\d\d-\d\d \d\d:\d\d", text)
    assert "1. ASIH Ersta Diakoni (Ersta Diakonisällskap) – 2 min" in text
    assert "bygger på:" in text
    assert "Fjällgatan" not in text and "Fj" not in text

    s.page.get_by_label("Ta med adressen i kopian").check()
    s.page.get_by_role("button", name="Kopiera svar").click()
    text = s.page.evaluate("navigator.clipboard.readText()")
    assert f"Sökt adress: {ANSWER}" in text
    assert s.page.evaluate("localStorage.length + sessionStorage.length") == 0


def _free_cells(page) -> list[str]:
    return [re.sub(r"\s+", " ", t).strip() for t in page.locator("#eligible tbody td:nth-child(6)").all_text_contents()]


@pytest.mark.parametrize("viewport", [WIDE, NARROW], ids=["1280px", "320px"])
def test_free_places_are_shown_with_their_age_copied_and_printed(live_server, pages, browser, viewport):
    s = pages(viewport)
    s.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    s.open(live_server.url + "/")
    s.stub_lookups(lambda body: FREE_SV)
    s.ask("Mariebergsgatan 22")
    s.answered()
    assert _free_cells(s.page) == FREE_CELLS_SV
    # The note is text: its "<b>" is shown, not obeyed.
    assert s.page.locator("#eligible b").count() == 0 and FREE_NOTE in s.page.locator("#eligible").inner_text()
    # A full unit stays listed, marked in words and by a box (not by colour alone); a stale one by ⚠ and words.
    assert s.page.locator("#eligible tbody tr").count() == 4
    full = s.page.locator("#eligible td[data-free=full] .free-full")
    assert full.inner_text().startswith("Fullt – 0 lediga platser")
    assert full.evaluate("e => getComputedStyle(e).borderTopStyle") == "solid"
    assert s.page.locator("#eligible td[data-free=stale] .free-stale").inner_text().startswith("⚠")
    assert s.page.locator("#eligible td[data-free=current] time").get_attribute("datetime") == "2026-03-02T08:00:00+00:00"
    if viewport is NARROW:  # a card: the cell is labelled
        assert s.page.locator("#eligible td[data-free=full]").get_attribute("data-label") == "Kapacitet"

    # The same texts from the server's renderer (answer.html), for the same answer.
    from api.routes import web

    context = browser.new_context(java_script_enabled=False, viewport=viewport)
    try:
        served = context.new_page()
        served.set_content(web._page("sv", answer=web.view(FREE_SV, "sv"), status=200).body.decode())
        assert _free_cells(served) == FREE_CELLS_SV
    finally:
        context.close()

    s.page.get_by_role("button", name="Kopiera svar").click()
    expect(s.page.locator("#copy-status")).to_have_text("Svaret är kopierat.")
    lines = s.page.evaluate("navigator.clipboard.readText()").splitlines()
    unit_lines = [line for line in lines if re.match(r"  \d\. ASIH", line)]
    assert len(unit_lines) == 4
    assert unit_lines[0].endswith(" – Lediga platser: 3 (rapporterat för 2 tim sedan); Enhetens notering: " + FREE_NOTE)
    assert unit_lines[1].endswith(" – Fullt – 0 lediga platser (rapporterat för 10 min sedan)")
    assert unit_lines[2].endswith(" – Lediga platser: uppgiften är 30 tim gammal – ring och fråga; "
                                  "Enhetens notering: Ring före 14")
    assert unit_lines[3].endswith(" – Lediga platser: ej rapporterat")

    if viewport is WIDE:
        s.page.emulate_media(media="print")
        assert [c.is_visible() for c in s.page.locator("#eligible tbody td:nth-child(6)").all()] == [True] * 4
        assert _free_cells(s.page) == FREE_CELLS_SV
        assert re.fullmatch(r"Svar hämtat \d{4}-\d\d-\d\d \d\d:\d\d\.", s.page.locator("#answered-at").inner_text())
        pdf = s.page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
        SHOTS.mkdir(exist_ok=True)
        (SHOTS / "print-free-places.pdf").write_bytes(pdf)
        assert len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf)) == 1
        s.page.emulate_media(media="screen")

    s.page.get_by_role("link", name="English").click()
    expect(s.page.locator("#summary")).to_contain_text("Area 5", timeout=RESULT_TIMEOUT_MS)
    s.answered()
    assert _free_cells(s.page)[1:] == ["Full – 0 free places (reported 10 min ago)",
                                       "⚠ Free places: the report is 30 h old – call and ask The unit's note: Ring före 14",
                                       "Free places: not reported"]


def test_swedish_only_answer_and_the_language_switch(live_server, pages):
    s = pages(WIDE)
    s.open(live_server.url + "/")
    s.ask(ANSWER)
    s.answered()
    s.page.evaluate("document.querySelectorAll('#result details').forEach(d => d.open = true)")
    # Everything the answer says, folded parts included (textContent, not only what is visible), except the names
    # and notes quoted from data/providers.yaml (test_provider_texts_are_swedish).
    text = s.page.locator("#summary").text_content() + s.page.locator("#result").evaluate(
        "r => { const c = r.cloneNode(true); c.querySelectorAll('td[data-label=Bas], td[data-label=Kapacitet]')"
        ".forEach(n => n.remove()); return c.textContent; }")
    text = re.sub(r"\(data/\w+\.yaml\)", "", text)  # a file name, not a sentence
    assert not ENGLISH.findall(text), sorted(set(ENGLISH.findall(text)))
    assert s.lookups[-1]["lang"] == "sv"

    before = s.page.evaluate("history.length")
    s.page.get_by_role("link", name="English").click()
    expect(s.page.locator("#summary")).to_contain_text("Area 4 – Södermalm / Nacka–Värmdö.", timeout=RESULT_TIMEOUT_MS)
    assert s.lookups[-1]["lang"] == "en"
    assert s.page.evaluate("document.documentElement.lang") == "en"
    assert s.page.locator("label[for=q]").inner_text() == "Address, postcode or coordinates"
    assert s.page.locator("#copy").inner_text() == "Copy answer"
    assert s.page.evaluate("history.length") == before and s.page.url == live_server.url + "/"
    if vendored() is not None:
        assert s.page.locator("#map .leaflet-control-zoom-in").get_attribute("title") == "Zoom in"


def test_candidates_of_an_ambiguous_query_are_buttons(live_server, pages):
    s = pages(NARROW)
    s.open(live_server.url + "/")
    detail = {"message": "Flera platser matchar sökningen; välj ett av förslagen eller lägg till postnummer eller ort.",
              "candidates": [{"matched": "Storgatan, Solna", "precision": "street", "lat": 59.35, "lon": 17.99}]}

    def handle(route):
        body = json.loads(route.request.post_data or "{}")
        if body.get("address") == "Storgatan, Solna":
            route.fulfill(status=200, content_type="application/json", body=json.dumps(_with_view(CHOSEN_SV, body)))
        else:
            route.fulfill(status=422, content_type="application/json", body=json.dumps({"detail": detail}))

    s.page.route("**/v1/lookup", handle)
    s.ask("Storgatan")
    s.failed()
    assert "Flera platser matchar" in s.page.locator("#q-error").inner_text()
    s.page.get_by_role("button", name="Storgatan, Solna (gata)").click()
    s.answered()
    assert s.page.locator("#q").input_value() == "Storgatan, Solna"
    assert s.page.locator("#error").is_hidden()


def test_corrected_spelling_is_shown_from_the_new_contract(live_server, pages):
    s = pages(NARROW)
    s.open(live_server.url + "/")
    s.stub_lookups(lambda body: CHOSEN_SV)
    s.ask("Mariebergsgtan 22")
    s.answered()
    corrected = s.page.locator("#corrected")
    assert corrected.locator("strong").inner_text() == "Menade du Mariebergsgatan, Stockholm?"
    assert "Du skrev: Mariebergsgtan" in corrected.inner_text()
    assert "ett område ungefär 640 m brett" in s.page.locator("#region").inner_text()
    # Contacts: known fields, then one line for the rest; a unit with none says so; a phone is a link.
    rows = s.page.locator("#eligible tbody tr")
    assert rows.nth(0).locator("td").nth(3).inner_text().splitlines() == ["Remiss: Belport", "Telefon, tider: uppgift saknas"]
    assert rows.nth(1).locator("a[href='tel:080000000']").count() == 1
    assert rows.nth(2).locator("td").nth(3).inner_text().strip() == "Kontaktuppgift saknas"
    assert "(guess)" not in s.page.locator("#eligible").inner_text()


def test_provider_texts_are_swedish(live_server, pages):
    s = pages(WIDE)
    s.open(live_server.url + "/")
    s.ask(ANSWER)
    s.answered()
    text = " ".join(s.page.locator("#result td[data-label=Bas], #result td[data-label=Kapacitet]").all_text_contents())
    assert not ENGLISH.findall(text), sorted(set(ENGLISH.findall(text)))


def test_corrected_spelling_from_the_service(live_server, pages):
    s = pages(WIDE)
    s.open(live_server.url + "/")
    s.ask("Mariebergsgtan 22")
    s.answered()
    assert s.page.locator("#summary").inner_text().startswith("Menade du Mariebergsgatan")
    corrected = s.page.locator("#corrected")
    assert corrected.locator("strong").inner_text().startswith("Menade du Mariebergsgatan")
    assert "Du skrev: Mariebergsgtan" in corrected.inner_text()
    # The service asks to confirm a corrected street (no town given): "no" is a field for another town or postcode
    # (tests/api/test_page_states_browser.py asks with it), "yes" is one click.
    assert s.page.locator("#choice-heading").inner_text().startswith("Menade du Mariebergsgatan")
    s.page.get_by_label("Nej, en annan ort – skriv orten eller postnumret:").click()
    assert s.page.evaluate("document.activeElement.id") == "other-town"
    s.page.locator("#choice ul.choices button").click()
    s.answered()
    assert s.lookups[-1]["choice"] == "confirm"
    assert s.page.locator("#summary").inner_text().startswith("Område 5 – Innerstaden.")
    assert "Menade du Mariebergsgatan" in s.page.locator("#corrected").inner_text()


def test_uncertain_area_is_resolved_by_one_click_new_contract(live_server, pages):
    s = pages(NARROW)
    s.open(live_server.url + "/")
    s.stub_lookups(lambda body: CHOSEN_SV if body.get("choice") == "borough:Kungsholmen" else UNCERTAIN_SV)
    s.ask("Bromma")
    s.answered()
    assert s.page.locator("#summary").inner_text().startswith("Området kan inte avgöras: välj var patienten är (2 alternativ).")
    assert s.page.locator("#area").inner_text() == "Kan inte avgöras – välj nedan"
    assert s.page.locator("#eligible").count() == 0  # no area's units are presented as the answer
    assert "husnummer" in s.page.locator("#choice").inner_text()
    s.page.get_by_role("button", name=re.compile("Kungsholmen – område 5, Innerstaden")).click()
    s.answered()
    assert s.lookups[-1] == {"address": "Bromma", "lang": "sv", "view": True, "choice": "borough:Kungsholmen"}
    assert s.page.locator("#summary").inner_text().startswith("Område 5 – Innerstaden.")
    assert len(s.lookups) == 2


UNCERTAIN_QUERIES = ("Stockholm", "Storgatan", "116 28")
"""Queries the service answers as uncertain (a postal town over several boroughs, a street in two towns)."""


def test_uncertain_area_is_resolved_by_one_click_real_service(live_server, pages):
    assert _service_has_new_contract(live_server)
    s = pages(WIDE)
    s.open(live_server.url + "/")
    for q in UNCERTAIN_QUERIES:
        s.ask(q)
        s.answered()
        if s.page.locator("#choice").count():
            break
    else:
        pytest.fail(f"none of {UNCERTAIN_QUERIES} is answered as uncertain")
    first = s.page.locator("#choice button").first
    token = first.get_attribute("data-token")
    first.click()
    s.answered()
    assert s.lookups[-1]["choice"] == token
    assert s.page.locator("#summary").inner_text().startswith("Område ")
    assert s.page.locator("#choice").count() == 0


def test_without_javascript_the_form_gets_the_answer(live_server, browser):
    context = browser.new_context(java_script_enabled=False, viewport=NARROW, locale="sv-SE")
    try:
        page = context.new_page()
        posts = []
        page.on("request", lambda r: posts.append((r.method, r.url, r.post_data)))
        page.goto(live_server.url + "/")
        page.locator("#q").fill(ANSWER)
        with page.expect_navigation() as nav:
            page.get_by_role("button", name="Sök", exact=True).click()
        assert nav.value.status == 200
        assert page.url == live_server.url + "/svar"  # the address is in the body, never the URL
        method, url, body = [p for p in posts if urlsplit(p[1]).path == "/svar"][-1]
        assert method == "POST" and urlsplit(url).query == ""
        assert parse_qs(body) == {"lang": ["sv"], "address": [ANSWER]}
        assert page.locator("#summary").inner_text().startswith("Område 4 – Södermalm / Nacka–Värmdö.")
        assert page.locator("#eligible tbody tr").count() >= 3
        assert "Remiss: Belport" in page.locator("#eligible").inner_text()
        assert page.locator("#map-box").is_hidden() and page.locator("#actions").is_hidden()
        assert page.locator("#q").input_value() == ANSWER
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / "nojs-answer-320.png"), full_page=True)
        # Printed without JavaScript, the folded parts are unfolded by the print stylesheet alone.
        page.emulate_media(media="print")
        assert page.locator("#others-box tbody tr").first.is_visible()
        assert page.locator("#info-box li").first.is_visible()
        page.emulate_media(media="screen")
        assert not page.locator("#others-box tbody tr").first.is_visible()

        # An error is a page with the input kept and tied to the message (422), never raw JSON.
        page.locator("#q").fill(UNKNOWN)
        with page.expect_navigation() as nav:
            page.locator("#q").press("Enter")
        assert nav.value.status == 422
        assert page.locator("#q").input_value() == UNKNOWN
        assert page.locator("#q").get_attribute("aria-invalid") == "true"
        assert "q-error" in page.locator("#q").get_attribute("aria-describedby")
        assert page.locator("#q-error").inner_text().startswith("Fel:")
        page.screenshot(path=str(SHOTS / "nojs-error-320.png"), full_page=True)

        # Reloading /svar or switching language shows the form, never "Method Not Allowed".
        page.goto(live_server.url + "/svar")
        assert page.locator("#q").is_visible() and "Method Not Allowed" not in page.content()
        page.get_by_role("link", name="English").click()
        assert page.locator("label[for=q]").inner_text() == "Address, postcode or coordinates"
        assert page.locator("html").get_attribute("lang") == "en"
    finally:
        context.close()
    _assert_log_clean(live_server, ("Fj", "llgatan", "Qwxzyv"))


def test_without_javascript_an_uncertain_area_is_chosen_by_a_button(live_server, browser):
    assert _service_has_new_contract(live_server)
    context = browser.new_context(java_script_enabled=False, viewport=WIDE)
    try:
        page = context.new_page()
        page.goto(live_server.url + "/")
        for q in UNCERTAIN_QUERIES:
            page.locator("#q").fill(q)
            with page.expect_navigation():
                page.locator("#q").press("Enter")
            if page.locator("#choice").count():
                break
        else:
            pytest.fail(f"none of {UNCERTAIN_QUERIES} is answered as uncertain")
        with page.expect_navigation():
            page.locator("#choice button").first.click()
        assert page.locator("#summary").inner_text().startswith("Område ")
        assert page.url == live_server.url + "/svar"
    finally:
        context.close()


@pytest.mark.parametrize("query", [ANSWER, FREE_FLOW_ONLY])
def test_server_rendered_answer_matches_the_scripted_one(live_server, pages, browser, query):
    """The two renderers (answer.html and app.js) say the same for the same answer."""
    s = pages(WIDE)
    s.open(live_server.url + "/")
    s.ask(query)
    s.answered()
    scripted = _answer_texts(s.page)

    context = browser.new_context(java_script_enabled=False, viewport=WIDE)
    try:
        page = context.new_page()
        page.goto(live_server.url + "/")
        page.locator("#q").fill(query)
        with page.expect_navigation():
            page.locator("#q").press("Enter")
        served = _answer_texts(page)
    finally:
        context.close()
    # The scripted page fetches contacts from the provider list only once the service sends them per unit.
    for key in served:
        if key != "contacts":  # the scripted page gets contacts once the service sends them with each unit
            assert served[key] == scripted[key], key


def _answer_texts(page) -> dict:
    norm = lambda t: re.sub(r"\s+", " ", t or "").strip()  # noqa: E731
    loc = page.locator
    return {
        "summary": norm(loc("#summary").text_content()),
        "facts": re.sub(r"\s+", "", loc("#answer .facts").text_content()),
        "cautions": [norm(t) for t in loc("#answer .cautions li").all_text_contents()],
        "rows": [norm(t) for t in loc("#eligible tbody tr th").all_text_contents()],
        "times": [norm(t) for t in loc("#eligible tbody tr td:nth-child(2)").all_text_contents()],
        "within": [norm(t) for t in loc("#eligible tbody tr td:nth-child(3)").all_text_contents()],
        "bases": [norm(re.sub(r"Visa på kartan.*", "", t)) for t in loc("#eligible tbody tr td:nth-child(4)").all_text_contents()],
        "others": [norm(t) for t in loc("#others tbody tr th").all_text_contents()],
        "contacts": [norm(t) for t in loc("#eligible tbody tr td:nth-child(5)").all_text_contents()],
        # Free places; a report's age may tick over between the two lookups.
        "free": [re.sub(r"\(rapporterat [^)]*\)", "(rapporterat …)", norm(t))
                 for t in loc("#eligible tbody tr td:nth-child(6)").all_text_contents()],
        "basis": norm(loc("#basis").text_content()),
    }


def test_reflow_at_400_percent_zoom_keeps_every_cell(live_server, pages):
    s = pages(NARROW)
    s.open(live_server.url + "/")
    s.ask(ANSWER)
    s.answered()
    s.page.evaluate("document.querySelectorAll('#result details').forEach(d => d.open = true)")
    # Every cell is labelled and fits: the "ej valbara" cards clipped their bases before (issue 16).
    cells = s.page.locator("#others tbody td")
    assert cells.count() > 0
    assert all(lbl for lbl in cells.evaluate_all("cs => cs.map(c => c.dataset.label)"))
    misfits = s.page.locator("#result tbody td, #result tbody th").evaluate_all(
        "cs => cs.filter(c => c.offsetParent && (c.scrollWidth > c.clientWidth + 1"
        " || c.getBoundingClientRect().right > window.innerWidth + 1)).map(c => c.outerHTML.slice(0, 120))"
    )
    assert misfits == []
    assert s.page.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]
    # No scroll box that a keyboard cannot reach (axe scrollable-region-focusable).
    boxes = s.page.evaluate(
        "() => [...document.querySelectorAll('main *')].filter(n => n.offsetParent && !n.closest('#map')"
        " && ['auto','scroll'].includes(getComputedStyle(n).overflowX) && n.scrollWidth > n.clientWidth).length"
    )
    assert boxes == 0


def test_focus_ring_and_input_border_contrast(live_server, pages):
    s = pages(WIDE)
    s.open(live_server.url + "/")
    s.page.locator("#q").focus()
    colours = s.page.evaluate(
        """() => {
            const q = getComputedStyle(document.getElementById('q'));
            const form = getComputedStyle(document.getElementById('search'));
            return {outline: q.outlineColor, outlineWidth: q.outlineWidth, border: q.borderTopColor,
                    bg: form.backgroundColor, page: getComputedStyle(document.body).backgroundColor};
        }"""
    )
    s.page.keyboard.press("Tab")  # keyboard focus on the button: :focus-visible ring
    ring = s.page.evaluate("getComputedStyle(document.activeElement).outlineColor")
    assert float(colours["outlineWidth"].removesuffix("px")) >= 2
    for fg, bg in ((colours["border"], colours["bg"]), (colours["border"], colours["page"]), (ring, colours["page"]),
                   (ring, colours["bg"])):
        assert _contrast(fg, bg) >= 3.0, (fg, bg, _contrast(fg, bg))


def _contrast(a: str, b: str) -> float:
    def lum(css: str) -> float:
        r, g, b_ = (int(v) / 255 for v in re.findall(r"\d+", css)[:3])
        f = lambda c: c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4  # noqa: E731
        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b_)

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_address_never_reaches_url_history_storage_or_log(live_server, pages):
    s = pages(NARROW)
    s.open(live_server.url + "/")
    s.ask(ANSWER)
    s.answered()
    s.page.get_by_role("link", name="Hoppa över kartan").click() if s.page.locator("#skip-map").is_visible() else None
    s.ask(UNKNOWN)
    s.failed()
    time.sleep(0.2)
    _assert_private(s, ("Fj", "llgatan", "Qwxzyv"))
    assert s.page.url == live_server.url + "/"
    cookies = s.context.cookies()
    assert cookies == []
    assert s.page.evaluate("indexedDB.databases ? indexedDB.databases().then(d => d.length) : 0") == 0
    _assert_log_clean(live_server, ("Fj", "llgatan", "Qwxzyv"))
