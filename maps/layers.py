"""Leaflet layers shared by the interactive maps: areas with labels, borders, provider bases, the base map.

Polygons are drawn in Leaflet's overlay pane; bases, lines and the looked-up point live in their own pane above it,
so they stay clickable even after a polygon layer is unticked and ticked again in the layer control.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import folium
import geopandas as gpd
from branca.element import MacroElement
from jinja2 import Template

from core.cache import CacheError
from core.settings import WGS84, get_settings
from maps import style
from maps.background import add_background, bounds_latlon
from maps.basemap import add_basemap, load_basemap
from maps.elements import Label, Markup, Popup, Tooltip, esc, js_string, swatch, table_html
from maps.offline import offline_map

BASES_PANE = "asih-bases"
"""Leaflet pane for bases, lines and the looked-up point: above the polygons even after a layer is re-ticked."""

LINES_PANE = "asih-lines"
"""Pane for lines from bases to a point: above polygons, below the bases so a line never hides a base."""

SIMPLIFY_M = 15.0
"""Geometry simplification before drawing (metres): invisible at county scale, keeps the HTML small."""

HATCH_SVG = (
    '<svg width="0" height="0" style="position:absolute"><defs>'
    '<pattern id="asih-hatch" patternUnits="userSpaceOnUse" width="8" height="8" patternTransform="rotate(45)">'
    f'<rect width="8" height="8" fill="{style.GAP_COLOUR}" fill-opacity="0.25"/>'
    f'<line x1="0" y1="0" x2="0" y2="8" stroke="{style.GAP_COLOUR}" stroke-width="3"/>'
    "</pattern></defs></svg>"
)


def flatten_bases(units: Sequence[Mapping]) -> list[dict]:
    """One dict per base from provider units as in ``data/providers.yaml``.

    Returns
    -------
    list of dict
        Keys ``unit, organisation, areas, lat, lon, precision, name, source`` (and ``capacity_note`` if any).
    """
    out = []
    for unit in units:
        for base in unit.get("bases", []):
            out.append(
                {
                    "unit": unit["unit"],
                    "organisation": unit.get("organisation", ""),
                    "areas": list(unit.get("areas", [])),
                    "capacity_note": unit.get("capacity_note"),
                    **base,
                }
            )
    return out


def base_map(areas: gpd.GeoDataFrame, land, settings, fit: bool = True) -> folium.Map:
    """An offline map with the background (the prepared base map: water, main roads, place names; else a configured
    tile server, or the land polygons when neither is there), the bases pane, fitted to ``areas`` (EPSG:3006)."""
    settings = settings or get_settings()
    bounds = bounds_latlon(areas) if len(areas) else [[58.7, 17.2], [60.3, 19.2]]
    centre = [(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2]
    m = offline_map(location=centre, zoom_start=9)
    layer = None
    if not settings.tile_url:
        try:
            layer = load_basemap(settings)
        except (CacheError, OSError, ValueError):
            layer = None  # no network or data to build it from: the land polygons still show where land is
    if layer is not None:
        add_basemap(m, layer)
    else:
        add_background(m, land=land, settings=settings)
    folium.map.CustomPane(LINES_PANE, z_index=440, pointer_events=True).add_to(m)
    folium.map.CustomPane(BASES_PANE, z_index=450, pointer_events=True).add_to(m)
    if fit:
        m.fit_bounds(bounds)
    return m


def area_layer(areas: gpd.GeoDataFrame, name: str, fill_opacity: float = 0.55, weight: float = 1.5,
                edge: str = "#444444", labels: bool = True) -> folium.FeatureGroup:
    group = folium.FeatureGroup(name=name)
    for _, row in areas.iterrows():
        label = style.area_label(row["id"], row["name"])
        layer = geojson_layer(gpd.GeoDataFrame(geometry=[row.geometry], crs=areas.crs), "asih-area", {
            "color": edge, "weight": weight, "fillColor": style.area_colour(row["id"]), "fillOpacity": fill_opacity})
        provenance = row["provenance"] if "provenance" in areas else None
        Tooltip(label + (f" ({provenance})" if provenance else "")).add_to(layer)
        layer.add_to(group)
        if labels:
            spot = gpd.GeoSeries([_label_point(row.geometry)], crs=areas.crs).to_crs(WGS84).iloc[0]
            AreaLabel((spot.y, spot.x), label, str(int(row["id"])), row.geometry.area / 1e6).add_to(group)
    if labels:
        Declutter().add_to(group)
    return group


def _label_point(geom):
    """Where an area's label goes: the centre of its largest part (the most room for the text)."""
    import shapely

    parts = list(getattr(geom, "geoms", [geom]))
    biggest = max(parts, key=lambda g: g.area)
    try:
        return shapely.polylabel(biggest, tolerance=50.0)  # metres (EPSG:3006)
    except Exception:  # noqa: BLE001 - a degenerate polygon: any inside point will do
        return biggest.representative_point()


class AreaLabel(MacroElement):
    """An area's label: the full text, or just its number when the full text would cover another label.

    The label is a DivIcon (no image, no clicks) holding both forms; :class:`Declutter` chooses per zoom level.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            (function() {
                var m = L.marker({{ this.location }}, {
                    icon: L.divIcon({className: 'asih-label asih-area-label', html: {{ this.html }}, iconSize: null}),
                    interactive: false, keyboard: false
                }).addTo({{ this._parent.get_name() }});
                var el = m.getElement();
                if (el) { el.dataset.size = {{ this.size }}; }
                m.on('add', function() { m.getElement().dataset.size = {{ this.size }}; });
            })();
        {% endmacro %}
        """
    )

    def __init__(self, location, text: str, short: str, size: float = 0.0):
        super().__init__()
        self._name = "AreaLabel"
        self.location = json.dumps([float(location[0]), float(location[1])])
        self.size = float(size)
        self.html = js_string(f'<span class="asih-al-full">{esc(text)}</span>'
                              f'<span class="asih-al-short">{esc(short)}</span>')


class Declutter(MacroElement):
    """After every zoom and move, keep map labels from covering each other: base labels first (one hidden where it
    would cover another; its marker's tooltip still names it), then every area's number, then each area's full name
    where it covers no label and no base (largest areas first). An area always shows at least its number unless two
    numbers collide; its tooltip and the legend name it in full."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
            <style>
            .asih-area-label .asih-al-short { display:none; }
            .asih-area-label.asih-al-as-short .asih-al-full { display:none; }
            .asih-area-label.asih-al-as-short .asih-al-short { display:inline-block; }
            .asih-al-hidden { visibility:hidden; }
            </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
            (function() {
                var map = {{ this._parent._parent.get_name() }};
                function overlaps(a, b) {
                    return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
                }
                function rect(node) {
                    var r = node.getBoundingClientRect();
                    return {left: r.left - 2, right: r.right + 2, top: r.top - 1, bottom: r.bottom + 1};
                }
                function free(r, placed) { return !placed.some(function(p) { return overlaps(p, r); }); }
                function declutter() {
                    var box = map.getContainer();
                    var placed = [];
                    box.querySelectorAll('path.asih-base').forEach(function(p) { placed.push(rect(p)); });
                    var markers = placed.length;
                    box.querySelectorAll('.asih-base-label').forEach(function(el) {
                        el.classList.remove('asih-al-hidden');
                        var r = rect(el.querySelector('span'));
                        if (free(r, placed.slice(markers))) { placed.push(r); } else { el.classList.add('asih-al-hidden'); }
                    });
                    var areas = Array.prototype.slice.call(box.querySelectorAll('.asih-area-label'));
                    areas.forEach(function(el) {
                        el.classList.remove('asih-al-hidden');
                        el.classList.add('asih-al-as-short');
                        var r = rect(el.querySelector('.asih-al-short'));
                        if (free(r, placed.slice(markers))) { placed.push(r); el._short = r; }
                        else { el.classList.add('asih-al-hidden'); el._short = null; }
                    });
                    areas.sort(function(a, b) { return (+b.dataset.size || 0) - (+a.dataset.size || 0); });
                    areas.forEach(function(el) {
                        if (!el._short) { return; }
                        el.classList.remove('asih-al-as-short');
                        var r = rect(el.querySelector('.asih-al-full'));
                        var others = placed.filter(function(p) { return p !== el._short; });
                        if (free(r, others)) { placed[placed.indexOf(el._short)] = r; el._short = r; }
                        else { el.classList.add('asih-al-as-short'); }
                    });
                    box.setAttribute('data-labels-placed', String(Date.now()));
                    // The first view can still move the labels after this, with no map event (seen at the first
                    // fitBounds): look again shortly and give way again if any label moved.
                    var sig = signature(box);
                    clearTimeout(recheck);
                    recheck = setTimeout(function() { if (signature(box) !== sig) { declutter(); } }, 250);
                }
                var recheck = null;
                function signature(box) {
                    return Array.prototype.map.call(box.querySelectorAll('.asih-area-label, .asih-base-label'),
                        function(el) { var r = el.getBoundingClientRect(); return Math.round(r.left) + ',' + Math.round(r.top); }
                    ).join(';');
                }
                // After Leaflet has placed every marker for the new view (viewreset fires after moveend).
                var pending = null;
                function settled() {
                    // Mid-animation, the panes are scaled or moving: label boxes measured then are wrong.
                    var anim = map._animatingZoom || (map._panAnim && map._panAnim._inProgress) ||
                        map.getContainer().classList.contains('leaflet-zoom-anim');
                    if (anim) { soon(); } else { declutter(); }
                }
                function soon() { clearTimeout(pending); pending = setTimeout(settled, 30); }
                map.on('zoomend moveend viewreset overlayadd overlayremove resize', soon);
                map.whenReady(soon);
                // Labels measured before the page's fonts are in use change width once they are: measure again.
                window.addEventListener('load', soon);
                if (document.fonts && document.fonts.ready) { document.fonts.ready.then(soon); }
            })();
        {% endmacro %}
        """
    )

    def __init__(self):
        super().__init__()
        self._name = "Declutter"


class BaseList(MacroElement):
    """The numbered bases as a folded list in the lower left (opened with one click), so the legend stays short."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            (function() {
                var list = L.control({position: 'bottomleft'});
                list.onAdd = function() {
                    var div = L.DomUtil.create('div', 'asih-legend asih-base-list');
                    div.innerHTML = {{ this.html }};
                    L.DomEvent.disableClickPropagation(div);
                    L.DomEvent.disableScrollPropagation(div);
                    return div;
                };
                list.addTo({{ this._parent.get_name() }});
            })();
        {% endmacro %}
        """
    )

    def __init__(self, title: str, items: Sequence[str]):
        super().__init__()
        self._name = "BaseList"
        rows = "".join(f"<li>{esc(item)}</li>" for item in items)
        self.html = js_string(
            f"<details><summary class='asih-legend-title'>{esc(title)} ({len(items)})</summary>"
            f"<ol style='margin:4px 0 0;padding-left:0;list-style:none;max-height:40vh;overflow:auto'>{rows}</ol>"
            "</details>"
        )


def base_labels(bases: Sequence[Mapping], group: folium.FeatureGroup, texts: Sequence[str]) -> None:
    """A small text beside each base marker (a number, or a name on a unit's map)."""
    for base, text in zip(bases, texts):
        Label((float(base["lat"]), float(base["lon"])), text, class_name="asih-base-label").add_to(group)


BASE_LABEL_CSS = (
    "<style>.asih-base-label span { display:inline-block; transform:translate(10px,-50%); white-space:nowrap;"
    " font:700 11px/1.1 system-ui,sans-serif; color:#111; background:rgba(255,255,255,.8); padding:0 3px;"
    " border-radius:3px; }</style>"
)


def geojson_layer(gdf: gpd.GeoDataFrame, class_name: str, path_style: dict) -> folium.GeoJson:
    path_style = {**path_style, "className": class_name}
    return folium.GeoJson(to_wgs84(gdf), style_function=lambda _f: path_style)


def outline_layer(gdf: gpd.GeoDataFrame, colour: str, weight: float, dash: str | None) -> folium.GeoJson:
    lines = gpd.GeoDataFrame(geometry=gdf.geometry.boundary, crs=gdf.crs)
    return folium.GeoJson(to_wgs84(lines), interactive=False, style_function=lambda _f: {
        "color": colour, "weight": weight, "dashArray": dash, "fill": False})


def bases_layer(bases: Sequence[Mapping], name: str) -> folium.FeatureGroup:
    group = folium.FeatureGroup(name=name)
    for base in bases:
        marker = base_marker(base)
        Tooltip(f"{base.get('unit')} – {base.get('name', '')}").add_to(marker)
        Popup(base_popup(base)).add_to(marker)
        marker.add_to(group)
    return group


def base_marker(base: Mapping) -> folium.CircleMarker:
    look = style.precision_style(base.get("precision"))
    marker = folium.CircleMarker(
        (float(base["lat"]), float(base["lon"])), radius=7, color="#222222", weight=2,
        dash_array="3 2" if base.get("precision") not in ("address", "place") else None,
        fill=True, fill_color=look["colour"], fill_opacity=0.95, class_name="asih-base",
    )
    marker.options["pane"] = BASES_PANE  # folium's path options drop `pane`
    return marker


def base_popup(base: Mapping) -> str:
    look = style.precision_style(base.get("precision"))
    symbol = swatch(look["colour"], "#222", "circle", look["symbol"])
    rows = [
        (style.LABELS["organisation"], base.get("organisation")),
        (style.LABELS["approved_areas"], ", ".join(str(a) for a in base.get("areas", []))),
        (style.LABELS["base"], base.get("name")),
        (style.LABELS["base_precision"], Markup(f"{symbol} {esc(look['label'])}")),
        (style.LABELS["source"], base.get("source")),
    ]
    if base.get("capacity_note"):
        rows.append((style.LABELS["capacity"], base["capacity_note"]))
    return table_html(rows, base.get("unit"))


def precision_legend() -> tuple[str, list[tuple[str, str]]]:
    return (style.PRECISION_LEGEND_TITLE, [
        (swatch(look["colour"], "#222", "circle", look["symbol"]), look["label"])
        for look in style.PRECISION_STYLE.values()
    ])


def to_wgs84(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = gdf.copy()
    out["geometry"] = out.geometry.simplify(SIMPLIFY_M, preserve_topology=True)
    return out.to_crs(WGS84)


def verify_metric(**frames: gpd.GeoDataFrame | None) -> None:
    """Raise with a clear sentence when an input GeoDataFrame is not in EPSG:3006."""
    for name, gdf in frames.items():
        if gdf is None:
            continue
        if gdf.crs is None or gdf.crs.to_epsg() != 3006:
            raise ValueError(f"`{name}` must be in EPSG:3006 (SWEREF 99 TM), got {gdf.crs}.")
