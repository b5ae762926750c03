"""Eligibility at real points: approved units ranked by drive time from the precomputed base trees."""

from __future__ import annotations

import numpy as np
import pytest

from core.crs import to_metric
from routing.snapping import snap
from routing.trees import drive_time_tree, times_to_snaps


def test_ersta_serves_fjallgatan(service):
    answer = service.eligibility.at(59.3148, 18.0843)
    assert answer.location.area_id == 4
    eligible = [a.unit.id for a in answer.eligible]
    assert eligible[0] == "ersta-diakoni"  # its base is a few hundred metres away
    assert set(eligible) == {u.id for u in service.registry.approved_for(4)}
    assert all(a.approved for a in answer.eligible)
    times = [a.drive_time_s for a in answer.eligible]
    assert times == sorted(times)
    assert answer.eligible[0].drive_time_s < 5 * 60 and answer.eligible[0].within_limit


def test_not_approved_units_are_marked_apart(service):
    answer = service.eligibility.at(59.3148, 18.0843)
    others = answer.reachable_not_approved
    assert others and all(not a.approved and a.within_limit for a in others)
    assert "accesscare" in {a.unit.id for a in others}  # Östermalm base, approved for area 5 only


def test_drive_time_matches_a_fresh_graph_search(service):
    """The precomputed tree answer equals a new search from the base to the same snapped point."""
    net, trees = service.network, service.eligibility.trees
    row = int(trees.rows_of("sodertalje-sjukhus")[0])
    fresh_tree = drive_time_tree(net, trees.snaps[row])
    x, y = to_metric(59.1955, 17.6253)
    target = snap(net, float(x), float(y))
    fresh = times_to_snaps(net, fresh_tree, [target], sources=[trees.snaps[row]])[0]
    answer = service.eligibility.at(59.1955, 17.6253)
    got = next(a for a in answer.eligible if a.unit.id == "sodertalje-sjukhus")
    assert got.drive_time_s == pytest.approx(fresh, abs=0.1)
    assert 60 < got.drive_time_s < 600  # Södertälje centre is minutes from the hospital


def test_far_units_are_outside_the_limit(service):
    # Norrtälje centre: approved units are Byle Gård (Täby) and Legevisitten (Sollentuna guess).
    answer = service.eligibility.at(59.7580, 18.7040)
    assert answer.location.area_id == 2
    assert {a.unit.id for a in answer.eligible} == {"byle-gard-fc", "norrort-legevisitten"}
    assert not any(a.within_limit for a in answer.eligible)
    [none] = [w for w in answer.warnings if w.code == "none_within_limit"]  # a typed note: code, severity, params
    assert none.severity == "decisive" and none.params == {"minutes": 30.0}
    assert none.render("en") == "No approved unit reaches this point within 30 minutes."
    assert none.render("sv") == "Ingen godkänd enhet når platsen inom 30 minuter."


def test_outside_county_has_no_units(service):
    answer = service.eligibility.at(59.8586, 17.6389)
    assert answer.location.area_id is None and answer.eligible == []
    outside = answer.warnings[0]
    assert outside.code == "outside_county" and outside.params == {"municipality": "Uppsala", "county": "03"}
    assert outside.render("en").startswith("Outside Stockholm County: the point is in Uppsala municipality (county 03)")


def test_precision_of_bases_is_in_the_warnings(service):
    answer = service.eligibility.at(59.3323, 18.0237)  # Kungsholmen, area 5
    by_text = {w.key: w for w in answer.warnings}
    assert "ASIH Rehabhotellet" in by_text["base_precision_unknown"].params["units"]
    assert "guess" in by_text["base_precision_unknown"].render("en")
    assert by_text["area_hypothesis"].params == {"area": 5}  # area 5 membership is not confirmed


def test_every_base_snaps_close_to_a_road(service):
    assert np.all(service.eligibility.trees.snaps.distance_m < service.settings.snap_warning_m)


def test_a_base_far_from_the_network_is_flagged(service):
    from routing.eligibility import Eligibility

    strict = Eligibility(service.network, service.registry, service.locator, service.eligibility.trees,
                         service.settings.limit_s, snap_warning_m=0.0)  # every base is "far" at 0 m
    answer = strict.at(59.1955, 17.6253)
    far = [w for w in answer.warnings if w.code == "base_far_from_road" and w.params["unit"] == "ASIH Södertälje sjukhus"]
    assert far and "from the nearest road" in far[0].render("en")
    assert not any(w.code == "base_far_from_road" for w in service.eligibility.at(59.1955, 17.6253).warnings)
