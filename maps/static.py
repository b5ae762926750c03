"""Static maps (PNG/PDF) for planning meetings: title, legend, scale bar, north arrow and attribution.

Drawn with matplotlib (Agg) and geopandas in EPSG:3006, so the scale bar is exact in metres. Grid north of
SWEREF 99 TM differs from true north by under 3° in the county, which the arrow ignores.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal

import matplotlib

matplotlib.use("Agg")

import geopandas as gpd  # noqa: E402
import matplotlib.patheffects as pe  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch, Rectangle  # noqa: E402
from shapely.geometry.base import BaseGeometry  # noqa: E402

from geo.settings import METRIC_CRS, WGS84, Settings, get_settings  # noqa: E402
from maps import style  # noqa: E402
from maps.background import load_land  # noqa: E402

Kind = Literal["overview", "unit", "choice", "lookup"]
FORMATS = (".png", ".pdf")
_HALO = [pe.withStroke(linewidth=3, foreground="white")]


def render_static(kind: Kind, out: str | Path, *, settings: Settings | None = None, **inputs) -> Path:
    """Render a static map to ``out`` (.png or .pdf).

    Parameters
    ----------
    kind
        ``overview`` (inputs: ``areas, municipalities, boroughs, bases``), ``unit`` (``unit, isochrone, areas,
        gaps, minutes``), ``choice`` (``deso, areas, minutes``) or ``lookup`` (``result, bases, areas``; see
        ``maps.static_lookup``); the inputs are those of the same-named functions of ``maps.interactive``
        (GeoDataFrames in EPSG:3006). ``land`` is optional for all.
    out
        Output file; its extension chooses the format.
    settings
        Defaults to ``get_settings()``.

    Returns
    -------
    Path
        The written file.
    """
    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise ValueError(f"A static map is written as {' or '.join(FORMATS)}, not {out.suffix or 'no extension'}.")
    from maps.static_lookup import lookup_figure  # it builds on this module's helpers

    builders: dict[str, Callable[..., plt.Figure]] = {
        "overview": overview_figure, "unit": unit_figure, "choice": choice_figure, "lookup": lookup_figure,
    }
    if kind not in builders:
        raise ValueError(f"Unknown static map {kind!r}: choose one of {', '.join(builders)}.")
    fig = builders[kind](settings=settings, **inputs)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=style.STATIC_DPI, metadata=_metadata(out, fig))
    finally:
        plt.close(fig)
    return out


def overview_figure(areas: gpd.GeoDataFrame, municipalities: gpd.GeoDataFrame, boroughs: gpd.GeoDataFrame,
                    bases: Sequence[Mapping], *, land: gpd.GeoDataFrame | None = None,
                    settings: Settings | None = None) -> plt.Figure:
    """The eight areas with their numbers, borders and all provider bases."""
    fig, ax = _canvas(areas.total_bounds, land, settings)
    areas.plot(ax=ax, color=[style.area_colour(i) for i in areas["id"]], edgecolor="#444444", linewidth=0.8,
               alpha=0.85, zorder=2)
    municipalities.boundary.plot(ax=ax, color=style.MUNICIPALITY_EDGE, linewidth=0.4, zorder=3)
    boroughs.boundary.plot(ax=ax, color=style.BOROUGH_EDGE, linewidth=0.4, linestyle=(0, (3, 2)), zorder=3)
    areas.boundary.plot(ax=ax, color="#333333", linewidth=1.2, zorder=4)
    _area_numbers(ax, areas)
    _plot_bases(ax, bases)
    handles = [Patch(facecolor=style.area_colour(i), edgecolor="#444444", label=style.area_label(i, n))
               for i, n in zip(areas["id"], areas["name"])]
    handles += [Line2D([], [], color=style.MUNICIPALITY_EDGE, lw=0.8, label="Kommungräns"),
                Line2D([], [], color=style.BOROUGH_EDGE, lw=0.8, ls=(0, (3, 2)), label="Stadsdelsområdesgräns")]
    handles += _precision_handles()
    _finish(fig, ax, style.TITLES["overview"], handles)
    return fig


def unit_figure(unit: Mapping, isochrone: BaseGeometry | Mapping[str, BaseGeometry], areas: gpd.GeoDataFrame,
                gaps: gpd.GeoDataFrame | None = None, minutes: float | None = None, *,
                land: gpd.GeoDataFrame | None = None, settings: Settings | None = None) -> plt.Figure:
    """One unit's reach, its approved areas (bold outline) and the gaps in them (red hatching)."""
    settings = settings or get_settings()
    minutes = settings.limit_minutes if minutes is None else minutes
    approved = areas[areas["id"].astype(int).isin([int(a) for a in unit.get("areas", [])])]
    geoms = list(isochrone.values()) if isinstance(isochrone, Mapping) else [isochrone]
    reach = gpd.GeoSeries([g for g in geoms if g is not None and not g.is_empty], crs=METRIC_CRS)
    focus = gpd.GeoSeries(list(approved.geometry) + list(reach), crs=METRIC_CRS)
    fig, ax = _canvas(focus.total_bounds if len(focus) else areas.total_bounds, land, settings)
    areas.plot(ax=ax, color=[style.area_colour(i) for i in areas["id"]], alpha=0.25, edgecolor="#777777",
               linewidth=0.6, zorder=2)
    if len(reach):
        reach.plot(ax=ax, color=style.ISOCHRONE_COLOUR, alpha=0.35, edgecolor=style.ISOCHRONE_COLOUR,
                   linewidth=0.8, zorder=3)
    if gaps is not None and len(gaps):
        gaps.plot(ax=ax, facecolor="none", edgecolor=style.GAP_COLOUR, hatch="////", linewidth=0.6, zorder=4)
    approved.boundary.plot(ax=ax, color=style.APPROVED_EDGE, linewidth=2.0, zorder=5)
    _area_numbers(ax, areas)
    _plot_bases(ax, [{**b, "unit": unit.get("unit")} for b in unit.get("bases", [])])
    label = style.LABELS["isochrone"].format(minutes=minutes)
    handles = [
        Patch(facecolor=style.ISOCHRONE_COLOUR, alpha=0.35, edgecolor=style.ISOCHRONE_COLOUR, label=label),
        Patch(facecolor="none", edgecolor=style.APPROVED_EDGE, linewidth=2.0,
              label=style.LABELS["approved"] + ": " + ", ".join(str(a) for a in sorted(unit.get("areas", [])))),
        Patch(facecolor="none", edgecolor=style.GAP_COLOUR, hatch="////", label=style.LABELS["gaps"]),
    ] + _precision_handles()
    _finish(fig, ax, style.TITLES["unit"].format(unit=unit.get("unit", ""), minutes=minutes), handles)
    return fig


def choice_figure(deso: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, minutes: float | None = None, *,
                  land: gpd.GeoDataFrame | None = None, settings: Settings | None = None) -> plt.Figure:
    """DeSO areas coloured by how many approved units reach them within the limit (0, 1, 2, 3+)."""
    settings = settings or get_settings()
    minutes = settings.limit_minutes if minutes is None else minutes
    fig, ax = _canvas(areas.total_bounds, land, settings)
    deso.plot(ax=ax, color=[style.choice_class(int(c))[1] for c in deso["choices"]], edgecolor="white",
              linewidth=0.1, zorder=2)
    areas.boundary.plot(ax=ax, color="#222222", linewidth=1.0, zorder=4)
    _area_numbers(ax, areas)
    handles = [Patch(facecolor=c, edgecolor="#666666", label=label) for _, label, c in style.CHOICE_CLASSES]
    handles += [Patch(facecolor="white", edgecolor="#222222", label="Nummer = ASIH-område")]
    _finish(fig, ax, style.TITLES["choice"].format(minutes=minutes), handles,
            legend_title=style.choice_legend_title(minutes))
    return fig


def _canvas(bounds, land: gpd.GeoDataFrame | None, settings: Settings | None):
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
    return fig, ax


def _finish(fig, ax, title: str, handles: list, legend_title: str | None = None) -> None:
    ax.set_xlabel("")  # geopandas labels the axes with the CRS's; the caption names it
    ax.set_ylabel("")
    ax.set_title(title, fontsize=15, fontweight="bold", loc="left", pad=10)
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.71, 0.92), frameon=False, fontsize=9,
               title=legend_title, title_fontsize=10, alignment="left")
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
        ax.text(x, base + 1.6 * height, text, ha="center", va="bottom", fontsize=8, zorder=10, path_effects=_HALO)


def _nice_length(target: float) -> float:
    exponent = 10 ** math.floor(math.log10(target))
    for step in (5, 2, 1):
        if step * exponent <= target:
            return step * exponent
    return exponent


def _north_arrow(ax) -> None:
    ax.annotate("N", xy=(0.96, 0.95), xytext=(0.96, 0.85), xycoords="axes fraction", ha="center", va="center",
                fontsize=12, fontweight="bold", zorder=10, path_effects=_HALO,
                arrowprops={"facecolor": "black", "edgecolor": "black", "width": 4, "headwidth": 11, "headlength": 10})


def _area_numbers(ax, areas: gpd.GeoDataFrame) -> None:
    xmin, xmax = ax.get_xlim()
    ymin, ymax = ax.get_ylim()
    for _, row in areas.iterrows():
        spot = row.geometry.representative_point()
        if xmin <= spot.x <= xmax and ymin <= spot.y <= ymax:
            ax.text(spot.x, spot.y, str(int(row["id"])), ha="center", va="center", fontsize=13, fontweight="bold",
                    zorder=8, path_effects=_HALO)


def _plot_bases(ax, bases: Sequence[Mapping]) -> None:
    if not bases:
        return
    points = gpd.GeoSeries.from_xy([b["lon"] for b in bases], [b["lat"] for b in bases], crs=WGS84).to_crs(METRIC_CRS)
    for base, point in zip(bases, points):
        look = style.precision_style(base.get("precision"))
        ax.scatter([point.x], [point.y], s=55, marker=look["marker"], color=look["colour"], edgecolor="#222222",
                   linewidth=0.8, zorder=9)


def _precision_handles() -> list:
    return [Line2D([], [], ls="", marker=look["marker"], markersize=8, markerfacecolor=look["colour"],
                   markeredgecolor="#222222", label=f"{style.PRECISION_LEGEND_TITLE}: {look['label']}")
            for look in style.PRECISION_STYLE.values()]


def _metadata(out: Path, fig) -> dict:
    title = fig.axes[0].get_title(loc="left") if fig.axes else ""
    if out.suffix.lower() == ".pdf":
        return {"Title": title, "Subject": "ASIH Region Stockholm", "Creator": "asih maps"}
    return {"Title": title, "Source": style.ATTRIBUTION}
