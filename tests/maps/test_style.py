"""The map palettes stay distinguishable for colour-blind readers (checked by simulation), and the caveats read right."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from maps import style

# Machado, Oliveira & Fernandes (2009), severity 1.0, applied to linear RGB.
CVD = {
    "normal": np.eye(3),
    "protan": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                        [-0.003882, -0.048116, 1.051998]]),
    "deutan": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                        [-0.011820, 0.042940, 0.968881]]),
    "tritan": np.array([[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                        [0.004733, 0.691367, 0.303900]]),
}


def _lab(hex_colour: str, kind: str) -> np.ndarray:
    rgb = np.array([int(hex_colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)])
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    lin = np.clip(CVD[kind] @ lin, 0, 1)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ lin
    xyz /= np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _delta_e(a: str, b: str, kind: str) -> float:
    return float(np.linalg.norm(_lab(a, kind) - _lab(b, kind)))


@pytest.mark.parametrize("kind", list(CVD))
def test_choice_classes_stay_apart_under_colour_blindness(kind):
    colours = [c for _, _, c in style.CHOICE_CLASSES]
    worst = min(_delta_e(a, b, kind) for a, b in itertools.combinations(colours, 2))
    assert worst >= 15, f"two choice classes look alike under {kind} (ΔE {worst:.1f})"


def test_choice_palette_has_no_red_green_pair():
    def hue(c):
        r, g, b = (int(c.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4))
        return "red" if r > 1.5 * max(g, b) and r > 150 else "green" if g > 1.3 * max(r, b) else "other"

    hues = {hue(c) for _, _, c in style.CHOICE_CLASSES}
    assert not {"red", "green"} <= hues
    assert "green" not in hues


@pytest.mark.parametrize("kind", list(CVD))
def test_base_markers_never_look_like_the_area_under_them(kind):
    for precision, look in style.PRECISION_STYLE.items():
        for area, fill in style.AREA_COLOURS.items():
            assert _delta_e(look["colour"], fill, kind) >= 20, (precision, area, kind)
    markers = [look["colour"] for look in style.PRECISION_STYLE.values()]
    assert min(_delta_e(a, b, kind) for a, b in itertools.combinations(markers, 2)) >= 10


def test_place_colour_is_not_area_6s():
    assert style.PRECISION_STYLE["place"]["colour"].lower() != style.AREA_COLOURS[6].lower()
    assert _delta_e(style.PRECISION_STYLE["place"]["colour"], style.AREA_COLOURS[6], "normal") > 40


def test_caveat_lines_name_profile_hypothesis_and_bases(bases):
    lines = style.caveat_lines(profile="peak", minutes=30, bases=bases)
    assert lines[0].startswith("Gräns 30 min; restider vid rusningstrafik")
    assert lines[1] == "Områdena 2–8 är vår hypotes; bara område 1 är bekräftat."
    assert lines[2] == "Baser: 3 kända på adress, 7 på ort, 6 gissade."
    assert style.caveat_lines(bases=[]) == ["Områdena 2–8 är vår hypotes; bara område 1 är bekräftat."]


@pytest.mark.parametrize(("people", "label"), [(0, None), (1, "1–99"), (99, "1–99"), (100, "100–999"),
                                               (1000, "1 000 eller fler"), (50_000, "1 000 eller fler")])
def test_unreached_classes(people, label):
    got = style.unreached_class(people)
    assert (got[0] if got else None) == label


@pytest.mark.parametrize("kind", list(CVD))
def test_no_area_fill_reads_as_water(kind):
    """Issue 23: the light-blue area fill read as sea. Every fill is far from the base map's water, also for
    colour-blind readers, and none is blue."""
    floor = 20 if kind == "normal" else 10
    for area, fill in style.AREA_COLOURS.items():
        assert _delta_e(fill, style.WATER, kind) >= floor, (area, fill, kind)
    for area, fill in style.AREA_COLOURS.items():
        _, a, b = _lab(fill, "normal")
        assert not (b < -5 and b < -abs(a)), f"area {area}'s fill {fill} is blue"


def test_area_fills_stay_apart():
    fills = list(style.AREA_COLOURS.values())
    assert min(_delta_e(a, b, "normal") for a, b in itertools.combinations(fills, 2)) >= 15


def test_roads_and_names_have_no_hue():
    """Geography is grey: it looks the same under any colour-blindness and never like a finding."""
    for colour in (style.ROAD, style.PLACE_NAME):
        _, a, b = _lab(colour, "normal")
        assert abs(a) < 3 and abs(b) < 5, colour
