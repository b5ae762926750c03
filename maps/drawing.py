"""Drawing helpers shared by the static maps (:mod:`maps.static`, :mod:`maps.static_lookup`) and the reports:
the canvas (land and water in EPSG:3006), title, legend and caveat box, scale bar, north arrow, area numbers, bases
and their labels placed so they do not overlap.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import geopandas as gpd  # noqa: E402
import matplotlib.patheffects as pe  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from core.settings import METRIC_CRS, WGS84, Settings, get_settings  # noqa: E402
from maps import style  # noqa: E402
from maps.background import load_land  # noqa: E402
from maps.geography import PLACE_NAME_GID, draw_basemap  # noqa: E402

CAVEATS_GID = "caveats"
"""Marks a map's caveat box (a report page states the caveats in its own text)."""
HALO = [pe.withStroke(linewidth=3, foreground="white")]
"""A white outline that keeps text readable over any fill."""


def canvas(bounds, land: gpd.GeoDataFrame | None, settings: Settings | None):
    settings = settings or get_settings()
    fig, ax = plt.subplots(figsize=style.STATIC_SIZE_IN)
    fig.subplots_adjust(left=0.02, right=0.70, top=0.92, bottom=0.06)
    ax.set_facecolor(style.WATER)
    land = land if land is not None else load_land(settings)
    land = land.to_crs(METRIC_CRS)
    if "county" in land:
        land[~land["county"].astype(bool)].plot(ax=ax, color=style.LAND_NEIGHBOUR, edgecolor=style.LAND_EDGE,
                                                 linewidth=0.3, zorder=1)
        land[land["county"].astype(bool)].plot(ax=ax, color=style.LAND, edgecolor=style.LAND_EDGE,
                                                linewidth=0.3, zorder=1)
    else:
        land.plot(ax=ax, color=style.LAND, edgecolor=style.LAND_EDGE, linewidth=0.3, zorder=1)
    minx, miny, maxx, maxy = bounds
    pad = 0.05 * max(maxx - minx, maxy - miny, 2_000)
    ax.set_xlim(minx - pad, maxx + pad)
    ax.set_ylim(miny - pad, maxy + pad)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    draw_basemap(ax, settings)  # geography to find one's way: the sea, the roads the times are computed on, names
    return fig, ax


def finish(fig, ax, title: str, handles: list, legend_title: str | None = None, caveats: Sequence[str] = (),
            base_list: Sequence[str] = ()) -> None:
    ax.set_xlabel("")  # geopandas labels the axes with the CRS's; the caption names it
    ax.set_ylabel("")
    ax.set_title(title, fontsize=15, fontweight="bold", loc="left", pad=10)
    legend = fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.71, 0.92), frameon=False, fontsize=9,
                        title=legend_title, title_fontsize=10, alignment="left")
    top = 0.92
    if base_list:
        fig.canvas.draw()  # where the legend ends, so the list of bases starts below it
        top = legend.get_window_extent().transformed(fig.transFigure.inverted()).y0 - 0.01
        fig.text(0.715, top, style.LABELS["bases"] + "\n" + "\n".join(base_list), fontsize=7, va="top",
                 ha="left", linespacing=1.3)
    if caveats:
        text = "\n".join(textwrap.fill(c, 54) for c in caveats)
        fig.text(0.715, 0.06, f"{style.LABELS['caveats']}\n{text}", fontsize=7.5, va="bottom", ha="left",
                 linespacing=1.35, color="#222222", gid=CAVEATS_GID,
                 bbox={"boxstyle": "round,pad=0.5", "facecolor": "#fff8e1", "edgecolor": "#b08800", "linewidth": 0.8})
    _scale_bar(ax)
    _north_arrow(ax)
    fig.text(0.02, 0.025, style.ATTRIBUTION_PREFIX + style.ATTRIBUTION + ". Koordinatsystem SWEREF 99 TM (EPSG:3006).",
             fontsize=8, color="#444444")


def _scale_bar(ax) -> None:
    """Two-segment bar in the lower left, a round length near a fifth of the map width."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length = _nice_length((x1 - x0) / 5)
    left, base = x0 + 0.04 * (x1 - x0), y0 + 0.04 * (y1 - y0)
    height = 0.012 * (y1 - y0)
    for i, colour in enumerate(("black", "white")):
        ax.add_patch(Rectangle((left + i * length / 2, base), length / 2, height, facecolor=colour,
                               edgecolor="black", linewidth=0.8, zorder=10))
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    for x, text in ((left, "0"), (left + length, label)):
        ax.text(x, base + 1.6 * height, text, ha="center", va="bottom", fontsize=8, zorder=10, path_effects=HALO)


def _nice_length(target: float) -> float:
    exponent = 10 ** math.floor(math.log10(target))
    for step in (5, 2, 1):
        if step * exponent <= target:
            return step * exponent
    return exponent


def _north_arrow(ax) -> None:
    ax.annotate("N", xy=(0.96, 0.95), xytext=(0.96, 0.85), xycoords="axes fraction", ha="center", va="center",
                fontsize=12, fontweight="bold", zorder=10, path_effects=HALO,
                arrowprops={"facecolor": "black", "edgecolor": "black", "width": 4, "headwidth": 11, "headlength": 10})


def area_numbers(ax, areas: gpd.GeoDataFrame) -> None:
    """Each area's number at a point inside it; a place name too close to a number gives way to it."""
    xmin, xmax = ax.get_xlim()
    ymin, ymax = ax.get_ylim()
    spots = []
    for _, row in areas.iterrows():
        spot = row.geometry.representative_point()
        if xmin <= spot.x <= xmax and ymin <= spot.y <= ymax:
            ax.text(spot.x, spot.y, str(int(row["id"])), ha="center", va="center", fontsize=13, fontweight="bold",
                    zorder=8, path_effects=HALO)
            spots.append((spot.x, spot.y))
    clear = 0.04 * max(xmax - xmin, ymax - ymin)  # about a number's and a name's half-widths on the page
    for text in [t for t in ax.texts if t.get_gid() == PLACE_NAME_GID]:
        x, y = text.get_position()
        if any(abs(x - sx) < 2 * clear and abs(y - sy) < clear for sx, sy in spots):
            text.remove()


def plot_bases(ax, bases: Sequence[Mapping], labels: Sequence[str] | None = None) -> None:
    """Markers by precision; with ``labels``, each base labelled beside its marker (numbers or names)."""
    if not bases:
        return
    points = gpd.GeoSeries.from_xy([b["lon"] for b in bases], [b["lat"] for b in bases], crs=WGS84).to_crs(METRIC_CRS)
    for base, point in zip(bases, points):
        look = style.precision_style(base.get("precision"))
        ax.scatter([point.x], [point.y], s=55, marker=look["marker"], color=look["colour"], edgecolor="#222222",
                   linewidth=0.8, zorder=9)
    if labels:
        place_labels(ax, [(p.x, p.y) for p in points], list(labels))


_LABEL_OFFSETS = [(r * math.cos(a), r * math.sin(a)) for r in (9, 16, 26, 38, 52)
                  for a in [math.radians(d) for d in (20, -20, 160, -160, 90, -90, 55, -55, 125, -125)]]
"""Where a label may go around its marker (points), nearest first; beyond the first ring a line leads to it."""


def place_labels(ax, xy: list[tuple[float, float]], labels: list[str]) -> None:
    """Label each point at the nearest offset where the text covers no other label or marker (greedy)."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    marks = [ax.transData.transform(p) for p in xy]
    taken = [(m[0] - 6, m[1] - 6, m[0] + 6, m[1] + 6) for m in marks]  # markers, in display pixels

    def free(box) -> bool:
        return all(box[2] < t[0] or t[2] < box[0] or box[3] < t[1] or t[3] < box[1] for t in taken)

    for (x, y), text in zip(xy, labels):
        if not text:
            continue
        annotation = None
        for n, (dx, dy) in enumerate(_LABEL_OFFSETS):
            if annotation is not None:
                annotation.remove()
            lead = {"arrowstyle": "-", "color": "#333333", "lw": 0.6, "shrinkA": 0, "shrinkB": 4} if n >= 10 else None
            annotation = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=8,
                                     fontweight="bold", zorder=10, path_effects=HALO, arrowprops=lead,
                                     ha="left" if dx >= 0 else "right", va="center")
            annotation.update_positions(renderer)
            box = Text.get_window_extent(annotation, renderer)  # the text only, not its leader line
            if free((box.x0, box.y0, box.x1, box.y1)):
                break
        taken.append((box.x0, box.y0, box.x1, box.y1))


def precision_handles() -> list:
    return [Line2D([], [], ls="", marker=look["marker"], markersize=8, markerfacecolor=look["colour"],
                   markeredgecolor="#222222", label=f"{style.PRECISION_LEGEND_TITLE}: {look['label']}")
            for look in style.PRECISION_STYLE.values()]


def metadata(out: Path, fig) -> dict:
    title = fig.axes[0].get_title(loc="left") if fig.axes else ""
    if out.suffix.lower() == ".pdf":
        return {"Title": title, "Subject": "ASIH Region Stockholm", "Creator": "asih maps"}
    return {"Title": title, "Source": style.ATTRIBUTION}
