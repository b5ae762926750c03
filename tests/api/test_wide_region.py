"""Drive times as sure as the location, labels only where certain (issue "the same answer everywhere", items 3 and
4), on real queries of the offline data.

A location known only to within more than ``WIDE_REGION_M`` (a street, a postcode, a postal town) gives each unit's
drive time as a range over the region with the share within the limit, never one time from one point; municipality,
borough and stadsdel are named only when the whole region lies in one. Address answers are as before. The page says
it the same way rendered on the server (/svar) and by app.js.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import time
from datetime import datetime
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from api.routes import web
from api.schemas import LookupOut
from lookup.service import WIDE_REGION_M
from tests.conftest import BROWSER_MARKS

JORDBRO = "Jordbro"  # a postal town: the region is Haninge municipality (61 km wide, with its archipelago)
JORDBRO_POSTCODE = "136 50"  # a Jordbro postcode known only by its postal town: the same region
RUNMARO_POSTCODE = "130 38"  # the island's postcode, known only by its postal town: Värmdö municipality
SANKT_ERIKSGATAN = "Sankt Eriksgatan 40, Stockholm"  # no such house number: the street, on Kungsholmen and Norrmalm
ADDRESS = "Eriksdalsgatan 21, 118 59 Stockholm"  # a register address point on Södermalm
FREE_FLOW_AT_ADDRESS = {"ersta-diakoni": 155.2, "dalen-capio": 251.7, "nacka-capio": 432.0, "stockholm-sodra": 561.3}
"""Free-flow drive times (s) at ADDRESS as the lookup gave them before ranges existed (one point, one time)."""


def _rows(body: dict) -> list[dict]:
    return body["eligible"] + body["reachable_not_approved"]


def _assert_ranges(body: dict) -> None:
    """Every row of a wide answer: a range min ≤ p50 ≤ max, drive_time_s its median, within only when all of it
    is; rows ranked by the median."""
    LookupOut.model_validate(body)
    assert body["query"]["region"]["width_m"] >= WIDE_REGION_M
    assert body["eligible"]
    for row in _rows(body):
        rng, share = row["drive_time_range_s"], row["within_limit_share"]
        assert rng["min"] <= rng["p50"] <= rng["max"], row["id"]
        assert row["drive_time_s"] == rng["p50"]
        assert 0.0 <= share <= 1.0 and row["within_limit"] is (share == 1.0)
        assert row["within_limit"] is (rng["max"] <= body["limit_s"])
    for row in body["eligible"]:
        for profile, r in row["drive_time_range_s_by_profile"].items():
            assert r["min"] <= r["p50"] <= r["max"] and row["drive_time_s_by_profile"][profile] == r["p50"]
        assert set(row["drive_time_range_s_by_profile"]) == {"free_flow", "typical", "peak"}
    for rows in (body["eligible"], body["reachable_not_approved"]):
        medians = [r["drive_time_range_s"]["p50"] for r in rows]
        assert medians == sorted(medians)  # ranked by the median
    assert all(r["within_limit_share"] > 0 for r in body["reachable_not_approved"])


def test_a_postal_town_gives_ranges_over_where_people_live(service):
    body = service.lookup_text(JORDBRO)
    _assert_ranges(body)
    assert body["query"]["region"]["kind"] == "postal_town" and body["area"]["id"] == 3
    syd = body["eligible"][0]
    assert syd["id"] == "syd-aleris"  # its base is in Handen, Haninge
    free = syd["drive_time_range_s_by_profile"]["free_flow"]
    # From its own town centre to the archipelago (Utö, Ornö): minutes to most of Haninge, 45+ min to its islands.
    assert free["min"] < 60 and free["p50"] < 10 * 60 and free["max"] > 45 * 60
    assert 0.99 <= syd["within_limit_share_by_profile"]["free_flow"] < 1.0
    # Before, Jordbro said "5 within 30 min" from one point; no approved unit reaches all of Haninge within 30 min.
    assert not any(row["within_limit"] for row in body["eligible"])
    codes = {w["code"]: w for w in body["warnings"]}
    assert codes["partly_within_limit"]["severity"] == "decisive"
    assert codes["partly_within_limit"]["message"].endswith(
        f"the best reaches {math.floor(max(r['within_limit_share'] for r in body['eligible']) * 100)}% of it.")
    assert re.search(r"a range over where people live in it \(\d+ population points, weighted by people\)",
                     codes["wide_region"]["message"])
    assert "none_within_limit" not in codes
    assert (body["area"]["municipality"], body["area"]["district"], body["area"]["stadsdel"]) == ("Haninge", None, None)


def test_a_postcode_known_by_its_town_answers_as_the_town(service):
    """The same region gives the same answer, whichever way it was typed."""
    town, postcode = service.lookup_text(JORDBRO), service.lookup_text(JORDBRO_POSTCODE)
    _assert_ranges(postcode)
    assert postcode["query"]["region"]["kind"] == "postcode"
    assert [(r["id"], r["drive_time_range_s"], r["within_limit_share"]) for r in _rows(postcode)] == [
        (r["id"], r["drive_time_range_s"], r["within_limit_share"]) for r in _rows(town)]


def test_an_island_postcode_is_neither_all_out_of_reach_nor_in_reach(service):
    """Runmarö's postcode once said "none within 30 min (33 min)" from one point: part of the region is reached."""
    body = service.lookup_text(RUNMARO_POSTCODE)
    _assert_ranges(body)
    assert body["area"]["id"] == 4 and body["area"]["municipality"] == "Värmdö"
    best = max(r["within_limit_share"] for r in body["eligible"])
    assert 0 < best < 1 and not any(r["within_limit"] for r in body["eligible"])
    codes = [w["code"] for w in body["warnings"]]
    assert "partly_within_limit" in codes and "none_within_limit" not in codes


def test_a_large_region_is_sampled_evenly_and_says_so(service):
    body = service.lookup_text("Huddinge")
    _assert_ranges(body)
    [wide] = [w["message"] for w in body["warnings"] if w["code"] == "wide_region"]
    n, total = map(int, re.search(r"\((\d+) of its (\d+) population points, picked evenly", wide).groups())
    assert n == 2000 < total
    assert service.lookup_text("Huddinge") == body  # deterministic


def test_a_street_through_two_boroughs_names_both(service):
    body = service.lookup_text(SANKT_ERIKSGATAN)
    _assert_ranges(body)
    assert body["query"]["precision"] == "street" and body["area"]["id"] == 5
    area = body["area"]
    # Before: "Norrmalm" (the street's middle point); the house is on Kungsholmen, the street runs through both.
    assert area["district"] == "Kungsholmen or Norrmalm" and area["district_possible"] == ["Kungsholmen", "Norrmalm"]
    assert area["stadsdel_possible"] == ["Kungsholmen", "Vasastaden"]
    assert (area["municipality"], area["municipality_possible"]) == ("Stockholm", ["Stockholm"])
    sv = service.lookup(address=SANKT_ERIKSGATAN, lang="sv")["area"]
    assert (sv["district"], sv["stadsdel"]) == ("Kungsholmen eller Norrmalm", "Kungsholmen eller Vasastaden")
    # The inner city is reached from every point of the street: yes, with its range.
    norr = next(r for r in body["eligible"] if r["id"] == "stockholm-norr")
    assert norr["within_limit"] is True and norr["within_limit_share"] == 1.0
    assert norr["drive_time_range_s"]["min"] < norr["drive_time_range_s"]["max"]
    [wide] = [w for w in body["warnings"] if w["code"] == "wide_region"]
    assert re.search(r"a range over its \d+ known points, ranked by the median\.$", wide["message"])


def test_an_address_answers_as_before(service):
    body = service.lookup_text(ADDRESS)
    LookupOut.model_validate(body)
    assert body["query"]["precision"] == "address" and body["query"]["region"]["width_m"] == 0.0
    point = service.eligibility.at(body["query"]["lat"], body["query"]["lon"], area_id=4)
    loc = point.location
    area = body["area"]
    assert (area["municipality"], area["district"], area["stadsdel"]) == (
        loc.municipality_name, loc.district, loc.stadsdel) == ("Stockholm", "Södermalm", "Södermalm")
    assert (area["district_possible"], area["stadsdel_possible"]) == (["Södermalm"], ["Södermalm"])
    by_point = {a.unit.id: a.drive_time_s for a in point.eligible}
    for row in body["eligible"]:
        assert row["drive_time_s"] == by_point[row["id"]]
        assert row["drive_time_range_s"] is None and row["within_limit_share"] is None
        assert "drive_time_range_s_by_profile" not in row
    free_flow = {r["id"]: r["drive_time_s_by_profile"]["free_flow"] for r in body["eligible"]}
    assert {k: free_flow[k] for k in FREE_FLOW_AT_ADDRESS} == FREE_FLOW_AT_ADDRESS
    assert [r["id"] for r in body["eligible"]][0] == "ersta-diakoni"
    assert not any(w["code"] in ("wide_region", "partly_within_limit") for w in body["warnings"])


def test_a_wide_lookup_stays_well_under_100_ms(service):
    for query in (JORDBRO, SANKT_ERIKSGATAN):
        service.lookup_text(query)
        runs = []
        for _ in range(15):
            t0 = time.perf_counter()
            service.lookup_text(query)
            runs.append(time.perf_counter() - t0)
        assert statistics.median(runs) < 0.1, query


# -- the page ---------------------------------------------------------------------------------------------------------
def _expected_nearest(row: dict, where: str) -> str:
    rng = row["drive_time_range_s"]
    lo, hi = math.ceil(rng["min"] / 60), math.ceil(rng["max"] / 60)
    pct = math.floor(row["within_limit_share"] * 100 + 1e-9)
    return f"Närmast (median): {row['unit']}, {lo}–{hi} min; inom 30 min för {pct} % av {where}."


def test_the_answer_page_shows_a_range_and_the_share_never_one_time(service):
    body = service.lookup(address=JORDBRO, lang="sv")
    v = web.view(body, "sv", service.registry, datetime(2026, 1, 1, 12, 0))
    n = len(body["eligible"])
    assert v["summary"] == (
        f"Område 3 – Söderort / Södertörn. {n} valbara enheter. Når hela orten inom 30 min: 0; "
        f"bara delar av den: {n}. " + _expected_nearest(body["eligible"][0], "orten") + " Restider vid normal trafik.")
    assert not re.search(r"Närmast: [^,]+, \d+ min\.", v["summary"])  # the old single time
    for row, u in zip(v["eligible"], body["eligible"]):
        assert re.fullmatch(r"\d+–\d+ min", row["time"]) and not row["within"]
        assert row["partial"] == f"delvis: {math.floor(u['within_limit_share'] * 100 + 1e-9)} % av orten"
    en = web.view(service.lookup(address=SANKT_ERIKSGATAN, lang="en"), "en", service.registry)
    assert re.search(r"Reach the whole street within 30 min: \d+; only parts of it: 0\. Nearest \(median\): "
                     r"[^,]+, \d+–\d+ min; within 30 min for 100% of the street\. Drive times in typical traffic\.$",
                     en["summary"])
    assert en["place"] == "Stockholm, borough Kungsholmen or Norrmalm"


def test_the_answer_without_javascript_says_the_same(service, settings):
    from fastapi.testclient import TestClient

    from api.app import create_app

    with TestClient(create_app(settings, service)) as client:
        html = client.post("/svar", data={"address": JORDBRO, "lang": "sv"}).text
    summary = re.search(r'<div id="summary"[^>]*>([^<]*)</div>', html).group(1)
    body = service.lookup(address=JORDBRO, lang="sv")
    assert summary.endswith(_expected_nearest(body["eligible"][0], "orten") + " Restider vid normal trafik.")
    eligible = html[html.index('id="eligible"'):html.index("</table>", html.index('id="eligible"'))]
    cells = [re.sub(r"<[^>]+>", "", c).strip()
             for c in re.findall(r'<td data-label="[^"]*" class="num"><div class="v">(.*?)</div></td>', eligible)]
    assert len(cells) == 2 * len(body["eligible"])
    # Each time a range, with the range at peak beside it (the answer's profile is typical).
    assert all(re.fullmatch(r"\d+–\d+ min \(rusning: \d+–\d+ min\)", re.sub(r"\s+", " ", c)) for c in cells[::2])
    assert all(re.fullmatch(r"◐ delvis: \d+ % av orten", c) for c in cells[1::2])


def _in_browser(test):
    for mark in BROWSER_MARKS:
        test = mark(test)
    return test


@_in_browser
@pytest.mark.parametrize("query", [JORDBRO, SANKT_ERIKSGATAN])
def test_the_scripted_page_says_what_the_server_says(service, browser, query):
    """app.js's rendering of the server's view model (as /v1/lookup sends it with ``view``) and the server's /svar
    rendering of the same answer: the same summary, times and within cells."""
    body = service.lookup(address=query, lang="sv")
    sent = LookupOut.model_validate(body).model_dump(mode="json")
    sent["view"] = web.view(sent, "sv", service.registry)
    served = web._page("sv", address=query, answer=sent["view"], status=200).body
    files = {"/": web._page("sv", status=200).body, "/static/app.js": (web.STATIC_DIR / "app.js").read_bytes()}

    def handle(route):
        path = urlsplit(route.request.url).path
        if path == "/v1/lookup":
            route.fulfill(status=200, content_type="application/json", body=json.dumps(sent))
        elif path == "/v1/providers":
            route.fulfill(status=200, content_type="application/json", body="[]")
        elif path in files:
            kind = "text/javascript" if path.endswith(".js") else "text/html; charset=utf-8"
            route.fulfill(status=200, content_type=kind, body=files[path], headers=web.SECURITY_HEADERS)
        else:
            route.fulfill(status=404, body="")

    texts = {}
    for scripted in (True, False):
        context = browser.new_context(java_script_enabled=scripted)
        try:
            page = context.new_page()
            if scripted:
                page.route("**/*", handle)
                page.goto("http://asih.test/")
                page.locator("#q").fill(query)
                page.locator("#q").press("Enter")
                # A locator assertion, not wait_for_function: its polling evaluates a string, which the page's
                # Content-Security-Policy (no 'unsafe-eval') refuses when the answer is not there at once.
                expect(page.locator("#summary")).to_have_text(re.compile(r"^Område"), timeout=20_000)
            else:
                page.set_content(served.decode())
            loc = page.locator
            texts[scripted] = {
                "summary": loc("#summary").text_content().strip(),
                "times": loc("#eligible tbody tr td:nth-child(2)").all_inner_texts(),
                "within": [re.sub(r"\s+", " ", t).strip()
                           for t in loc("#eligible tbody tr td:nth-child(3)").all_inner_texts()],
                "place": loc("#place").text_content().strip(),
            }
        finally:
            context.close()
    assert texts[True] == texts[False]
    assert len(texts[True]["times"]) == len(body["eligible"]) > 0
    assert all(re.fullmatch(r"\d+(–\d+)? min \(rusning: \d+(–\d+)? min\)", re.sub(r"\s+", " ", t).strip())
               for t in texts[True]["times"])
    assert "Närmast (median): " in texts[True]["summary"]
    if query == SANKT_ERIKSGATAN:
        assert texts[True]["place"] == "Stockholm, stadsdelsområde Kungsholmen eller Norrmalm"
