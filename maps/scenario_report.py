"""One-page before/after PDF of a saved what-if scenario (Swedish), for planning meetings.

The page is laid out by :mod:`maps.report` (its title line, tables and "what the figures rest on"): a title with the
scenario's name; the unit, the approvals' day, the traffic profile, who saved it and when; the changed bases; a map of
the unit's reach today (dashed outline) and with the changes (filled); and each approved area's population share and
verdict today and with the changes, with the people not reached.

The figures are those of ``POST /v1/whatif`` and ``/planering`` for the same body: :func:`scenario_answer` asks the one
what-if engine (:func:`routing.live_whatif.live_what_if`) with the auditor of the scenario's day and profile, and the
shares are floored to one decimal (:func:`maps.report._pct`) as every output shows them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import geopandas as gpd  # noqa: E402
import shapely  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from shapely.geometry import shape  # noqa: E402

from core.settings import METRIC_CRS, WGS84  # noqa: E402
from maps import style  # noqa: E402
from maps.drawing import area_numbers, canvas, finish, place_labels  # noqa: E402
from maps.report import VERDICT_FILL, STOCKHOLM, int_text, one_page, share_cell  # noqa: E402
from routing.live_whatif import changes_from, live_what_if  # noqa: E402

TITLE_CHARS = 46
"""Characters of the scenario's name in the title line (15 pt bold, after "Scenario: ", across the page); a longer
name is cut there and given in full in the lead."""
MAX_MAP_HEIGHT = 0.40
"""The map's largest share of the page's height (the rest holds two tables and the basis)."""
BEFORE_EDGE = "#1b1f23"
"""Today's reach: a dashed outline in the page's ink (as on /planering)."""
MOVED_COLOUR = "#e69f00"
"""Moved bases: Okabe–Ito orange (as on /planering)."""


def scenario_answer(auditor, locator, scenario: Mapping[str, Any]) -> dict[str, Any]:
    """The what-if answer of a saved scenario (:meth:`registry.scenarios.Scenarios.get`), as ``POST /v1/whatif``
    gives it for the scenario's body.

    Parameters
    ----------
    auditor : routing.audit.CoverageAuditor
        The auditor of the scenario's approvals and profile: ``Service.auditor(None, approvals, profile)`` with
        ``approvals = Service.approvals_on(day)``.
    locator : geo.areas.locate.AreaLocator
        Decides whether a new position lies in the county.

    Raises
    ------
    geo.providers.UnknownUnit, routing.whatif.WhatIfError
        As ``POST /v1/whatif`` (the prepared data no longer has the unit or the base).
    """
    w = scenario["whatif"]
    engine = live_what_if(auditor, locator)
    answer = engine.answer(w["unit"], changes_from(w.get("move", ()), w.get("add", ()), w.get("remove", ())))
    return {**answer, "date": auditor.day.isoformat() if auditor.day else None}


def scenario_report(auditor, locator, scenario: Mapping[str, Any], out: str | Path, *, land=None) -> Path:
    """Write a saved scenario's before/after page (``.pdf``, or ``.png`` to look at it) and return the path.

    ``auditor`` and ``locator`` as :func:`scenario_answer`; ``land``: optional land polygons for the map (default
    the prepared ones).
    """
    return render_scenario(auditor, scenario, scenario_answer(auditor, locator, scenario), out, land=land)


def render_scenario(auditor, scenario: Mapping[str, Any], answer: Mapping[str, Any], out: str | Path, *,
                    land=None) -> Path:
    """The page of a scenario whose what-if ``answer`` (:func:`scenario_answer`) is already known."""
    unit = auditor.registry.get(answer["unit"])
    profile = answer["profile"]
    minutes = answer["limit_s"] / 60
    name = str(scenario["name"])
    title = "Scenario: " + (name if len(name) <= TITLE_CHARS else name[: TITLE_CHARS - 1].rstrip() + "…")
    figure = _map_figure(auditor, unit, answer, minutes, profile, land)
    tables = [_bases_table(unit, answer), _areas_table(answer, minutes, profile)]
    return one_page(out, title, _lead(scenario, unit, answer, name != title.removeprefix("Scenario: ")), figure,
                 tables, {profile: auditor}, auditor, profile, max_map_height=MAX_MAP_HEIGHT)


# -- the text --------------------------------------------------------------------------------------------------------
def _lead(scenario: Mapping[str, Any], unit, answer: Mapping[str, Any], name_cut: bool) -> str:
    n = answer["changes"]
    changes = ("utan ändringar (baserna i dag)" if n == 0
               else f"med {n} {'ändring' if n == 1 else 'ändringar'} av baserna")
    saved = _local_time(scenario.get("saved_at"))
    who = f"Sparat av {scenario.get('saved_by') or 'okänd'}" + (f" {saved}" if saved else "")
    full = f"Scenariots namn: {scenario['name']}. " if name_cut else ""
    return (f"{full}{unit.unit} {changes}. {who} (scenario {scenario['id']}; öppna det på "
            f"/planering?scenario={scenario['id']}). Kartan visar vad enheten når inom "
            f"{answer['limit_s'] / 60:g} minuter i dag (streckat) och med ändringarna (fyllt).")


def _bases_table(unit, answer: Mapping[str, Any]):
    after = {b["index"]: b for b in answer["bases"] if b["index"] is not None}
    rows = []
    for i, base in enumerate(unit.bases):
        b = after.get(i)
        if b is None:
            rows.append([f"Bas {i + 1} – {base.name}", "borttagen", _where(base.lat, base.lon), "–"])
        elif b["change"] == "moved":
            rows.append([f"Bas {i + 1} – {base.name}", "flyttad" + _road(b), _where(base.lat, base.lon),
                         _where(b["lat"], b["lon"])])
    added = [b for b in answer["bases"] if b["index"] is None]
    for k, b in enumerate(added, start=1):
        rows.append([f"Ny bas {k}", "ny" + _road(b), "–", _where(b["lat"], b["lon"])])
    if not rows:
        rows.append(["Inga ändringar", "–", "–", "–"])
    return ("Ändrade baser", ["Bas", "Ändring", "Plats i dag", "Plats med ändringarna"], rows,
            [["#ffffff"] * 4 for _ in rows], [0.34, 0.22, 0.22, 0.22])


def _areas_table(answer: Mapping[str, Any], minutes: float, profile: str):
    header = ["Område", "Invånare", "Andel som nås i dag", "Med ändringarna", "Ej nådda i dag",
              "Ej nådda med ändringarna"]
    rows, fills = [], []
    for r in [*answer["rows"], *answer["reaches_not_approved"]]:
        before, after = r["before"], r["after"]
        side = after or before
        rows.append([f"{r['area_id']} {r['area_name']}" + ("" if r["approved"] else " (ej godkänd)"),
                     int_text(side["population"]),
                     share_cell(before["population_share"], before["verdict"]) if before else "–",
                     share_cell(after["population_share"], after["verdict"]) if after else "–",
                     int_text(before["gap_population"]) if before and r["approved"] else "–",
                     int_text(after["gap_population"]) if after and r["approved"] else "–"])
        fills.append(["#ffffff", "#ffffff",
                      VERDICT_FILL.get(before["verdict"], "#ffffff") if before else "#ffffff",
                      VERDICT_FILL.get(after["verdict"], "#ffffff") if after else "#ffffff",
                      "#ffffff", "#ffffff"])
    caption = (f"Andel av områdets invånare som nås inom {minutes:g} min vid "
               f"{style.PROFILE_SHORT.get(profile, profile)}: i dag och med ändringarna")
    return caption, header, rows, fills, [0.25, 0.1, 0.19, 0.19, 0.12, 0.15]


def _where(lat: float, lon: float) -> str:
    return f"{lat:.5f}° N, {lon:.5f}° Ö".replace(".", ",")


def _road(base: Mapping[str, Any]) -> str:
    return f" ({int_text(base['snap_m'])} m till väg)" if base.get("far_from_road") else ""


def _local_time(iso: str | None) -> str:
    if not iso:
        return ""
    return datetime.fromisoformat(iso).astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M")


# -- the map ---------------------------------------------------------------------------------------------------------
def _map_figure(auditor, unit, answer: Mapping[str, Any], minutes: float, profile: str, land):
    """The unit's reach today (dashed outline) and with the changes (filled), its approved areas (bold outline), its
    bases today (numbered circles) and after the changes (moved: orange, new: squares), in EPSG:3006."""
    areas = auditor.model.areas
    approved = areas[areas["id"].astype(int).isin([int(a) for a in unit.areas])]
    before, after = (_metric(answer[k]["geometry"]) for k in ("before_polygon", "polygon"))
    today = [(b.lat, b.lon) for b in unit.bases]
    changed = [b for b in answer["bases"] if b["change"] is not None]
    points = gpd.GeoSeries.from_xy([lon for _, lon in today] + [b["lon"] for b in changed],
                                   [lat for lat, _ in today] + [b["lat"] for b in changed], crs=WGS84)
    points = points.to_crs(METRIC_CRS)
    focus = gpd.GeoSeries([*approved.geometry, before, after, *points], crs=METRIC_CRS)
    fig, ax = canvas(focus[~focus.is_empty].total_bounds, land, auditor.settings)
    areas.plot(ax=ax, color=[style.area_colour(i) for i in areas["id"]], alpha=0.25, edgecolor="#777777",
               linewidth=0.6, zorder=2)
    if not after.is_empty:
        gpd.GeoSeries([after], crs=METRIC_CRS).plot(ax=ax, color=style.ISOCHRONE_COLOUR, alpha=0.35,
                                                   edgecolor=style.ISOCHRONE_COLOUR, linewidth=0.8, zorder=3)
    if not before.is_empty:
        gpd.GeoSeries([before], crs=METRIC_CRS).boundary.plot(ax=ax, color=BEFORE_EDGE, linewidth=1.3,
                                                              linestyle=(0, (4, 3)), zorder=4)
    approved.boundary.plot(ax=ax, color=style.APPROVED_EDGE, linewidth=2.0, zorder=5)
    area_numbers(ax, areas)
    xy = [(p.x, p.y) for p in points]
    n = len(today)
    ax.scatter([x for x, _ in xy[:n]], [y for _, y in xy[:n]], s=55, marker="o", facecolor="white",
               edgecolor="#222222", linewidth=1.2, zorder=9)
    moved = [k for k, b in enumerate(changed) if b["change"] == "moved"]
    added = [k for k, b in enumerate(changed) if b["change"] == "added"]
    for ks, marker, colour in ((moved, "o", MOVED_COLOUR), (added, "s", "white")):
        if ks:
            ax.scatter([xy[n + k][0] for k in ks], [xy[n + k][1] for k in ks], s=70, marker=marker,
                       facecolor=colour, edgecolor="#000000", linewidth=1.4, zorder=10)
    number = iter(range(1, len(changed) + 1))
    labels = [str(i + 1) for i in range(n)] + [
        f"{b['index'] + 1} (flyttad)" if b["change"] == "moved" else f"+{next(number)}" for b in changed]
    place_labels(ax, xy, labels)
    handles = [
        Patch(facecolor=style.ISOCHRONE_COLOUR, alpha=0.35, edgecolor=style.ISOCHRONE_COLOUR,
              label=f"Nås inom {minutes:g} min med ändringarna"),
        Line2D([], [], color=BEFORE_EDGE, lw=1.3, ls=(0, (4, 3)), label=f"Nås inom {minutes:g} min i dag"),
        Patch(facecolor="none", edgecolor=style.APPROVED_EDGE, linewidth=2.0,
              label=style.LABELS["approved"] + ": " + ", ".join(str(a) for a in sorted(unit.areas))),
        Line2D([], [], ls="", marker="o", markersize=8, markerfacecolor="white", markeredgecolor="#222222",
               label="Bas i dag"),
    ]
    if moved:
        handles.append(Line2D([], [], ls="", marker="o", markersize=8, markerfacecolor=MOVED_COLOUR,
                              markeredgecolor="#000000", label="Flyttad bas"))
    if added:
        handles.append(Line2D([], [], ls="", marker="s", markersize=8, markerfacecolor="white",
                              markeredgecolor="#000000", label="Ny bas (+1, +2 …)"))
    caveats = style.caveat_lines(profile=profile, minutes=minutes,
                                 bases=[{"precision": b.precision} for b in unit.bases])
    finish(fig, ax, f"{unit.unit}: i dag och med ändringarna ({style.PROFILE_SHORT.get(profile, profile)})",
           handles, caveats=caveats)
    return fig


def _metric(geometry) -> shapely.Geometry:
    """A GeoJSON geometry in EPSG:4326 (text as the engine keeps it, or a mapping) in EPSG:3006."""
    geom = shapely.from_geojson(geometry) if isinstance(geometry, str) else shape(geometry)
    return gpd.GeoSeries([geom], crs=WGS84).to_crs(METRIC_CRS).iloc[0]
