"""Static (PNG/PDF) lookup map: a looked-up point, its area and the units' bases with their drive times.

The static counterpart of ``maps.interactive.lookup_map``, drawn with the figure helpers of ``maps.static``.
The matched address text is never drawn (privacy): the point is shown only as a marker.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

import geopandas as gpd
import matplotlib.pyplot as plt
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from shapely.geometry import Point

from core.settings import METRIC_CRS, WGS84, Settings, get_settings
from core.words import labels
from maps import style
from maps.drawing import HALO, area_numbers, canvas, finish, precision_handles

MIN_SPAN_M = 4_000
"""The smallest frame (metres) around a point whose bases are all close by."""
MARGIN = 0.18
"""Margin around the point and bases, as a fraction of the larger side."""
MAP_ASPECT = (0.70 - 0.02) * 11.69 / ((0.92 - 0.06) * 8.27)
"""Width / height of the map axes in ``maps.drawing.canvas``, so the frame fills them."""
WARNING_WIDTH = 58
WARNING_LINES = 6
LABEL_PT = 8.5


def lookup_figure(result: Mapping, bases: Sequence[Mapping], areas: gpd.GeoDataFrame, *,
                  land: gpd.GeoDataFrame | None = None, settings: Settings | None = None) -> plt.Figure:
    """The point, its area (highlighted), the eligible units' bases labelled ``unit: N min`` and lines to the point.

    Parameters
    ----------
    result
        The lookup answer (see ``maps.interactive.lookup_map``); ``query.matched`` is not drawn.
    bases
        All provider bases (see ``maps.layers.flatten_bases``); those of the listed units are drawn.
    areas
        ``id, name, geometry`` in EPSG:3006.
    """
    settings = settings or get_settings()
    query = result.get("query") or {}
    area = result.get("area") or {}
    limit_min = float(result.get("limit_s") or settings.limit_s) / 60
    point = _to_metric(query["lat"], query["lon"]) if query.get("lat") is not None else None
    hit = areas.iloc[0:0]
    if area.get("id") is not None:
        hit = areas[areas["id"].astype(int) == int(area["id"])]
    elif area.get("status") == "uncertain":
        hit = areas[areas["id"].astype(int).isin([int(a["id"]) for a in area.get("possible") or []])]

    groups = []  # (item, its bases in EPSG:3006 as (base, Point), the base the time is from, colour, dashed)
    for key in ("eligible", "reachable_not_approved"):
        for item in result.get(key) or []:
            unit_bases = [(b, _to_metric(b["lat"], b["lon"])) for b in bases if b.get("unit") == item.get("unit")]
            within = item.get("within_limit")
            if key == "eligible":
                colour = style.ELIGIBLE_COLOUR if within else style.NOT_ELIGIBLE_COLOUR
            else:
                colour = style.REACH_NOT_APPROVED
            groups.append((key, item, unit_bases, _nearest(unit_bases, point, item.get("base")), colour, not within))

    choices = [(c, _to_metric(c["lat"], c["lon"])) for c in area.get("choices") or []]
    fig, ax = canvas(_frame(point, groups, hit, areas, [p for _, p in choices]), land, settings)
    areas.plot(ax=ax, color=[style.area_colour(i) for i in areas["id"]], alpha=0.15, edgecolor="#888888",
               linewidth=0.6, zorder=2)
    if len(hit):
        hit.plot(ax=ax, color=[style.area_colour(i) for i in hit["id"]], alpha=0.45, zorder=3)
        hit.boundary.plot(ax=ax, color=style.APPROVED_EDGE, linewidth=2.5, zorder=4)
    area_numbers(ax, areas)

    labels = []
    for key, item, unit_bases, used, colour, dashed in reversed(groups):  # eligible drawn last, on top
        eligible = key == "eligible"
        if point is not None and used is not None:
            ax.plot([used[1].x, point.x], [used[1].y, point.y], color=colour, linewidth=2.2 if eligible else 1.2,
                    linestyle=(0, (5, 4)) if dashed else "-", alpha=0.9 if eligible else 0.7,
                    zorder=6 if eligible else 5,
                    solid_capstyle="round")
        for base, where in unit_bases:
            look = style.precision_style(base.get("precision"))
            ax.scatter([where.x], [where.y], s=60 if eligible else 30, marker=look["marker"], color=look["colour"],
                       edgecolor="#222222" if eligible else style.REACH_NOT_APPROVED, linewidth=0.9,
                       zorder=9 if eligible else 7)
        if used is not None:
            labels.append((used[1], f"{item.get('unit')}: {style.unit_time_text(item)}", colour,
                           eligible))
    for i, (choice, where) in enumerate(choices, start=1):  # an uncertain area: where each choice lies, numbered
        ax.scatter([where.x], [where.y], s=260, marker="s", color="white", edgecolor=style.APPROVED_EDGE,
                   linewidth=2, zorder=11)
        ax.text(where.x, where.y, str(i), ha="center", va="center", fontsize=9, fontweight="bold", zorder=12)
        labels.append((where, f"{i}: {choice['label']} (område {choice['area_id']})", style.APPROVED_EDGE, True))
    _place_labels(ax, labels[::-1])
    if point is not None and not choices:
        ax.scatter([point.x], [point.y], s=170, marker="o", color=style.POINT_COLOUR, edgecolor="white",
                   linewidth=2.5, zorder=12)

    handles = [
        Line2D([], [], ls="", marker="o", markersize=11, markerfacecolor=style.POINT_COLOUR,
               markeredgecolor="white", markeredgewidth=2, label=style.LABELS["point"]),
        Patch(facecolor=style.area_colour(area["id"]) if area.get("id") is not None else "none", alpha=0.6,
              edgecolor=style.APPROVED_EDGE, linewidth=2.5, label=_area_legend(area)),
        Line2D([], [], color=style.ELIGIBLE_COLOUR, lw=2.2, label=f"Godkänd, inom {limit_min:g} min"),
        Line2D([], [], color=style.NOT_ELIGIBLE_COLOUR, lw=2.2, ls=(0, (5, 4)),
               label=f"Godkänd, över {limit_min:g} min"),
        Line2D([], [], color=style.REACH_NOT_APPROVED, lw=1.2,
               label=f"{style.LABELS['reachable_not_approved']} (inom {limit_min:g} min)"),
    ] + precision_handles()
    finish(fig, ax, _title(area, point), handles)
    ax.set_title(ax.get_title(loc="left"), fontsize=15, fontweight="bold", loc="left", pad=22)
    ax.text(0, 1.012, _subtitle(result, limit_min), transform=ax.transAxes, fontsize=10, color="#333333",
            va="bottom", ha="left")
    _warnings_box(fig, result.get("warnings") or [], area.get("border_warning"))
    return fig


def _possible(area: Mapping) -> str:
    return " eller ".join(str(a["id"]) for a in area.get("possible") or [])


def _area_legend(area: Mapping) -> str:
    if area.get("id") is not None:
        return style.area_label(area["id"], area.get("name") or "")
    if area.get("status") == "uncertain":
        return f"Möjliga områden: {_possible(area)}"
    return "Utanför länet: inget område"


def _title(area: Mapping, point) -> str:
    if area.get("id") is not None:
        return f"Uppslag: område {int(area['id'])} – {area.get('name') or ''}"
    if area.get("status") == "uncertain":
        return f"Uppslag: området kan inte avgöras – område {_possible(area)}"
    if point is None:
        return "Uppslag: ingen plats hittades"
    return "Uppslag: utanför Stockholms län – inget ASIH-område"


def _subtitle(result: Mapping, limit_min: float) -> str:
    eligible = result.get("eligible") or []
    within = sum(1 for item in eligible if item.get("within_limit"))
    profile = labels("profile", "sv").get(result.get("profile"), result.get("profile") or "")
    area = result.get("area") or {}
    if area.get("status") == "uncertain":
        text = "Välj del eller ange mer av adressen; inga enheter visas förrän området är avgjort"
    elif area.get("id") is None:
        text = "Platsen ligger utanför Stockholms län; ASIH-områdena täcker bara länet"
    elif not eligible:
        text = "Inga godkända enheter för området"
    else:
        text = f"{within} av {len(eligible)} godkända enheter når platsen inom {limit_min:g} min"
    return text + (f" (körtid: {profile})" if profile else "")


def _to_metric(lat, lon) -> Point:
    return gpd.GeoSeries([Point(float(lon), float(lat))], crs=WGS84).to_crs(METRIC_CRS).iloc[0]


def _nearest(unit_bases, point, name: str | None):
    named = [pair for pair in unit_bases if name and pair[0].get("name") == name]
    if named:
        return named[0]
    if not unit_bases:
        return None
    if point is None:
        return unit_bases[0]
    return min(unit_bases, key=lambda pair: pair[1].distance(point))


def _frame(point, groups, hit: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, extra=()):
    """Bounds around the point and the eligible units' bases (else all drawn), widened to the map's aspect ratio.

    Reachable-but-not-approved bases outside this frame are left out of it: their lines still point to them.
    """
    xs, ys = [], []
    eligible = [used for key, _item, _bases, used, *_ in groups if key == "eligible" and used is not None]
    for used in eligible or [used for _key, _item, _bases, used, *_ in groups if used is not None]:
        xs.append(used[1].x)
        ys.append(used[1].y)
    for where in [point, *extra]:
        if where is not None:
            xs.append(where.x)
            ys.append(where.y)
    if point is None or (not len(hit) and len(xs) == 1):  # nothing to zoom to, or outside the county: show it too
        minx, miny, maxx, maxy = areas.total_bounds
        xs += [minx, maxx]
        ys += [miny, maxy]
    minx, maxx, miny, maxy = min(xs), max(xs), min(ys), max(ys)
    span = max(maxx - minx, maxy - miny, MIN_SPAN_M)
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    width = max(maxx - minx, MIN_SPAN_M) + 2 * MARGIN * span
    height = max(maxy - miny, MIN_SPAN_M) + 2 * MARGIN * span
    width, height = max(width, height * MAP_ASPECT), max(height, width / MAP_ASPECT)
    return cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2


def _place_labels(ax, labels) -> None:
    """``unit: N min`` right of each base, pushed down past earlier labels so none overlap."""
    fig = ax.figure
    box = ax.get_window_extent()
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    per_pt_x = (x1 - x0) / (box.width * 72 / fig.dpi)
    per_pt_y = (y1 - y0) / (box.height * 72 / fig.dpi)
    placed = []
    for where, text, colour, eligible in labels:
        size = LABEL_PT if eligible else LABEL_PT - 1
        h = size * 1.35 * per_pt_y
        w = len(text) * size * 0.56 * per_pt_x
        x = where.x + 7 * per_pt_x
        if x + w > x1:  # no room on the right: put it on the left
            x = where.x - 7 * per_pt_x - w
        y = where.y
        for _ in range(40):
            clash = [py for px, py, pw in placed if abs(py - y) < h and x < px + pw and px < x + w]
            if not clash:
                break
            y = min(clash) - h
        placed.append((x, y, w))
        ax.annotate(text, xy=(where.x, where.y), xytext=(x, y), ha="left", va="center", fontsize=size,
                    fontweight="bold" if eligible else "normal", color=colour, zorder=11, path_effects=HALO,
                    annotation_clip=True,
                    arrowprops=None if abs(y - where.y) < h / 2 else
                    {"arrowstyle": "-", "color": colour, "linewidth": 0.6, "shrinkA": 0, "shrinkB": 3})


def _warnings_box(fig, warnings: Sequence, border_warning) -> None:
    notes = list(warnings)
    if border_warning:
        notes.insert(0, f"{style.LABELS['border_warning']}: kontrollera området.")
    if not notes:
        return
    lines = []
    for note in notes:
        lines += textwrap.wrap(style.warning_text(note), WARNING_WIDTH, initial_indent="• ", subsequent_indent="  ")
    if len(lines) > WARNING_LINES:
        lines = lines[: WARNING_LINES - 1] + [lines[WARNING_LINES - 1].rstrip(" .") + " …"]
    fig.text(0.71, 0.07, style.LABELS["warnings"] + "\n" + "\n".join(lines), fontsize=7.5, va="bottom", ha="left",
             color="#333333", linespacing=1.35,
             bbox={"boxstyle": "round,pad=0.5", "facecolor": "#fff8e1", "edgecolor": "#e0b84c", "linewidth": 0.8})
