"""The referrer page's server side in-process: the form, the answer without JavaScript, its texts and its safety."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.routes import web

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
    if 'id="choice"' not in html:
        pytest.skip("the service answers 'Stockholm' with a certain area")
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
                            "Närmast: ASIH Ersta Diakoni, 2 min.")
    assert v["eligible"][0]["contact"]["known"] == [{"label": "Remiss", "value": "Belport", "tel": None}]
    assert "profil free_flow" in v["basis"]
    outside = web.view({**old, "area": {"id": None, "name": None}, "eligible": []}, "en", registry)
    assert outside["status"] == "outside" and outside["summary"].startswith("The place is outside Stockholm County.")


def test_texts_exist_in_both_languages_for_every_key_used():
    texts = json.loads((web.STATIC_DIR / "texts.json").read_text(encoding="utf-8"))
    assert set(texts["sv"]) == set(texts["en"])
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
