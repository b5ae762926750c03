"""The offline base map: water, main roads by class and place names, from our own data, the same on every map.

One layer, prepared once by ``asih prepare`` into ``settings.cache_dir / "basemap"`` as compact GeoJSON (WGS84,
:data:`DECIMALS` decimals of a degree) and read by every map kind: the pages get it from ``GET /v1/basemap`` and
draw it with ``api/static/basemap.js`` (Leaflet), the folium maps embed the same text and script, the static maps
and PDF reports draw it with matplotlib (:mod:`maps.geography`). Nothing is fetched from other hosts.

What it holds (``properties.kind`` of each feature):

- ``water``: the sea in the county's bounding box (+ :data:`WATER_MARGIN_M`, up to the sea border), i.e. what
  no land polygon covers, and the inland water of ``settings.basemap_water_file`` when one is configured.
  Land is the union of SCB's DeSO polygons (the county; simplified ~30–50 m, archipelago sea left out) and
  Lantmäteriet's 1:1M municipalities (the neighbours). Neither source leaves out lakes or the inner city's water
  (Mälaren, Saltsjön), so without a water file only the open sea is drawn. With one (``ASIH_BASEMAP_WATER_FILE``:
  an OSM ``.osm.pbf``/``.osm`` file, Geofabrik's ``gis_osm_water_a_free_1.shp`` or any polygon file; what is kept:
  :mod:`maps.water`) its polygons are clipped to the frame and joined with the sea, simplified by
  :data:`WATER_SIMPLIFY_M`, and parts under :data:`WATER_MIN_AREA_M2` dropped.
- ``road``: the main roads of the prepared road network (the network the drive times are computed on), merged per
  class (:data:`ROAD_CLASSES`) and simplified by :data:`ROAD_SIMPLIFY_M`.
- ``place``: names with a ``place`` type (:data:`PLACE_RANK`), a ``rank`` (lower is more important: placed first)
  and a ``minzoom`` (Leaflet zoom from which it may show). Municipalities at a point inside their polygon,
  Stockholm's stadsdelsområden and stadsdelar at their pole of inaccessibility, localities (GeoNames postal towns)
  at their postcodes' mean point, kept only where that point lies in the town's own municipality. Where names go
  without overlap is decided per view by each drawer (greedy, by rank).

The top-level ``style`` member carries the colours (from :mod:`maps.style`, their one home), so every drawer reads
the same ones.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import folium
import numpy as np
import shapely
from branca.element import MacroElement
from jinja2 import Template

from core.cache import CacheError, inputs_checksum, load_or_build, manifest_checksum
from core.crs import to_metric
from core.geojson import dumps, geometry_text
from core.settings import COUNTY_CODE, Settings
from geo import boundaries
from geo.geocode.normalize import fold
from geo.geocode.sources import read_postcodes
from maps import style
from maps.elements import Attribution, page_css
from maps.water import load_water, merge_water, water_file
from routing.prepare import load_network, network_cache_dir

ENTRY_NAME = "basemap"
FILE = "basemap.geojson"
BASEMAP_VERSION = 3
"""Bump when the code changes what the layer holds, so prepared caches are rebuilt (an input: not this file's bytes,
so a comment edited does not take the served layer away until the next ``asih prepare``)."""

DECIMALS = 5
"""Decimals of a degree (≈ 1 m): far below the sources' accuracy (1:1M municipalities, ~30 m DeSO)."""
WATER_MARGIN_M = 80_000.0
"""How far beyond the county's land the water is drawn (metres), but never east of the county's municipalities: they
reach the Sweden–Finland sea border, and Åland beyond it is in none of our (Swedish) land sources."""
WATER_SIMPLIFY_M = 60.0
"""Water simplification (metres): the sea's and lakes' outlines are drawn to this tolerance."""
WATER_MIN_AREA_M2 = WATER_SIMPLIFY_M**2
"""Smallest lake (or other water part) drawn, square metres: a pond smaller than a square of the simplification
tolerance is below what the layer resolves (at the county view it is under one pixel)."""
SEA_SLIVER_M2 = 1e5
"""Sea parts smaller than this (square metres) are slivers between the two land sources, not water."""
ROAD_SIMPLIFY_M = 25.0
"""Road simplification (metres): invisible at the zooms the base map is read at, keeps the answer small."""

ROAD_CLASSES = {"motorway": 1.1, "trunk": 1.0, "primary": 0.75, "secondary": 0.45}
"""OSM ``highway`` classes drawn, and their line widths (points on paper; the pages scale them per zoom)."""

PLACE_RANK = {"municipality": 0, "borough": 1, "locality": 2, "district": 3}
"""Which names give way to which: a municipality's name is placed before a borough's, …"""
PLACE_MINZOOM = {"municipality": 0, "borough": 11, "locality": 10, "district": 12}
"""Leaflet zoom from which each kind of name may show (the county fills a 1280 px map at about zoom 9)."""
BIG_LOCALITY_POSTCODES = 10
"""A locality with at least this many postcodes is a town: it may show from zoom 9."""
SCRIPT = Path(__file__).resolve().parent.parent / "api" / "static" / "basemap.js"
"""The one drawer of the layer on Leaflet maps: the pages load it from our server, folium maps inline it."""


@dataclass(frozen=True)
class BaseMap:
    """The prepared layer: ``text`` is the GeoJSON FeatureCollection (UTF-8), ``etag`` a strong tag of its content."""

    text: bytes
    etag: str

    def collection(self) -> dict:
        """The layer as a parsed GeoJSON dict."""
        return json.loads(self.text)

    def features(self, kind: str) -> list[dict]:
        """The features of one ``kind`` (``water``, ``road``, ``place``)."""
        return [f for f in self.collection()["features"] if f["properties"]["kind"] == kind]


def load_basemap(settings: Settings, rebuild: bool = True, force: bool = False) -> BaseMap:
    """The prepared base map, built when missing or stale (unless ``rebuild`` is False: then a missing or stale
    layer raises :class:`~core.cache.CacheError` naming the fix).

    Reads the municipalities, DeSO, borough, district and postcode files, the water file when one is configured
    (``settings.basemap_water_file``) and the prepared road network. A missing or broken water file raises
    :class:`~geo.boundaries.DataFileError` naming it and its setting; the layer prepared before stays as it was.
    """
    entry = Path(settings.cache_dir) / ENTRY_NAME
    return load_or_build(
        entry, _checksum(settings), what="The base map", names=[FILE],
        decode=lambda files: _decode(files[FILE]),
        build=lambda: _decode(build_basemap(settings)),
        encode=lambda bm: {FILE: bm.text},
        info=lambda bm: {"etag": bm.etag},
        rebuild=rebuild, force=force,
    )


def add_basemap(m: folium.Map, layer: BaseMap) -> None:
    """Draw ``layer`` on a folium map the way the pages do (``basemap.js`` and the layer written into the page):
    land-coloured ground, the water, the roads and the names, and the sources' attribution."""
    m.get_root().header.add_child(page_css(background=style.LAND), name="asih_css")
    BaseMapElement(layer).add_to(m)
    Attribution(style.ATTRIBUTION).add_to(m)


class BaseMapElement(MacroElement):
    """``basemap.js`` and the layer inlined in a folium map: no request leaves the page."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}<script>{{ this.script }}</script>{% endmacro %}
        {% macro script(this, kwargs) %}
            window.asihBasemap({{ this._parent.get_name() }}, {{ this.data }});
        {% endmacro %}
        """
    )

    def __init__(self, layer: BaseMap):
        super().__init__()
        self._name = "BaseMap"
        # "</" would end the inline script early; "<\/" means the same to JavaScript.
        self.script = SCRIPT.read_text(encoding="utf-8").replace("</", "<\\/")
        self.data = layer.text.decode("utf-8").replace("</", "<\\/")


def build_basemap(settings: Settings) -> bytes:
    """Build the layer from the sources (see the module docstring); returns the GeoJSON text."""
    deso = boundaries.load_deso(settings)
    everyone = boundaries.load_all_municipalities(settings)
    county = everyone[everyone["county_code"] == COUNTY_CODE].dissolve(by="code", aggfunc="first", as_index=False)
    features = _water(deso, everyone, settings)
    features += _roads(settings)
    features += _places(county, boundaries.load_boroughs(settings), boundaries.load_districts(settings),
                        _localities(settings, county))
    layer = {"type": "FeatureCollection", "style": _style(), "attribution": style.ATTRIBUTION, "features": features}
    return _dumps(layer).encode("utf-8")


def _water(deso, everyone, settings: Settings) -> list[dict]:
    land_county = shapely.union_all(shapely.buffer(deso.geometry.values, 1.0))
    minx, miny, maxx, maxy = land_county.buffer(WATER_MARGIN_M).bounds
    east = everyone[everyone["county_code"] == COUNTY_CODE].total_bounds[2]
    frame = shapely.box(minx, miny, min(maxx, east), maxy)
    neighbours = everyone[everyone["county_code"] != COUNTY_CODE]
    neighbours = neighbours[neighbours.intersects(frame)]
    # The county's own municipality polygons reach far into the archipelago: DeSO says where its land is.
    land = shapely.union_all([land_county, *neighbours.geometry.values])
    water = shapely.difference(frame, land).simplify(WATER_SIMPLIFY_M, preserve_topology=True)
    parts = [p for p in getattr(water, "geoms", [water]) if p.area > SEA_SLIVER_M2]
    inland = load_water(settings, frame)
    if inland is not None:
        parts = merge_water(parts, inland.values, frame, WATER_SIMPLIFY_M, WATER_MIN_AREA_M2)
    return [_feature(shapely.MultiPolygon(parts), {"kind": "water"})] if parts else []


def _roads(settings: Settings) -> list[dict]:
    out = []
    for cls, segments in main_roads(settings).items():
        if not len(segments):
            continue
        lines = shapely.line_merge(shapely.MultiLineString([s for s in segments]))
        out.append(_feature(lines.simplify(ROAD_SIMPLIFY_M), {"kind": "road", "class": cls}))
    return out


def _localities(settings: Settings, county) -> list[tuple[str, shapely.Point, float]]:
    """The county's postal towns (GeoNames): ``(name, point, number of postcodes)``, the point the mean of the
    town's postcode points, kept only where it lies in the town's own municipality (GeoNames puts some towns'
    points far away: README of the raw data). Biggest first."""
    df = read_postcodes(settings.raw(settings.postcodes_file))
    df = df.assign(code=df["admin2code"].str.strip().str.zfill(4), folded=df["place"].map(fold))
    by_code = dict(zip(county["code"], county.geometry.values))
    # GeoNames leaves the municipality empty on some rows (Märsta, Bro, …): the county municipality under the point.
    blank = df.index[df["admin2code"].str.strip() == ""]
    x, y = to_metric(df.loc[blank, "lat"].to_numpy(), df.loc[blank, "lon"].to_numpy())
    points = shapely.points(x, y)
    for code, geom in by_code.items():
        df.loc[blank[shapely.contains(geom, points)], "code"] = code
    out = []
    for (_, code), group in df[df["code"].isin(list(by_code))].groupby(["folded", "code"]):
        x, y = to_metric(group["lat"].mean(), group["lon"].mean())
        point = shapely.Point(x, y)
        if by_code[code].contains(point):
            out.append((str(group["place"].value_counts().index[0]), point, float(len(group))))
    return sorted(out, key=lambda t: -t[2])


def _places(county, boroughs, districts, localities) -> list[dict]:
    out: list[tuple[str, str, shapely.Point, float]] = []
    for name, geom in zip(county["name"], county.geometry.values):
        out.append((str(name), "municipality", _inside(geom), geom.area))
    taken = {fold(name) for name, *_ in out}
    for kind, gdf in (("borough", boroughs), ("district", districts)):
        for name, geom in zip(gdf["name"], gdf.geometry.values):
            if fold(str(name)) not in taken:
                out.append((str(name), kind, _inside(geom), geom.area))
                taken.add(fold(str(name)))
    for name, point, size in localities:
        if fold(name) not in taken:
            out.append((name, "locality", point, size))
            taken.add(fold(name))
    features = []
    for name, kind, point, size in out:
        minzoom = PLACE_MINZOOM[kind]
        if kind == "locality" and size >= BIG_LOCALITY_POSTCODES:
            minzoom = 9
        features.append(_feature(point, {"kind": "place", "place": kind, "name": name, "rank": PLACE_RANK[kind],
                                         "size": round(float(size), 1), "minzoom": minzoom}))
    # The drawers place names in this order: more important first, bigger first within a kind.
    features.sort(key=lambda f: (f["properties"]["rank"], -f["properties"]["size"], f["properties"]["name"]))
    return features


def _inside(geom) -> shapely.Point:
    """A label point well inside the largest part (its pole of inaccessibility, 50 m tolerance)."""
    parts = list(getattr(geom, "geoms", [geom]))
    biggest = max(parts, key=lambda g: g.area)
    try:
        return shapely.polylabel(biggest, tolerance=50.0)
    except Exception:  # noqa: BLE001 - a degenerate polygon: any inside point will do
        return biggest.representative_point()


def main_roads(settings: Settings) -> dict[str, np.ndarray]:
    """Segments of the main roads, by class: ``{class: (n, 2, 2) array of EPSG:3006 metres}`` (each two-way road
    once), from the prepared network cache; empty when the cache has no network."""
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


def _style() -> dict:
    return {"land": style.LAND, "water": style.WATER, "water_edge": style.WATER_EDGE, "road": style.ROAD,
            "road_casing": style.ROAD_CASING, "road_widths": ROAD_CLASSES, "place": style.PLACE_NAME,
            "halo": style.PLACE_HALO}


def _feature(geom, properties: dict) -> dict:
    return {"type": "Feature", "properties": properties, "geometry": geometry_text(geom, DECIMALS)}


def _dumps(layer: dict) -> str:
    # GEOS writes a rounded coordinate as its binary double (58.909910000000004): written back as rounded.
    return _LONG_NUMBER.sub(lambda m: repr(round(float(m.group(0)), DECIMALS)), dumps(layer))


_LONG_NUMBER = re.compile(r"-?\d+\.\d{%d,}" % (DECIMALS + 1))


def _decode(text: bytes) -> BaseMap:
    layer = json.loads(text)
    kinds = {f["properties"]["kind"] for f in layer["features"]}
    if layer.get("type") != "FeatureCollection" or not {"road", "place"} <= kinds:
        raise ValueError("the base map has no roads or no place names")
    return BaseMap(text=text, etag='"' + hashlib.sha256(text).hexdigest()[:32] + '"')


def _checksum(settings: Settings) -> str:
    paths = [settings.raw(settings.municipalities_file), settings.raw(settings.deso_file),
             settings.raw(settings.boroughs_file), settings.raw(settings.districts_file),
             settings.raw(settings.postcodes_file)]
    extra = {"version": BASEMAP_VERSION, "style": _style(), "network": manifest_checksum(network_cache_dir(settings))}
    water = water_file(settings)
    if water is not None:  # content hashed like the other inputs; none keeps the checksum of a layer without it
        paths.append(water)
        extra["water"] = [str(water), settings.basemap_water_layer]
    return inputs_checksum(paths, extra)


__all__ = ["BaseMap", "build_basemap", "load_basemap", "main_roads"]
