"""Lookups give each eligible unit's drive time under free flow, typical and peak traffic, and flag a unit that is
within the limit only without traffic (issue 13: the referrer answer says which profile its times use)."""

from __future__ import annotations

import numpy as np
import pytest

from api.schemas import LookupOut

NORD_ALERIS_EDGE = (59.43115, 17.79169)
"""A point in area 7 that ASIH Nord Aleris reaches in 25 min without traffic and 32 min in typical traffic."""


def test_a_unit_within_the_limit_only_without_traffic_is_flagged(service):
    body = service.lookup(lat=NORD_ALERIS_EDGE[0], lon=NORD_ALERIS_EDGE[1])
    LookupOut.model_validate(body)
    # The answer's own times are typical traffic (the default profile), and it says so.
    assert body["profile"] == "typical" and "typical-traffic" in body["basis"]["summary"]
    unit = next(e for e in body["eligible"] if e["id"] == "nord-aleris")
    times = unit["drive_time_s_by_profile"]
    assert times["free_flow"] <= body["limit_s"] < times["typical"] == unit["drive_time_s"] <= times["peak"]
    assert unit["within_limit"] is False and unit["within_limit_only_at_free_flow"] is True
    [note] = [w for w in body["warnings"] if w["code"] == "free_flow_only" and "Nord Aleris" in w["message"]]
    assert note["severity"] == "caution"
    assert f"{int(np.ceil(times['typical'] / 60))} min in typical traffic" in note["message"]
    sv = service.lookup(lat=NORD_ALERIS_EDGE[0], lon=NORD_ALERIS_EDGE[1], lang="sv")
    [sv_note] = [w for w in sv["warnings"] if w["code"] == "free_flow_only" and "Nord Aleris" in w["message"]]
    assert "bara utan trafik" in sv_note["message"] and "vid normal trafik" in sv_note["message"]


def test_times_grow_with_traffic_and_the_flag_follows_them(service):
    rng = np.random.default_rng(7)
    flagged = checked = 0
    for _ in range(80):
        lat, lon = 59.05 + rng.random() * 0.8, 17.6 + rng.random() * 1.1
        body = service.lookup(lat=lat, lon=lon)
        for unit in body["eligible"]:
            t = unit["drive_time_s_by_profile"]
            assert set(t) == {"free_flow", "typical", "peak"}
            if t["free_flow"] is None:
                assert t["typical"] is None and unit["within_limit_only_at_free_flow"] is False
                continue
            assert t["free_flow"] <= t["typical"] <= t["peak"]
            expected = t["free_flow"] <= body["limit_s"] < t["typical"]
            assert unit["within_limit_only_at_free_flow"] is expected
            noted = any(w["code"] == "free_flow_only" and w["message"].startswith(unit["unit"] + ":")
                        for w in body["warnings"])
            assert noted is expected
            flagged += expected
            checked += 1
        for other in body["reachable_not_approved"]:
            assert "drive_time_s_by_profile" not in other  # not eligible: no traffic times asked for
    assert checked > 50 and flagged > 0


@pytest.mark.parametrize("lang", ["en", "sv"])
def test_an_outside_answer_lists_no_units(service, lang):
    outside = service.lookup(lat=57.7, lon=11.97, lang=lang)  # Göteborg
    assert outside["area"]["status"] == "outside" and outside["eligible"] == []


def test_the_page_says_so_in_the_units_row(service):
    """The referrer page (server-rendered, as without JavaScript) marks the unit in its row, not only in the list of
    cautions; the script renders the same row from the same texts (tests/api/test_page_a11y.py drives it)."""
    from api.routes import web

    body = service.lookup(lat=NORD_ALERIS_EDGE[0], lon=NORD_ALERIS_EDGE[1], lang="sv")
    view = web.view(body, "sv")
    row = next(r for r in view["eligible"] if r["id"] == "nord-aleris")
    typical = body["eligible"][[e["id"] for e in body["eligible"]].index("nord-aleris")]["drive_time_s_by_profile"]
    assert row["within"] is False  # not within 30 min in typical traffic, the answer's profile
    assert row["traffic"] == f"bara utan trafik: {int(np.ceil(typical['typical'] / 60))} min vid normal trafik"
    html = web._page("sv", answer=view, status=200).body.decode()
    assert f'<span class="traffic">{row["traffic"]}</span>' in html
    assert all(r["traffic"] is None for r in view["eligible"] if r["id"] != "nord-aleris" and r["within"] and
               not next(e for e in body["eligible"] if e["id"] == r["id"])["within_limit_only_at_free_flow"])
