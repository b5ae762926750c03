"""The referrer page's server side in-process: the form, the answer without JavaScript, its texts and its safety."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.routes import web
from registry.service import cli_actor

FJALLGATAN = "Fjällgatan 44, Stockholm"


@pytest.fixture(scope="module")
def client(service, settings):
    with TestClient(create_app(settings, service)) as c:
        yield c


def _form(client, **fields):
    return client.post("/svar", data=fields, headers={"Accept": "text/html"})


def test_the_form_page_in_both_languages(client):
    sv = client.get("/")
    assert sv.status_code == 200 and sv.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in sv.headers["content-security-policy"]
    assert '<html lang="sv">' in sv.text and 'action="/svar"' in sv.text and 'method="post"' in sv.text
    assert 'name="address"' in sv.text and 'aria-current="true">Svenska' in sv.text
    en = client.get("/", params={"lang": "en"})
    assert '<html lang="en">' in en.text and "Address, postcode or coordinates" in en.text
    assert '<html lang="sv">' in client.get("/", params={"lang": "xx"}).text
    # Reloading the answer page (a GET) shows the form, never a JSON "Method Not Allowed".
    again = client.get("/svar")
    assert again.status_code == 200 and 'id="search"' in again.text


def test_the_answer_without_javascript(client):
    r = _form(client, address=FJALLGATAN, lang="sv")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"  # the page holds the address: never kept by a cache
    assert "script-src 'self'" in r.headers["content-security-policy"]
    html = r.text
    summary = re.search(r'<div id="summary"[^>]*>([^<]*)</div>', html).group(1)
    assert summary.startswith("Område 4 – Södermalm / Nacka–Värmdö.") and "Närmast: ASIH Ersta Diakoni" in summary
    assert 'value="Fjällgatan 44, Stockholm"' in html  # the input keeps what was typed
    assert "Remiss: Belport" in html
    assert 'id="map-box" class="map-box" aria-labelledby="map-heading" hidden' in html
    # The same route answers a form posted to "/" (the old page's target).
    assert "Område 4" in client.post("/", data={"address": FJALLGATAN}).text


def test_an_uncertain_area_offers_buttons_that_post_a_choice(client):
    html = _form(client, address="Stockholm", lang="sv").text
    # Stockholm municipality lies in areas 3–6: no one area is certain, so the page offers its boroughs.
    assert "Området kan inte avgöras" in html and 'id="choice"' in html
    form = html[html.index('id="choice"'):]
    form = form[:form.index("</form>")]
    assert 'method="post" action="/svar"' in form and 'name="address" value="Stockholm"' in form
    token = re.search(r'name="choice" value="([^"]+)"', form).group(1)
    chosen = _form(client, address="Stockholm", lang="sv", choice=token)
    assert chosen.status_code == 200 and 'id="choice"' not in chosen.text
    assert re.search(r'<div id="summary"[^>]*>Område \d', chosen.text)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"address": "   "}, "Skriv en adress, ett postnummer eller koordinater"),
        ({"address": "x" * 400}, "Sökningen är längre än"),
        ({"address": "Qwxzyv 99"}, "Fel:"),
        ({"address": "Stockholm", "choice": "borough:Atlantis"}, "Fel:"),
        ({}, "Skriv en adress"),
    ],
)
def test_errors_are_pages_with_the_input_kept(client, fields, message):
    r = _form(client, lang="sv", **fields)
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert message in r.text
    assert 'aria-invalid="true"' in r.text and 'aria-describedby="q-error q-hint"' in r.text
    assert r.headers["cache-control"] == "no-store"


def test_a_json_body_gets_a_page_not_json(client):
    r = client.post("/svar", json={"address": FJALLGATAN})
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")


def test_what_was_typed_is_escaped(client):
    r = _form(client, address='"><script>alert(1)</script>', lang="en")
    assert "<script>alert(1)" not in r.text
    assert "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in r.text or "&quot;&gt;&lt;script&gt;" in r.text


def test_view_reads_the_old_answer_shape(registry):
    old = {
        "query": {"precision": "street", "matched": "Fjällgatan, Stockholm", "lat": 59.3173, "lon": 18.0859},
        "area": {"id": 4, "name": "Södermalm / Nacka–Värmdö", "provenance": "hypothesis", "municipality": "Stockholm",
                 "district": "Södermalm", "stadsdel": "Södermalm", "border_warning": None},
        "eligible": [{"id": "ersta-diakoni", "unit": "ASIH Ersta Diakoni", "organisation": "Ersta Diakonisällskap",
                      "drive_time_s": 102.4, "within_limit": True, "base": "Ersta sjukhus, Södermalm",
                      "base_precision": "place", "capacity_note": None}],
        "reachable_not_approved": [],
        "warnings": ["Husnumret finns inte i adressdatat; punkten ligger på gatan."],
        "limit_s": 1800.0, "profile": "free_flow",
    }
    v = web.view(old, "sv", registry)
    assert v["status"] == "certain" and v["caution"] == ["Husnumret finns inte i adressdatat; punkten ligger på gatan."]
    assert v["summary"] == ("Område 4 – Södermalm / Nacka–Värmdö. 1 valbar enhet, 1 inom 30 min. "
                            "Närmast: ASIH Ersta Diakoni, 2 min. Restider vid fritt flöde (utan trafik).")
    assert v["eligible"][0]["contact"]["known"] == [{"label": "Remiss", "value": "Belport", "tel": None}]
    assert "profil free_flow" in v["basis"]
    assert v["eligible"][0]["free"] is None  # no live registry: no free-places line, the capacity column as before
    outside = web.view({**old, "area": {"id": None, "name": None}, "eligible": []}, "en", registry)
    assert outside["status"] == "outside" and outside["summary"].startswith("The place is outside Stockholm County.")


def test_texts_exist_in_both_languages_for_every_key_used():
    texts = web.TEXTS
    assert set(texts["sv"]) == set(texts["en"])
    assert not (web.STATIC_DIR / "texts.json").exists()  # one catalogue: core/words.yaml
    used = set()
    js = (web.STATIC_DIR / "app.js").read_text(encoding="utf-8")
    used |= set(re.findall(r'\bt\("(\w+)"', js)) | set(re.findall(r'TEXTS\[lang\]\["(\w+)', js))
    for name in ("page.html", "answer.html"):
        used |= set(re.findall(r"\bt\.(\w+)", (web.TEMPLATES_DIR / name).read_text(encoding="utf-8")))
    used |= set(re.findall(r'data-t(?:-[\w-]+)?="(\w+)"', (web.TEMPLATES_DIR / "page.html").read_text(encoding="utf-8")))
    used = {k for k in used if not k.endswith("_") and k != "get"}  # prefixes completed at run time
    assert used - set(texts["sv"]) == set()


# Machado, Oliveira & Fernandes (2009), severity 1.0, on linear RGB.
_CVD = {
    "protanopia": ((0.152286, 1.052583, -0.204868), (0.114503, 0.786281, 0.099216), (-0.003882, -0.048116, 1.051998)),
    "deuteranopia": ((0.367322, 0.860646, -0.227968), (0.280085, 0.672501, 0.047413), (-0.011820, 0.042940, 0.968881)),
    "tritanopia": ((1.255528, -0.076749, -0.178779), (-0.078411, 0.930809, 0.147602), (0.004733, 0.691367, 0.303900)),
    "none": ((1, 0, 0), (0, 1, 0), (0, 0, 1)),
}


def _linear(hex_colour: str) -> tuple[float, ...]:
    rgb = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    return tuple(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb)


def _luminance(rgb) -> float:
    rgb = [min(1.0, max(0.0, c)) for c in rgb]
    return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]


def _ratio(a: float, b: float) -> float:
    hi, lo = max(a, b), min(a, b)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("vision", list(_CVD))
def test_map_marks_stay_apart_for_colour_blind_vision(vision):
    """The marks differ by shape and number first; their colours must also stay apart under simulated CVD."""
    css = (web.STATIC_DIR / "app.css").read_text(encoding="utf-8")
    colour = {name: re.search(rf"--{name}:\s*(#[0-9a-f]{{6}})", css).group(1) for name in ("oi-blue", "oi-orange")}
    m = _CVD[vision]

    def seen(hex_colour: str) -> float:
        c = _linear(hex_colour)
        return _luminance([sum(m[i][j] * c[j] for j in range(3)) for i in range(3)])

    base, choice, white, black, background = (seen(colour["oi-blue"]), seen(colour["oi-orange"]), seen("#ffffff"),
                                              seen("#000000"), seen("#e8eef3"))
    assert _ratio(base, choice) >= 2.0   # a base (blue) and a choice (orange) never look alike
    assert _ratio(white, base) >= 4.5    # a base's white number is readable
    assert _ratio(black, choice) >= 4.5  # a choice's black letter is readable
    assert _ratio(base, background) >= 3.0 and _ratio(black, background) >= 3.0  # marks stand out from the map


# -- free places from the live registry (issue 14) -------------------------------------------------------------------
@pytest.fixture
def live(client, service, tmp_path):
    """A fresh registry with a settable clock behind the page's service for one test (the shared one is put back)."""
    from tests.registry.conftest import Clock, open_service

    clock = Clock()
    registry = open_service(f"sqlite:///{tmp_path / 'registry.sqlite3'}", clock)
    served = client.app.state.service  # the app serves a copy of the service, wired to its registry
    before = served.live
    served.live = registry
    try:
        yield SimpleNamespace(registry=registry, clock=clock)
    finally:
        served.live = before
        registry.close()


def _report(live, unit: str, free: int, note: str | None = None, *, ago: timedelta) -> None:
    live.clock.now -= ago
    try:
        live.registry.set_availability(cli_actor(), unit, free, note)
    finally:
        live.clock.now += ago


def _capacity_cells(html: str) -> dict[str, str]:
    """Each eligible unit's capacity cell, as text with single spaces."""
    table = html[html.index('<table id="eligible"'):]
    table = table[:table.index("</table>")]
    rows = re.findall(r'<tr data-unit="([^"]+)">(.*?)</tr>', table, re.S)
    return {unit: " ".join(re.sub(r"<[^>]+>", "", re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[-1]).split())
            for unit, row in rows}


@pytest.mark.parametrize(
    ("age_s", "sv", "en"),
    [(0, "rapporterat nyss", "reported just now"), (29, "rapporterat nyss", "reported just now"),
     (30, "rapporterat för 1 min sedan", "reported 1 min ago"), (3599, "rapporterat för 1 tim sedan", "reported 1 h ago"),
     (7200, "rapporterat för 2 tim sedan", "reported 2 h ago"), (47.4 * 3600, "rapporterat för 47 tim sedan", "reported 47 h ago"),
     (47.6 * 3600, "rapporterat för 2 dagar sedan", "reported 2 days ago")],
)
def test_the_age_of_a_report_in_words(age_s, sv, en):
    report = {"free_places": 3, "note": None, "reported_at": "2026-01-01T10:00:00+00:00", "age_s": age_s,
              "stale": False, "status": "current", "stale_after_s": 86400.0}
    assert web.free_places(report, web.TEXTS["sv"])["age"] == sv
    assert web.free_places(report, web.TEXTS["en"])["age"] == en


def test_free_places_current_full_stale_and_none():
    sv = web.TEXTS["sv"]
    base = {"note": None, "reported_at": "2026-01-01T10:00:00+00:00", "stale_after_s": 86400.0}
    current = web.free_places({**base, "free_places": 3, "age_s": 7200, "stale": False, "status": "current",
                               "note": "Två team"}, sv)
    assert current == {"status": "current", "text": "Lediga platser: 3", "age": "rapporterat för 2 tim sedan",
                       "reported_at": "2026-01-01T10:00:00+00:00", "note": "Enhetens notering: Två team"}
    full = web.free_places({**base, "free_places": 0, "age_s": 60, "stale": False, "status": "current"}, sv)
    assert (full["status"], full["text"], full["age"]) == ("full", "Fullt – 0 lediga platser", "rapporterat för 1 min sedan")
    # A stale report: its age and "call", never the number it gave.
    stale = web.free_places({**base, "free_places": 4, "age_s": 30 * 3600, "stale": True, "status": "stale"}, sv)
    assert stale["text"] == "Lediga platser: uppgiften är 30 tim gammal – ring och fråga" and stale["age"] is None
    assert "4" not in stale["text"]
    assert web.free_places({**base, "free_places": 4, "age_s": 3 * 86400, "stale": True, "status": "stale"},
                           web.TEXTS["en"])["text"] == "Free places: the report is 3 days old – call and ask"
    none = web.free_places({"free_places": None, "note": None, "reported_at": None, "age_s": None, "stale": True,
                            "status": "none", "stale_after_s": 86400.0}, sv)
    assert (none["status"], none["text"]) == ("none", "Lediga platser: ej rapporterat")
    assert web.free_places(None, sv) is None


def test_the_answer_without_javascript_shows_free_places_with_their_age(client, live):
    """Current, full (0), stale and unreported units at Fjällgatan 44, through POST /svar and the real service."""
    _report(live, "ersta-diakoni", 3, '<b>Två</b> team & "kvällar"', ago=timedelta(hours=2))
    _report(live, "nacka-capio", 0, ago=timedelta(minutes=10))
    _report(live, "dalen-capio", 2, "Ring först", ago=timedelta(hours=30))
    r = _form(client, address=FJALLGATAN, lang="sv")
    assert r.status_code == 200
    cells = _capacity_cells(r.text)
    assert set(cells) >= {"ersta-diakoni", "nacka-capio", "dalen-capio", "stockholm-sodra"}
    assert cells["ersta-diakoni"] == ("Lediga platser: 3 (rapporterat för 2 tim sedan) "
                                      "Enhetens notering: &lt;b&gt;Två&lt;/b&gt; team &amp; &#34;kvällar&#34;")
    assert "<b>Två</b>" not in r.text  # the note is text, never markup
    assert cells["nacka-capio"] == "Fullt – 0 lediga platser (rapporterat för 10 min sedan)"
    assert cells["dalen-capio"] == "⚠ Lediga platser: uppgiften är 30 tim gammal – ring och fråga Enhetens notering: Ring först"
    assert cells["stockholm-sodra"] == "Lediga platser: ej rapporterat"
    # Marked in words and by a box (class), not by colour alone; the row stays in the list.
    assert '<td data-label="Kapacitet" data-free="full"><div class="v">' in r.text
    assert '<span class="free free-full">Fullt – 0 lediga platser' in r.text
    assert '<span class="free free-stale"><span aria-hidden="true">⚠ </span>' in r.text
    assert re.search(r'\(<time datetime="\d{4}-\d\d-\d\dT[^"]+">rapporterat för 2 tim sedan</time>\)', r.text)

    en = _capacity_cells(_form(client, address=FJALLGATAN, lang="en").text)
    assert en["ersta-diakoni"].startswith("Free places: 3 (reported 2 h ago) The unit&#39;s note:")
    assert en["dalen-capio"].startswith("⚠ Free places: the report is 30 h old – call and ask")
    assert en["nacka-capio"] == "Full – 0 free places (reported 10 min ago)"
    assert en["stockholm-sodra"] == "Free places: not reported"


def test_the_summary_says_when_the_nearest_unit_is_full(client, live):
    _report(live, "ersta-diakoni", 0, ago=timedelta(minutes=5))
    html = _form(client, address=FJALLGATAN, lang="sv").text
    summary = re.search(r'<div id="summary"[^>]*>([^<]*)</div>', html).group(1)
    assert "Närmast: ASIH Ersta Diakoni, 2 min – rapporterat fullt." in summary
    assert 'data-unit="ersta-diakoni"' in html  # still listed, first by drive time
