"""The coverage audit, patient choice and what-if on the real county data."""

from __future__ import annotations

import pytest

from routing.audit import AUDIT_PROFILES, floor4, profile_auditors
from routing.audit_table import audit_profiles, compare_rows, share_text
from routing.choice import choice_layer, choice_summary
from routing.whatif import WhatIfError, apply_changes, geocoder_resolver, what_if, what_if_rows


def _row(auditor, unit_id, area_id):
    return next(r for r in auditor.audit_unit(unit_id).rows() if r.area_id == area_id)


def test_sodertalje_sjukhus_supports_area_1(auditor):
    row = _row(auditor, "sodertalje-sjukhus", 1)
    assert row.approved and row.verdict == "supported"
    assert row.population_share > 0.95
    assert row.base_precision == "address"
    assert row.population == pytest.approx(132_077, abs=1)


def test_own_base_area_is_covered_near_the_base(auditor):
    # Ersta's base is on Södermalm: all of Innerstaden and Södermalm's people are minutes away.
    assert _row(auditor, "ersta-diakoni", 5).population_share == pytest.approx(1.0)
    assert _row(auditor, "ersta-diakoni", 4).population_share > 0.9


@pytest.mark.parametrize(("unit_id", "area_id"), [("byle-gard-fc", 2), ("norrort-legevisitten", 2), ("syd-aleris", 1)])
def test_approvals_with_far_bases_are_not_supported(auditor, unit_id, area_id):
    row = _row(auditor, unit_id, area_id)
    assert row.verdict in ("at risk", "unsupported")
    assert row.population_share < 0.5
    assert row.gaps and row.gaps[0]["population"] > 1000


def test_shares_are_fractions_and_gaps_add_up(auditor):
    for ua in auditor.audit_all():
        for r in ua.approvals:
            for share in (r.population_share, r.land_share, r.road_share):
                assert 0.0 <= share <= 1.0 + 1e-9
            assert sum(g["population"] for g in r.gaps) <= r.gap_population + len(r.gaps)


def test_reaches_but_not_approved_is_reported(auditor):
    ua = auditor.audit_unit("accesscare")  # Östermalm base, approved for 5 only
    assert [r.area_id for r in ua.approvals] == [5]
    assert all(not r.approved and r.population_share >= 0.95 for r in ua.reaches_not_approved)


def test_gap_polygons_hold_the_unreached_people(auditor):
    gaps = auditor.gap_polygons("syd-aleris")
    assert gaps.crs.to_epsg() == 3006
    area1 = gaps[gaps["area_id"] == 1]
    assert area1["population"].sum() == pytest.approx(_row(auditor, "syd-aleris", 1).gap_population, rel=0.02)
    assert "Södertälje" in area1.iloc[0]["where"]


def test_choice_counts_add_up_to_the_county(auditor, area_model):
    summary = choice_summary(auditor)
    county = summary["county"]
    assert county["population"] == 2_430_658
    assert abs(county["pop_0"] + county["pop_1"] + county["pop_2"] + county["pop_3plus"] - county["population"]) <= 4
    assert sum(a["population"] for a in summary["by_area"]) == pytest.approx(county["population"], abs=8)
    assert [a["area_name"] for a in summary["by_area"]][:2] == ["Södertälje", "Norrtälje"]
    norrtalje = next(a for a in summary["by_area"] if a["area_id"] == 2)
    assert norrtalje["pop_0"] > 0.5 * norrtalje["population"]  # both approved units are far away
    layer = choice_layer(auditor)
    assert len(layer) == len(area_model.deso) and layer["choices"].max() >= 3


def test_congestion_and_shorter_limit_reach_less(service, auditor, profiles):
    short = service.auditor(20 * 60)
    assert _row(short, "syd-aleris", 3).population_share < _row(auditor, "syd-aleris", 3).population_share
    ff, typ, peak = (_row(profiles[p], "stockholm-norr", 7).population_share for p in ("free_flow", "typical", "peak"))
    assert ff > typ > peak


@pytest.fixture(scope="module")
def profiles(auditor):
    return profile_auditors(auditor)


@pytest.fixture(scope="module")
def side_by_side(profiles):
    return {(r.first.unit_id, r.first.area_id): r for r in audit_profiles(profiles)}


def test_profiles_are_free_flow_typical_and_peak_in_order(profiles):
    assert list(profiles) == ["free_flow", "typical", "peak"] == list(AUDIT_PROFILES)
    assert [a.net.profile for a in profiles.values()] == ["free_flow", "typical", "peak"]
    assert all(a.samples is profiles["free_flow"].samples for a in profiles.values())


def test_a_unit_supported_at_free_flow_is_at_risk_at_peak(side_by_side):
    row = side_by_side[("sodertalje-sjukhus", 1)]
    shares = {p: r.population_share for p, r in row.rows.items()}
    assert shares == pytest.approx({"free_flow": 0.99774, "typical": 0.98557, "peak": 0.94020}, abs=2e-5)
    assert row.verdicts() == {"free_flow": "supported", "typical": "supported", "peak": "at risk"}
    assert row.summary() == "supported at free flow and in typical traffic, at risk at peak"
    d = row.to_dict()
    assert d["area_name"] == "Södertälje" and d["verdict"] == "supported"  # top level: the first profile
    assert d["profiles"]["peak"]["population_share"] == 0.9401 and d["profiles"]["peak"]["verdict"] == "at risk"
    assert d["profiles"]["peak"]["gap_population"] == 7898


def test_every_row_reaches_less_as_traffic_grows(side_by_side):
    assert len(side_by_side) >= 50
    for row in side_by_side.values():
        ff, typ, peak = (row.rows[p] for p in AUDIT_PROFILES)
        assert ff.population_share + 1e-12 >= typ.population_share >= peak.population_share - 1e-12
        assert len({r.approved for r in row.rows.values()}) == 1 and len(row.rows) == 3


def test_not_approved_rows_are_shown_under_every_profile(side_by_side):
    # Stockholms sjukhem reaches 95.7 % of area 3 at free flow only; the row stays, marked not approved.
    row = side_by_side[("stockholms-sjukhem", 3)]
    assert row.verdicts() == {"free_flow": "reaches, not approved", "typical": "not approved", "peak": "not approved"}


@pytest.mark.parametrize(
    ("share", "verdict", "text"),
    [(0.94997, "at risk", "94.9 %"), (0.95, "supported", "95.0 %"), (0.9999, "supported", "99.9 %"),
     (0.7999999, "unsupported", "79.9 %"), (0.8, "at risk", "80.0 %"), (1.0, "supported", "100.0 %"), (0.0, None, "0.0 %")],
)
def test_shares_are_never_rounded_across_a_threshold(share, verdict, text, settings):
    assert share_text(share, verdict, settings) == text
    assert floor4(share) <= share


def test_json_shares_are_floored(side_by_side):
    for row in side_by_side.values():
        for p, d in row.to_dict()["profiles"].items():
            assert d["population_share"] <= row.rows[p].population_share
            assert d["population_share"] < 0.95 or d["verdict"] in ("supported", "reaches, not approved")


def test_compare_finds_what_changed(side_by_side):
    before = [r.to_dict() for r in side_by_side.values()]
    assert compare_rows(before, before) == []
    after = [dict(r, profiles={p: dict(v) for p, v in r["profiles"].items()}) for r in before
             if (r["unit_id"], r["area_id"]) != ("accesscare", 5)]
    target = next(r for r in after if (r["unit_id"], r["area_id"]) == ("sodertalje-sjukhus", 1))
    target["profiles"]["peak"].update(population_share=0.96, verdict="supported")
    target["profiles"]["typical"]["population_share"] += 0.0005  # below the 0.1 pp that counts as a change
    changes = compare_rows(before, after)
    assert [(c["unit_id"], c["area_id"], c["profile"], c["what"]) for c in changes] == [
        ("accesscare", 5, "free_flow", "gone"), ("accesscare", 5, "typical", "gone"), ("accesscare", 5, "peak", "gone"),
        ("sodertalje-sjukhus", 1, "peak", "verdict")]
    assert changes[-1] == {"unit": "ASIH Södertälje sjukhus", "unit_id": "sodertalje-sjukhus", "area_id": 1,
                           "area_name": "Södertälje", "profile": "peak", "share_before": 0.9401, "share_after": 0.96,
                           "change": 0.0199, "verdict_before": "at risk", "verdict_after": "supported",
                           "what": "verdict"}
    flat = [{k: v for k, v in r.items() if k != "profiles"} for r in before]  # an old single-profile --json file
    new = compare_rows(flat, before)
    others = {"free_flow", "typical", "peak"} - {before[0]["profile"]}  # the flat file held the headline profile
    assert new and all(c["profile"] in others and c["what"] == "new" for c in new)


def test_what_if_moving_a_base_changes_the_audit(auditor):
    # Move Syd Aleris' base from Handen to Södertälje: area 1 becomes supported, area 3 loses people.
    [(before, after)] = what_if(auditor, move=["syd-aleris=59.1955,17.6253"])
    b = {r.area_id: r for r in before.rows()}
    a = {r.area_id: r for r in after.rows()}
    assert b[1].population_share < 0.5 < a[1].population_share
    assert a[3].population_share < b[3].population_share
    assert a[1].base_precision == "address"


def test_what_if_add_and_remove(auditor):
    [(before, after)] = what_if(auditor, add=["byle-gard-fc=59.7580,18.7040"])  # a base in Norrtälje
    assert after.approvals[0].population_share > before.approvals[0].population_share
    registry, changed = apply_changes(auditor.registry, remove=["stockholms-sjukhem:2"])
    assert changed == {"stockholms-sjukhem"} and len(registry.get("stockholms-sjukhem").bases) == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"move": ["nobody=59.3,18.0"]}, "Unknown provider unit"),
        ({"move": ["ersta-diakoni=abc"]}, "LAT,LON"),
        ({"move": ["ersta-diakoni=59.8586,17.6389"]}, "Outside Stockholm County"),
        ({"remove": ["ersta-diakoni"]}, "cannot be removed"),
        ({"remove": ["stockholms-sjukhem:3"]}, "no base 3"),
        ({}, "No change given"),
    ],
)
def test_what_if_errors_are_clear(auditor, kwargs, message):
    with pytest.raises(WhatIfError, match=message):
        what_if(auditor, **kwargs)


def test_what_if_takes_a_street_and_refuses_vague_places(service, auditor):
    resolve = geocoder_resolver(service.geocoder)
    [(before, after)] = what_if(auditor, move=["syd-aleris=Sveavägen 1, Stockholm"], resolve=resolve)
    moved = after.unit.bases[0]
    assert moved.name == "What-if: Handen, Haninge moved to Sveavägen, Stockholm" and moved.precision == "place"
    assert (round(moved.lat, 2), round(moved.lon, 2)) == (59.34, 18.06)
    rows = what_if_rows([(before, after)], "free_flow", {4: "Södermalm / Nacka–Värmdö"})
    area4 = next(r for r in rows if r["area_id"] == 4)
    assert area4["area_name"] == "Södermalm / Nacka–Värmdö" and area4["profile"] == "free_flow"
    assert area4["population_share_after"] > area4["population_share_before"]
    for text, message in [("syd-aleris=Kista", "known only to within 5.0 km"),
                          ("syd-aleris=Uppsala", "Outside Stockholm County"),
                          ("syd-aleris=Zqxwvgatan 3", "'Zqxwvgatan 3': ")]:
        with pytest.raises(WhatIfError, match=message):
            what_if(auditor, move=[text], resolve=resolve)
    with pytest.raises(WhatIfError, match="LAT,LON"):
        what_if(auditor, move=["syd-aleris=Sveavägen 1, Stockholm"])  # no geocoder given: coordinates only


def test_why_a_verdict_is_what_it_is(auditor):
    """Each row carries the people-weighted drive times of its area (median, 90th percentile), the margin to the limit
    and the five places with most people out of reach; they agree with the row's share."""
    import numpy as np

    for unit_id, area_id in (("byle-gard-fc", 5), ("syd-aleris", 3), ("sodertalje-sjukhus", 1)):
        row = next(r for r in auditor.audit_unit(unit_id).approvals if r.area_id == area_id)
        pop = auditor.samples.population
        inside = pop.area_id == area_id
        times = auditor.pop_times[auditor.unit_order.index(unit_id)][inside]
        weight = pop.weight[inside]
        order = np.argsort(times, kind="stable")
        share = np.cumsum(weight[order]) / weight.sum()
        for q, got in ((0.5, row.drive_time_p50_s), (0.9, row.drive_time_p90_s)):
            expected = times[order][np.searchsorted(share, q - 1e-12)]
            assert got == (round(float(expected), 1) if np.isfinite(expected) else None)
        assert row.margin_s == pytest.approx(auditor.limit_s - row.drive_time_p90_s)
        # Nine in ten within the limit exactly when the 90th percentile is (the share says the same as the times).
        assert (row.drive_time_p90_s <= auditor.limit_s) == (row.population_share >= 0.9 - 1e-9)
        d = row.to_dict()
        assert d["most_out_of_reach"] == row.gaps[:5] and len(d["most_out_of_reach"]) <= 5
        assert d["drive_time_p50_s"] <= d["drive_time_p90_s"]
