"""Geography under the coverage: the main roads (from the prepared road network) and the municipalities' names, so a
map can be read without tiles (the service runs with no internet: see :mod:`maps.background`).

Roads are drawn as the network the drive times are computed on, so a reader sees where the times come from; names
are the county's municipalities (Lantmäteriet 1:1M), placed at a point inside each.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from matplotlib.collections import LineCollection

from core.settings import METRIC_CRS, Settings
from maps import style

PLACE_NAME_GID = "place-name"
"""Marks the place names on a map, so that labels that matter more (area numbers) can push them away."""
ROAD_CLASSES = {"motorway": 1.1, "trunk": 1.0, "primary": 0.75, "secondary": 0.45}
"""OSM ``highway`` classes drawn, and their line widths (points): the roads a planning meeting navigates by."""


_ROADS: dict[str, dict[str, np.ndarray]] = {}
"""Main roads per cache directory (a few MB), read once per process."""


def main_roads(settings: Settings) -> dict[str, np.ndarray]:
    """Segments of the main roads, by class: ``{class: (n, 2, 2) array of EPSG:3006 metres}`` (each two-way road
    once), from the prepared network cache; empty when the cache has no network."""
    key = str(settings.cache_dir)
    if key not in _ROADS:
        _ROADS[key] = _read_roads(settings)
    return _ROADS[key]


def _read_roads(settings: Settings) -> dict[str, np.ndarray]:
    from core.cache import CacheError
    from routing.prepare import load_network

    try:
        net = load_network(settings, rebuild=False)
    except (CacheError, OSError, ValueError):
        return {}
    once = (net.edge_rev < 0) | (np.arange(net.n_edges) < net.edge_rev)
    out = {}
    for cls in ROAD_CLASSES:
        e = np.flatnonzero(once & (net.edge_class == cls))
        out[cls] = np.stack([np.column_stack([net.node_x[net.edge_u[e]], net.node_y[net.edge_u[e]]]),
                             np.column_stack([net.node_x[net.edge_v[e]], net.node_y[net.edge_v[e]]])], axis=1)
    return out


def draw_roads(ax, settings: Settings) -> None:
    """The main roads on a static map (thin grey lines above the area fills, below bases and labels)."""
    for cls, segments in main_roads(settings).items():
        if len(segments):
            ax.add_collection(LineCollection(segments, colors=style.ROAD, linewidths=ROAD_CLASSES[cls],
                                             alpha=0.8, zorder=4, capstyle="round"))


def draw_place_names(ax, land: gpd.GeoDataFrame) -> None:
    """The county's municipality names inside the map's view, at a point inside each municipality."""
    county = land[land["county"].astype(bool)] if "county" in land else land
    county = county.to_crs(METRIC_CRS)
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    for name, geom in zip(county["name"], county.geometry):
        p = geom.representative_point()
        if x0 < p.x < x1 and y0 < p.y < y1:
            ax.text(p.x, p.y, str(name), fontsize=6.5, color=style.PLACE_NAME, ha="center", va="center", zorder=5,
                    style="italic", gid=PLACE_NAME_GID)
