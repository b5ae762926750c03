"""The coverage audit, patient choice and what-if on the real county data."""

from __future__ import annotations

import pytest

from routing.choice import choice_layer, choice_summary
from routing.whatif import WhatIfError, apply_changes, what_if


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
    norrtalje = next(a for a in summary["by_area"] if a["area_id"] == 2)
    assert norrtalje["pop_0"] > 0.5 * norrtalje["population"]  # both approved units are far away
    layer = choice_layer(auditor)
    assert len(layer) == len(area_model.deso) and layer["choices"].max() >= 3


def test_rush_hour_and_shorter_limit_reach_less(service, settings, auditor):
    from api.service import Service

    short = service.auditor(20 * 60)
    assert _row(short, "syd-aleris", 3).population_share < _row(auditor, "syd-aleris", 3).population_share
    rush = Service.load(settings, profile="rush_hour").auditor()
    assert _row(rush, "stockholm-norr", 7).population_share < _row(auditor, "stockholm-norr", 7).population_share


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
