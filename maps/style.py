"""One home for what the maps look like: colours, Swedish labels, legends and attribution.

Interactive (``maps.interactive``) and static (``maps.static``) maps both read from here, so a colour or a
wording changes in one place.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from core.words import labels

ATTRIBUTION = "© OpenStreetMap contributors, Lantmäteriet, SCB, Stockholms stad, GeoNames"
"""Every data source behind the maps; shown on every map."""

# Local background (no tile server): land on water.
WATER = "#cfe3f0"
LAND = "#fbfaf5"
LAND_NEIGHBOUR = "#e4e4e2"
LAND_EDGE = "#b9b9b4"
WATER_EDGE = "#a9c6d9"
ROAD = "#8c8c86"
"""Main roads on every map (grey, no hue: geography, not a finding; the same under any colour-blindness)."""
ROAD_CASING = "#ffffff"
PLACE_NAME = "#303030"
"""Place names on every map (dark grey: ≥ 4.5:1 contrast on land, water and every area fill)."""
PLACE_HALO = "#ffffff"
MUNICIPALITY_EDGE = "#6f6f6f"
BOROUGH_EDGE = "#9a9a9a"

# The eight areas: light enough to read labels on top, and none that reads as water (issue 23: the old light blue
# and teal fills looked like sea). No blue or teal: every fill stays ΔE ≥ 20 from WATER in normal vision and ≥ 10
# under protan, deutan and tritan simulation, and apart from the base markers (tests/maps/test_style.py).
AREA_COLOURS: dict[int, str] = {
    1: "#c994c7",
    2: "#ffffb3",
    3: "#c6a07a",
    4: "#fb8072",
    5: "#ffd92f",
    6: "#fdb462",
    7: "#b3de69",
    8: "#fddbc7",
}
AREA_FALLBACK = "#d9d9d9"

# How sure a provider base is: colour and a one-letter symbol (also readable in black-and-white print). Dark
# colours, so a base never looks like the pastel area under it, also under colour-blindness simulation
# (tests/maps/test_style.py; the old "place" orange was area 6's).
PRECISION_STYLE: dict[str, dict[str, str]] = {
    "address": {"colour": "#2166AC", "symbol": "A", "label": "adress", "marker": "o"},
    "place": {"colour": "#762A83", "symbol": "P", "label": "plats", "marker": "s"},
    "unknown": {"colour": "#993404", "symbol": "?", "label": "okänd (gissning)", "marker": "X"},
}
PRECISION_LEGEND_TITLE = "Basens precision"

# Static maps (matplotlib).
STATIC_SIZE_IN = (11.69, 8.27)
"""A4 landscape, inches."""
STATIC_DPI = 300
"""PNG maps: 300 pixels per inch of paper at A4, as print needs; PDF maps are vector."""
ATTRIBUTION_PREFIX = "Data: "

# Unit coverage.
ISOCHRONE_COLOUR = "#2b83ba"
APPROVED_EDGE = "#08306b"
GAP_COLOUR = "#d7191c"
REACH_NOT_APPROVED = "#7b3294"

# Unit maps: people an approved area's DeSO has out of reach (lower bound of the class, label, hatch opacity).
UNREACHED_CLASSES: list[tuple[int, str, float]] = [
    (1, "1–99", 0.35),
    (100, "100–999", 0.65),
    (1000, "1 000 eller fler", 1.0),
]

# Choice map: number of approved units reaching a DeSO within the limit. Okabe–Ito vermillion → orange → sky blue
# → blue: no red/green pair, and every pair stays apart under protan, deutan and tritan simulation (tests/maps).
CHOICE_CLASSES: list[tuple[int, str, str]] = [
    (0, "0", "#D55E00"),
    (1, "1", "#E69F00"),
    (2, "2", "#56B4E9"),
    (3, "3+", "#0072B2"),
]

# Lookup.
POINT_COLOUR = "#000000"
ELIGIBLE_COLOUR = "#1a9641"
NOT_ELIGIBLE_COLOUR = "#d7191c"


def area_label(area_id: int, name: str) -> str:
    """The label of an area on a map, e.g. ``Område 4 – Södermalm / Nacka–Värmdö``."""
    return f"Område {int(area_id)} – {name}"


def area_colour(area_id: int) -> str:
    """The fill colour of an area."""
    return AREA_COLOURS.get(int(area_id), AREA_FALLBACK)


def precision_style(precision: str | None) -> dict[str, str]:
    """Colour, symbol and Swedish label of a base precision; anything unrecognised counts as unknown."""
    return PRECISION_STYLE.get(precision or "unknown", PRECISION_STYLE["unknown"])


def choice_class(count: int) -> tuple[str, str]:
    """Legend label and colour for a number of reachable approved units (3 and more share one class)."""
    for value, label, colour in reversed(CHOICE_CLASSES):
        if count >= value:
            return label, colour
    return CHOICE_CLASSES[0][1], CHOICE_CLASSES[0][2]


def choice_legend_title(minutes: float) -> str:
    """Legend title of the choice map."""
    return f"Antal godkända enheter som når inom {minutes:g} min"


def minutes_text(seconds: float | None) -> str:
    """A drive time in whole minutes, Swedish style (``12 min``); unknown times read ``okänd``."""
    if seconds is None:
        return "okänd"
    return f"{round(float(seconds) / 60):d} min"


def unit_time_text(item: Mapping) -> str:
    """A lookup row's drive time as sure as the location: ``12–41 min (inom 30 min för 70 %)`` over a wide region
    (``drive_time_range_s``, ``within_limit_share``), else one time (:func:`minutes_text`)."""
    spread = item.get("drive_time_range_s")
    if not spread or spread.get("min") is None:
        return minutes_text(item.get("drive_time_s"))
    high = "okänd" if spread.get("max") is None else f"{round(float(spread['max']) / 60):d} min"
    text = f"{round(float(spread['min']) / 60):d}–{high}"
    share = item.get("within_limit_share")
    if share is not None and share < 1:
        text += f" (inom gränsen för {math.floor(share * 1000 + 1e-9) / 10:.1f} %)".replace(".", ",")
    return text


def population_text(value: float | None) -> str:
    """A head count with a thin space as thousands separator (``12 345``); missing reads ``okänd``."""
    if value is None or value != value:
        return "okänd"
    return f"{int(round(float(value))):,}".replace(",", "\u202f")


TITLES = {
    "overview": "ASIH-områden och vårdgivarnas baser",
    "unit": "{unit}: nås inom {minutes:g} min",
    "choice": "Valmöjlighet: godkända enheter inom {minutes:g} min",
    "lookup": "Sökt plats: område och godkända enheter",
}

PROFILE_TEXT = labels("profile_method", "sv")
"""What a drive-time profile means, for captions (the catalogue's, core/words.yaml)."""
PROFILE_SHORT = labels("profile", "sv")
"""Profile names in titles (the catalogue's, core/words.yaml)."""


def title_basis(profile: str | None, day=None) -> str:
    """What a map's title says it rests on: its traffic profile and the day of its approvals
    ("normal trafik, godkännanden per 2026-12-07"); the configured profile when none is given."""
    from core.settings import get_settings

    profile = profile or get_settings().profile
    text = PROFILE_SHORT.get(profile, profile)
    return f"{text}, godkännanden per {day.isoformat()}" if day is not None else text


def caveat_lines(*, profile: str | None = None, minutes: float | None = None, bases=(),
                 hypothesis_areas: bool = True) -> list[str]:
    """The caveats a static map states (Swedish): drive-time basis, hypothesis areas, how sure the bases are.

    ``bases`` are dicts with ``precision`` (see ``maps.layers.flatten_bases``); each is counted once.
    """
    lines = []
    if profile is not None:
        limit = f"Gräns {minutes:g} min; " if minutes is not None else ""
        lines.append(f"{limit}restider vid {PROFILE_TEXT.get(profile, profile)}, modellerade på vägnät från ≈2013 "
                     "(OSM, MATSim); verkliga tider kan vara längre.")
    if hypothesis_areas:
        lines.append("Områdena 2–8 är vår hypotes; bara område 1 är bekräftat.")
    counts: dict[str, int] = {}
    for base in bases:
        counts[base.get("precision") or "unknown"] = counts.get(base.get("precision") or "unknown", 0) + 1
    if counts:
        lines.append(f"Baser: {counts.get('address', 0)} kända på adress, {counts.get('place', 0)} på ort, "
                     f"{counts.get('unknown', 0)} gissade.")
    return lines


def unreached_class(people: float) -> tuple[str, float] | None:
    """Legend label and hatch opacity for a DeSO's people out of reach (None below one person)."""
    for low, label, opacity in reversed(UNREACHED_CLASSES):
        if people >= low - 0.5:
            return label, opacity
    return None


def base_label(number: int, base) -> str:
    """A numbered base for map legends: ``4 Ersta Diakoni – Ersta sjukhus, Södermalm`` (its marker shows how sure
    the base is)."""
    unit = str(base.get("unit") or "").removeprefix("ASIH ")
    return f"{number} {unit} – {base.get('name', '')}"


LABELS = {
    "areas": "ASIH-områden",
    "borders": "Kommun- och stadsdelsområdesgränser",
    "bases": "Vårdgivarnas baser",
    "isochrone": "Nås inom {minutes:g} min",
    "approved": "Godkända områden",
    "gaps": "Luckor (godkänt men nås inte)",
    "unreached": "Ej nådda personer per DeSO (godkänt område)",
    "unreached_short": "Ej nådda i DeSO",
    "unreached_dots": "Cirkelns yta = antal ej nådda",
    "caveats": "Förbehåll",
    "choices": "Valmöjlighet",
    "point": "Sökt plats",
    "eligible": "Godkända enheter",
    "reachable_not_approved": "Når men inte godkänd",
    "base_precision": PRECISION_LEGEND_TITLE,
    "population": "Befolkning",
    "organisation": "Vårdgivare",
    "unit": "Enhet",
    "approved_areas": "Godkända områden",
    "base": "Bas",
    "source": "Källa",
    "drive_time": "Körtid",
    "capacity": "Kapacitet",
    "warnings": "Varningar",
    "border_warning": "Nära områdesgräns",
}


def warning_text(warning) -> str:
    """A lookup warning's sentence: warnings are ``{code, severity, message}`` objects (plain strings accepted)."""
    return str(warning.get("message", "")) if isinstance(warning, dict) else str(warning)
