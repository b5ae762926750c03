"""Geography under the coverage on static maps and PDF reports: the prepared base map (:mod:`maps.basemap`, the
same layer the pages and HTML maps draw) as matplotlib vectors — the sea, the main roads by class, place names.

Roads are the network the drive times are computed on, so a reader sees where the times come from. Names are placed
greedily without overlap, in the layer's order (municipalities, boroughs, localities, districts; bigger first), and
only those a web map would show at the same scale (:func:`equivalent_zoom` against each name's ``minzoom``). Every
name is at least :data:`MIN_NAME_PT` points on paper.
"""

from __future__ import annotations

import math

import geopandas as gpd
import matplotlib.patheffects as pe
import matplotlib.pyplot as plt
import numpy as np
import shapely
from matplotlib.collections import LineCollection
from matplotlib.patches import Rectangle
from shapely.geometry import shape

from core.cache import CacheError
from core.crs import to_metric
from core.settings import METRIC_CRS, Settings
from maps import style
from maps.basemap import ROAD_CLASSES, BaseMap, load_basemap, main_roads

PLACE_NAME_GID = "place-name"
"""Marks the place names on a map, so that labels that matter more (area numbers) can push them away."""
MIN_NAME_PT = 7.0
"""The smallest text on a printed map (points): legible on paper."""
NAME_PT = {"municipality": 8.5, "borough": 7.5, "locality": 7.0, "district": 7.0}
NAME_STYLE = {"municipality": ("normal", "bold"), "borough": ("normal", "bold"),
              "locality": ("normal", "normal"), "district": ("italic", "normal")}
NAME_PAD_PT = 1.5
"""Air around each name's box when checking overlap (points)."""

__all__ = ["PLACE_NAME_GID", "ROAD_CLASSES", "declutter_names", "draw_basemap", "equivalent_zoom", "main_roads",
           "metric_layer"]

_METRIC: dict[str, dict] = {}
"""The base map in EPSG:3006 per layer ETag (a few MB), made once per process."""


def metric_layer(layer: BaseMap) -> dict:
    """The layer's features in EPSG:3006: ``{"water": [geometry], "roads": {class: [(n, 2) arrays]}, "places":
    [(name, place, x, y, minzoom)]}`` (places in the layer's order)."""
    if layer.etag not in _METRIC:
        out: dict = {"water": [], "roads": {}, "places": []}
        for f in layer.collection()["features"]:
            p, geom = f["properties"], shape(f["geometry"])
            if p["kind"] == "place":
                x, y = to_metric(geom.y, geom.x)
                out["places"].append((p["name"], p["place"], float(x), float(y), p["minzoom"]))
                continue
            geom = shapely.transform(geom, lambda xy: np.column_stack(to_metric(xy[:, 1], xy[:, 0])))
            if p["kind"] == "water":
                out["water"].append(geom)
            elif p["kind"] == "road":
                lines = getattr(geom, "geoms", [geom])
                out["roads"][p["class"]] = [np.asarray(line.coords) for line in lines]
        _METRIC[layer.etag] = out
    return _METRIC[layer.etag]


def draw_basemap(ax, settings: Settings) -> None:
    """The base map on a static map whose limits are set: water over the land polygons, the main roads (thin grey
    lines above the area fills, below bases and labels), place names. Nothing when the layer cannot be had."""
    try:
        layer = metric_layer(load_basemap(settings))
    except (CacheError, OSError, ValueError):
        return
    if layer["water"]:
        # Lined, as on the pages: water cannot be taken for a light fill of any colour (also in grey print). The map's
        # ground outside the layer's frame is water too (the canvas' colour): lined the same, under the land.
        with plt.rc_context({"hatch.linewidth": 0.3, "hatch.color": style.WATER_EDGE}):
            (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
            ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, facecolor=style.WATER, edgecolor=style.WATER_EDGE,
                                   linewidth=0, hatch="----", zorder=0.5))
            gpd.GeoSeries(layer["water"], crs=METRIC_CRS).plot(ax=ax, facecolor=style.WATER, edgecolor=style.WATER_EDGE,
                                                               linewidth=0.3, hatch="----", zorder=1.5, gid="water")
    for cls, lines in layer["roads"].items():
        ax.add_collection(LineCollection(lines, colors=style.ROAD, linewidths=ROAD_CLASSES[cls], alpha=0.8, zorder=4,
                                         capstyle="round", joinstyle="round", gid=f"road-{cls}"))
    draw_place_names(ax, layer["places"])


def equivalent_zoom(ax) -> float:
    """The Leaflet zoom at which a web map shows as much ground per CSS pixel as ``ax`` does per 0.75 point."""
    (x0, x1) = ax.get_xlim()
    width_pt = ax.get_window_extent().width * 72 / ax.figure.dpi
    metres_per_px = (x1 - x0) / width_pt * 0.75
    return math.log2(156_543.03 * math.cos(math.radians(59.33)) / metres_per_px)


def draw_place_names(ax, places) -> None:
    """Names in view, each where its box (plus :data:`NAME_PAD_PT`) touches no name already placed."""
    zoom = equivalent_zoom(ax)
    renderer = ax.figure.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    pad = NAME_PAD_PT * ax.figure.dpi / 72
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    placed: list[tuple[float, float, float, float]] = []
    for name, kind, x, y, minzoom in places:
        if zoom < minzoom or not (x0 < x < x1 and y0 < y < y1):
            continue
        font_style, weight = NAME_STYLE.get(kind, ("normal", "normal"))
        text = ax.text(x, y, name, fontsize=max(MIN_NAME_PT, NAME_PT.get(kind, MIN_NAME_PT)), color=style.PLACE_NAME,
                       ha="center", va="center", zorder=5, style=font_style, fontweight=weight, gid=PLACE_NAME_GID,
                       path_effects=[pe.withStroke(linewidth=2, foreground=style.PLACE_HALO)])
        box = text.get_window_extent(renderer)
        b = (box.x0 - pad, box.y0 - pad, box.x1 + pad, box.y1 + pad)
        inside = frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
        if not inside or any(b[0] < q[2] and q[0] < b[2] and b[1] < q[3] and q[1] < b[3] for q in placed):
            text.remove()
            continue
        placed.append(b)


def declutter_names(ax) -> int:
    """After the names' sizes changed (a report enlarges a map's text for print): drop each name that now overlaps
    one kept before it (the placing order) or leaves the map. Returns how many were dropped."""
    renderer = ax.figure.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    pad = NAME_PAD_PT * ax.figure.dpi / 72
    kept: list = []
    dropped = 0
    for text in [t for t in ax.texts if t.get_gid() == PLACE_NAME_GID]:
        box = text.get_window_extent(renderer)
        b = (box.x0 - pad, box.y0 - pad, box.x1 + pad, box.y1 + pad)
        inside = frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
        if not inside or any(b[0] < q[2] and q[0] < b[2] and b[1] < q[3] and q[1] < b[3] for q in kept):
            text.remove()
            dropped += 1
        else:
            kept.append(b)
    return dropped
