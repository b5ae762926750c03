"""The typical and peak profiles: calibrated to the measured city-wide congestion, and reproduced by the script."""

from __future__ import annotations

import re

import numpy as np
import pytest
import yaml

from core.settings import get_settings
from routing.calibrate import (
    BEGIN,
    END,
    calibrate,
    differences,
    profile_factors,
    read_spec,
    render_block,
    slowdown,
    write_block,
)
from routing.speeds import load_speed_model


@pytest.fixture(scope="module")
def real_settings():
    return get_settings()


@pytest.fixture(scope="module")
def spec(real_settings):
    return read_spec(real_settings.speeds_file)


@pytest.fixture(scope="module")
def fits(real_settings):
    """One run of the calibration on the prepared county network, bases and population points."""
    return {f.profile: f for f in calibrate(real_settings)}


def test_targets_are_the_measured_figures(spec):
    # TomTom: all day +28 % (2016); peak = mean of the 2012 morning +67 % and evening +78 %.
    assert spec.targets == {"typical": 0.28, "peak": 0.725}
    assert spec.trip_minutes == 45 and spec.check_origins == 300


def test_speeds_yaml_holds_exactly_what_the_script_fits(real_settings, fits):
    assert differences(real_settings.speeds_file, list(fits.values())) == []
    text = real_settings.speeds_file.read_text(encoding="utf-8")
    block = re.search(rf"{re.escape(BEGIN)}[^\n]*\n(.*?){re.escape(END)}", text, re.DOTALL).group(1)
    assert block == render_block(list(fits.values()))  # fit, k, trip count and factors, to the digit


@pytest.mark.parametrize("profile", ["typical", "peak"])
def test_the_trip_set_is_slowed_by_the_target(fits, profile):
    fit = fits[profile]
    assert fit.achieved == pytest.approx(fit.target, abs=0.002)  # rounding the factors to 3 decimals only
    assert fit.trips > 400_000  # 16 bases × the population points within 45 min
    # The fit carries to trips between where people live (not fitted) and to Stockholm city itself.
    assert fit.check_set == pytest.approx(fit.target, abs=0.02)
    assert fit.stockholm_city == pytest.approx(fit.target, abs=0.05)


def test_peak_is_slower_than_typical_and_through_roads_slow_most(fits):
    typ, peak = fits["typical"], fits["peak"]
    assert 0 < typ.k < peak.k
    for c in typ.factors:
        assert peak.factors[c] < typ.factors[c] < 1.0
    f = peak.factors
    assert f["motorway"] == f["primary"] < f["secondary"] < f["tertiary"] < f["residential"] < f["living_street"]
    assert f["motorway"] == pytest.approx(1 / (1 + peak.k), abs=0.0005)


def test_old_rush_hour_name_loads_peak(real_settings):
    from routing.prepare import load_network

    model = load_speed_model(real_settings.speeds_file)
    assert model.canonical("rush_hour") == "peak" and model.profiles["rush_hour"] == model.profiles["peak"]
    assert load_network(real_settings, profile="rush_hour").profile == "peak"


def test_free_flow_factors_slow_nothing(real_settings, spec):
    from geo.areas.model import load_area_model
    from geo.providers import read_registry
    from routing.basetrees import load_base_trees
    from routing.calibrate import base_trip_set
    from routing.population import load_samples
    from routing.prepare import load_network

    net = load_network(real_settings, profile="free_flow")
    pop = load_samples(real_settings, net, load_area_model(real_settings)).population
    bases = load_base_trees(real_settings, net, read_registry(real_settings.providers_file)).snaps
    trips = base_trip_set(net, bases, pop.snaps, pop.weight, 45)
    assert slowdown(net, trips, profile_factors(0.0, spec)) == pytest.approx(0.0, abs=1e-12)
    assert np.all(trips.free_s[trips.weight > 0] <= 45 * 60)


def test_write_block_replaces_only_the_marked_lines(tmp_path, real_settings, fits):
    copy = tmp_path / "speeds.yaml"
    original = real_settings.speeds_file.read_text(encoding="utf-8")
    copy.write_text(original, encoding="utf-8")
    write_block(copy, "  typical:\n    default_factor: 0.5\n    factor: {}\n")
    changed = copy.read_text(encoding="utf-8")
    assert changed.split(BEGIN)[0] == original.split(BEGIN)[0] and changed.split(END)[1] == original.split(END)[1]
    assert yaml.safe_load(changed)["profiles"]["typical"]["default_factor"] == 0.5
    assert differences(copy, [fits["typical"]])  # the check notices the hand edit
    copy.write_text("profiles: {}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="markers"):
        write_block(copy, "")
