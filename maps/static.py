"""Static maps (PNG/PDF) for planning meetings: title, legend, scale bar, north arrow and attribution.

Drawn with matplotlib (Agg) and geopandas in EPSG:3006, so the scale bar is exact in metres. Grid north of
SWEREF 99 TM differs from true north by under 3° in the county, which the arrow ignores.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal

import matplotlib

matplotlib.use("Agg")

import geopandas as gpd  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from shapely.geometry.base import BaseGeometry  # noqa: E402

from core.settings import METRIC_CRS, WGS84, Settings, get_settings  # noqa: E402
from maps import style  # noqa: E402
from maps.gaps import people_gaps  # noqa: E402
from maps.drawing import (  # noqa: E402
    HALO,
    area_numbers,
    canvas,
    finish,
    metadata,
    plot_bases,
    precision_handles,
)
from maps.static_lookup import lookup_figure  # noqa: E402

Kind = Literal["overview", "unit", "choice", "lookup"]
FORMATS = (".png", ".pdf")


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
    builders: dict[str, Callable[..., plt.Figure]] = {
        "overview": overview_figure, "unit": unit_figure, "choice": choice_figure, "lookup": lookup_figure,
    }
    if kind not in builders:
        raise ValueError(f"Unknown static map {kind!r}: choose one of {', '.join(builders)}.")
    fig = builders[kind](settings=settings, **inputs)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=style.STATIC_DPI, metadata=metadata(out, fig))
    finally:
        plt.close(fig)
    return out


def overview_figure(areas: gpd.GeoDataFrame, municipalities: gpd.GeoDataFrame, boroughs: gpd.GeoDataFrame,
                    bases: Sequence[Mapping], *, land: gpd.GeoDataFrame | None = None,
                    settings: Settings | None = None) -> plt.Figure:
    """The eight areas with their numbers, borders and all provider bases."""
    fig, ax = canvas(areas.total_bounds, land, settings)
    areas.plot(ax=ax, color=[style.area_colour(i) for i in areas["id"]], edgecolor="#444444", linewidth=0.8,
               alpha=0.85, zorder=2)
    municipalities.boundary.plot(ax=ax, color=style.MUNICIPALITY_EDGE, linewidth=0.4, zorder=3)
    boroughs.boundary.plot(ax=ax, color=style.BOROUGH_EDGE, linewidth=0.4, linestyle=(0, (3, 2)), zorder=3)
    areas.boundary.plot(ax=ax, color="#333333", linewidth=1.2, zorder=4)
    area_numbers(ax, areas)
    numbers = [str(k) for k in range(1, len(bases) + 1)]
    inner = _inner_city_inset(ax, areas, boroughs, bases, numbers)
    plot_bases(ax, bases, [n if not inner[k] else "" for k, n in enumerate(numbers)])
    handles = [Patch(facecolor=style.area_colour(i), edgecolor="#444444", label=style.area_label(i, n))
               for i, n in zip(areas["id"], areas["name"])]
    handles += [Line2D([], [], color=style.MUNICIPALITY_EDGE, lw=0.8, label="Kommungräns"),
                Line2D([], [], color=style.BOROUGH_EDGE, lw=0.8, ls=(0, (3, 2)), label="Stadsdelsområdesgräns")]
    handles += precision_handles()
    finish(fig, ax, style.TITLES["overview"], handles, caveats=style.caveat_lines(bases=bases),
            base_list=[style.base_label(k, b) for k, b in enumerate(bases, start=1)])
    return fig


def unit_figure(unit: Mapping, isochrone: BaseGeometry | Mapping[str, BaseGeometry], areas: gpd.GeoDataFrame,
                gaps: gpd.GeoDataFrame | None = None, minutes: float | None = None, *,
                unreached: gpd.GeoDataFrame | None = None, profile: str | None = None, day=None,
                land: gpd.GeoDataFrame | None = None, settings: Settings | None = None) -> plt.Figure:
    """One unit's reach, its approved areas (bold outline) and the people out of reach in them.

    Gaps are drawn by population, never by land: ``unreached`` (DeSOs with ``unreached`` people, from
    ``CoverageAuditor.unreached_by_deso``) hatched more densely the more people they hold; without it, the ``gaps``
    polygons that hold people (``population`` ≥ 1). Land nobody lives on is not drawn as a gap.
    """
    settings = settings or get_settings()
    minutes = settings.limit_minutes if minutes is None else minutes
    approved = areas[areas["id"].astype(int).isin([int(a) for a in unit.get("areas", [])])]
    geoms = list(isochrone.values()) if isinstance(isochrone, Mapping) else [isochrone]
    reach = gpd.GeoSeries([g for g in geoms if g is not None and not g.is_empty], crs=METRIC_CRS)
    focus = gpd.GeoSeries(list(approved.geometry) + list(reach), crs=METRIC_CRS)
    fig, ax = canvas(focus.total_bounds if len(focus) else areas.total_bounds, land, settings)
    areas.plot(ax=ax, color=[style.area_colour(i) for i in areas["id"]], alpha=0.25, edgecolor="#777777",
               linewidth=0.6, zorder=2)
    if len(reach):
        reach.plot(ax=ax, color=style.ISOCHRONE_COLOUR, alpha=0.35, edgecolor=style.ISOCHRONE_COLOUR,
                   linewidth=0.8, zorder=3)
    gap_handles = _plot_unreached(ax, people_gaps(unreached, gaps))
    approved.boundary.plot(ax=ax, color=style.APPROVED_EDGE, linewidth=2.0, zorder=5)
    area_numbers(ax, areas)
    bases = [{**b, "unit": unit.get("unit")} for b in unit.get("bases", [])]
    plot_bases(ax, bases, [b.get("name", "") for b in bases])
    label = style.LABELS["isochrone"].format(minutes=minutes)
    handles = [
        Patch(facecolor=style.ISOCHRONE_COLOUR, alpha=0.35, edgecolor=style.ISOCHRONE_COLOUR, label=label),
        Patch(facecolor="none", edgecolor=style.APPROVED_EDGE, linewidth=2.0,
              label=style.LABELS["approved"] + ": " + ", ".join(str(a) for a in sorted(unit.get("areas", [])))),
        *gap_handles,
    ] + precision_handles()
    caveats = style.caveat_lines(profile=profile or "free_flow", minutes=minutes, bases=bases)
    title = style.TITLES["unit"].format(unit=unit.get("unit", ""), minutes=minutes)
    finish(fig, ax, f"{title} ({style.title_basis(profile, day)})", handles,
            caveats=caveats)
    return fig


INSET_RADIUS_M = 9000.0
"""Bases this close to Stockholm's centre are drawn again, labelled, in an inset of the overview map (m)."""
INSET_MIN_BASES = 3
_STOCKHOLM_CENTRE = (59.3326, 18.0649)  # Sergels torg (WGS84)


def _inner_city_inset(ax, areas: gpd.GeoDataFrame, boroughs: gpd.GeoDataFrame, bases: Sequence[Mapping],
                      labels: Sequence[str]) -> list[bool]:
    """An inset over the inner city when bases crowd there; returns which bases it labels."""
    if not bases:
        return []
    points = gpd.GeoSeries.from_xy([b["lon"] for b in bases], [b["lat"] for b in bases], crs=WGS84).to_crs(METRIC_CRS)
    centre = gpd.GeoSeries.from_xy([_STOCKHOLM_CENTRE[1]], [_STOCKHOLM_CENTRE[0]], crs=WGS84).to_crs(METRIC_CRS)[0]
    inside = [p.distance(centre) <= INSET_RADIUS_M for p in points]
    if sum(inside) < INSET_MIN_BASES:
        return [False] * len(bases)
    xs = [p.x for p, i in zip(points, inside) if i]
    ys = [p.y for p, i in zip(points, inside) if i]
    pad = 2500.0
    half = max(max(xs) - min(xs), max(ys) - min(ys)) / 2 + pad
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    inset = ax.inset_axes([0.56, 0.02, 0.42, 0.42])
    inset.set_facecolor(style.WATER)
    areas.plot(ax=inset, color=[style.area_colour(i) for i in areas["id"]], edgecolor="#444444", linewidth=0.8,
               alpha=0.85, zorder=2)
    boroughs.boundary.plot(ax=inset, color=style.BOROUGH_EDGE, linewidth=0.4, linestyle=(0, (3, 2)), zorder=3)
    areas.boundary.plot(ax=inset, color="#333333", linewidth=1.2, zorder=4)
    inset.set_xlim(cx - half, cx + half)
    inset.set_ylim(cy - half, cy + half)
    inset.set_aspect("equal")
    inset.set_xticks([])
    inset.set_yticks([])
    inset.set_xlabel("")
    inset.set_ylabel("")
    inset.text(0.02, 0.98, "Innerstaden med omnejd", transform=inset.transAxes, fontsize=8, fontweight="bold",
               va="top", ha="left", zorder=11, path_effects=HALO)
    area_numbers(inset, areas)
    plot_bases(inset, [b for b, i in zip(bases, inside) if i], [t for t, i in zip(labels, inside) if i])
    ax.indicate_inset_zoom(inset, edgecolor="#333333", linewidth=0.8)
    return inside


def _plot_unreached(ax, frame: gpd.GeoDataFrame | None) -> list:
    """Hatch each polygon by its class of people out of reach; returns the legend handles of the classes drawn."""
    handles = []
    if frame is None or not len(frame):
        return handles
    classes = [style.unreached_class(v) for v in frame["unreached"]]
    for low, label, opacity in style.UNREACHED_CLASSES:
        part = frame[[c is not None and c[0] == label for c in classes]]
        if not len(part):
            continue
        part.plot(ax=ax, facecolor=(*matplotlib.colors.to_rgb(style.GAP_COLOUR), 0.12 * opacity),
                  edgecolor=(*matplotlib.colors.to_rgb(style.GAP_COLOUR), opacity), hatch="////", linewidth=0.5,
                  zorder=4)
        handles.append(Patch(facecolor=(*matplotlib.colors.to_rgb(style.GAP_COLOUR), 0.12 * opacity),
                             edgecolor=(*matplotlib.colors.to_rgb(style.GAP_COLOUR), opacity), hatch="////",
                             label=f"{style.LABELS['unreached_short']}: {label}"))
    if {"x", "y"} <= set(frame.columns):
        # A circle per DeSO whose area is the number of people out of reach: a big empty DeSO does not look big.
        ax.scatter(frame["x"], frame["y"], s=_DOT_AREA * frame["unreached"], facecolor="none",
                   edgecolor=style.GAP_COLOUR, linewidth=0.9, zorder=6)
        handles.append(Line2D([], [], ls="", marker="o", markersize=(_DOT_AREA * 1000) ** 0.5,
                              markerfacecolor="none", markeredgecolor=style.GAP_COLOUR,
                              label=f"{style.LABELS['unreached_dots']} (1 000 pers.)"))
    return handles


_DOT_AREA = 0.06
"""Marker area (points²) per person out of reach: 1 000 people ≈ a 8-point circle."""


def choice_figure(deso: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, minutes: float | None = None, *,
                  profile: str | None = None, bases: Sequence[Mapping] = (), day=None,
                  land: gpd.GeoDataFrame | None = None, settings: Settings | None = None) -> plt.Figure:
    """DeSO areas coloured by how many approved units reach them within the limit (0, 1, 2, 3+)."""
    settings = settings or get_settings()
    minutes = settings.limit_minutes if minutes is None else minutes
    fig, ax = canvas(areas.total_bounds, land, settings)
    deso.plot(ax=ax, color=[style.choice_class(int(c))[1] for c in deso["choices"]], edgecolor="white",
              linewidth=0.1, zorder=2)
    areas.boundary.plot(ax=ax, color="#222222", linewidth=1.0, zorder=4)
    area_numbers(ax, areas)
    handles = [Patch(facecolor=c, edgecolor="#666666", label=label) for _, label, c in style.CHOICE_CLASSES]
    handles += [Patch(facecolor="white", edgecolor="#222222", label="Nummer = ASIH-område")]
    title = style.TITLES["choice"].format(minutes=minutes)
    finish(fig, ax, f"{title} ({style.title_basis(profile, day)})", handles,
            legend_title=style.choice_legend_title(minutes),
            caveats=style.caveat_lines(profile=profile or "free_flow", minutes=minutes, bases=bases))
    return fig


