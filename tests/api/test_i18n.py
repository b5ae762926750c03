"""Every sentence a real lookup can produce has a Swedish version (the referrer page asks for lang=sv)."""

from __future__ import annotations

import random
import re

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from geo.geocode import Ambiguous, GeocodeError
from routing.eligibility import Eligibility

ENGLISH = re.compile(r"\b(the|is|not|only|from|with|and|area|drive|base|point|query|postcode)\b", re.IGNORECASE)
"""Words of the English templates that no Swedish sentence (or unit/place name) here contains."""

QUERIES = [
    "Fjällgatan 44, Stockholm", "Fjalgatan 44", "Linnégatan 18, Stockholm", "Linnégatan 18B, Stockholm", "11628",
    "116 28", "12345", "Täby", "Kista", "Uppsala", "Göteborg", "Norrtälje", "59.3335, 17.9960", "59.3, 19.5",
    "Fjällgatan 44, 186 00 Vallentuna", "Stockholm", "Storgatan", "Mariebergsgtan 22", "177 30", "Jakobsberg",
    "Kungsgatan 5, 753 21 Uppsala", "Zqxwvgatan 12, 186 00 Vallentuna", "Drottningholmsvägen 200, 168 73 Bromma",
    "Fjällgatan 44, Uppsala", "19999",
]
CHOICES = [("Stockholm", "borough:Bromma"), ("Storgatan", "municipality:0184"), ("59.3335, 17.9950", "area:6"),
           ("Fjällgatan 44", "confirm")]
BAD = ["", "   ", "x" * 400, "abc\x00def", "qqqxxzz", "Zqxwvgatan 3", "91.5, 18.0", "59,3157,18,0867"]


def _assert_swedish(text: str) -> None:
    found = ENGLISH.findall(text)
    assert not found, f"untranslated: {text!r}"


def _texts(body: dict) -> list[str]:
    """Every sentence of an answer a user reads."""
    out = [w["message"] for w in body["warnings"]]
    if body["area"]["border_warning"]:
        out.append(body["area"]["border_warning"]["message"])
    out += [body["query"]["region"]["basis"], body["query"]["region"]["label"], body["basis"]["summary"]]
    return out


def _sentences(service) -> list[str]:
    """Every sentence of real Swedish answers: notes worded from the catalogue, the geocoder's region texts."""
    out = []
    for q in QUERIES:
        try:
            out += _texts(service.lookup(address=q, lang="sv"))
        except GeocodeError:
            continue
    for q, choice in CHOICES:
        out += _texts(service.lookup(address=q, choice=choice, lang="sv"))
    rng = random.Random(7)
    for _ in range(150):
        out += _texts(service.lookup(lat=rng.uniform(58.7, 60.3), lon=rng.uniform(17.2, 19.6), lang="sv"))
    strict = Eligibility(service.network, service.registry, service.locator, service.eligibility.trees,
                         service.settings.limit_s, snap_warning_m=0.0)
    out += [note.render("sv") for note in strict.at(59.7580, 18.7040).warnings]
    return out


def test_every_warning_has_a_swedish_version(service):
    sentences = _sentences(service)
    assert len(set(sentences)) > 15  # the corpus really exercises the texts
    for text in set(sentences):
        found = ENGLISH.findall(text)
        assert not found, f"untranslated: {text!r}"


@pytest.mark.parametrize("query", BAD)
def test_every_error_sentence_has_a_swedish_version(service, query):
    try:
        service.lookup_text(query)
    except Ambiguous as exc:
        _assert_swedish(exc.render("sv"))
    except GeocodeError as exc:
        _assert_swedish(exc.render("sv"))
    else:
        pytest.fail(f"{query!r} should not geocode")


def test_lang_sv_over_http(service, settings):
    with TestClient(create_app(settings, service)) as c:
        sv = c.post("/v1/lookup", json={"address": "Täby", "lang": "sv"}).json()
        en = c.post("/v1/lookup", json={"address": "Täby"}).json()
        err = c.post("/v1/lookup", json={"address": "qqqxxzz", "lang": "sv"}).json()
    assert en["warnings"] != sv["warnings"] and len(en["warnings"]) == len(sv["warnings"])
    assert [w["code"] for w in en["warnings"]] == [w["code"] for w in sv["warnings"]]
    assert any("hypotes" in w["message"] for w in sv["warnings"])
    assert err["detail"].startswith("Gatan finns inte")
    assert [w["params"] for w in en["warnings"]] == [w["params"] for w in sv["warnings"]]  # the same facts
