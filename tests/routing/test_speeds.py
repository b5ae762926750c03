import math

import numpy as np
import pytest

from routing.speeds import parse_duration, parse_maxspeed, road_class


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("50", 50.0),
        (30, 30.0),
        ("50 mph", 50 * 1.609344),
        ("50;70", 50.0),
        (["50", "70"], 50.0),
        ("['70', '50']", 50.0),
        ("SE:urban", 50.0),
        ("SE:rural", 70.0),
        ("SE:motorway", 110.0),
        ("none", None),
        ("signals", None),
        ("fast", None),
        ("", None),
        (None, None),
        (float("nan"), None),
        ("40;none", 40.0),
    ],
)
def test_parse_maxspeed(value, expected):
    got = parse_maxspeed(value)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected)


def test_list_rule_max():
    assert parse_maxspeed("50;70", rule="max") == 70.0


def test_road_class():
    assert road_class(["residential", "tertiary"]) == "residential"
    assert road_class("['motorway_link', 'primary']") == "motorway_link"
    assert road_class(None) == "road"


def test_parse_duration():
    assert parse_duration("00:20") == 1200.0
    assert parse_duration("1:02:03") == 3723.0
    assert parse_duration(15) == 900.0
    assert parse_duration("soon") is None


def test_model_defaults_and_maxspeed(model):
    assert model.speed_kph("residential") == 40.0
    assert model.speed_kph("motorway") == 110.0
    assert model.speed_kph("residential", "SE:urban") == 50.0
    assert model.speed_kph("no_such_class") == model.fallback_kph


def test_profiles(model):
    classes = np.array(["motorway", "residential", "living_street"])
    assert np.all(model.factors(classes, "free_flow") == 1.0)
    rush = model.factors(classes, "rush_hour")
    assert rush[0] < rush[1] <= rush[2] <= 1.0
    with pytest.raises(ValueError, match="Unknown speed profile"):
        model.factors(classes, "sunday")


def test_ferry_time(model):
    assert model.ferry_time_s(1500.0, "00:20") == 1200.0 + model.ferry_wait_s
    assert model.ferry_time_s(1500.0) == pytest.approx(1500.0 / (model.ferry_speed_kph / 3.6) + model.ferry_wait_s)
    assert math.isfinite(model.ferry_time_s(0.0))
