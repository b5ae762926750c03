"""Interactive, self-contained HTML maps (folium/Leaflet) for referrers, contract managers and planning meetings.

Inputs are GeoDataFrames in EPSG:3006 and plain dicts, so the maps depend on no other package's internals. Every
map has the local land-on-water background (or the configured tile server), the attribution of all data sources,
a legend and Leaflet's layer control; none needs jQuery or Bootstrap. Save with ``maps.offline.save_html``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import folium
import geopandas as gpd
from shapely.geometry.base import BaseGeometry

from core.settings import METRIC_CRS, Settings, get_settings
from maps import style
from maps.gaps import people_gaps
from maps.elements import Legend, Popup, Title, Tooltip, swatch, table_html
from maps.layers import (
    BASE_LABEL_CSS,
    BaseList,
    BASES_PANE,
    HATCH_SVG,
    LINES_PANE,
    area_layer,
    base_labels,
    base_map,
    base_marker,
    bases_layer,
    flatten_bases,
    geojson_layer,
    outline_layer,
    precision_legend,
    to_wgs84,
    verify_metric,
)
from maps.offline import save_html

__all__ = ["overview_map", "unit_map", "choice_map", "lookup_map", "flatten_bases", "save_html"]


def overview_map(
    areas: gpd.GeoDataFrame,
    municipalities: gpd.GeoDataFrame,
    boroughs: gpd.GeoDataFrame,
    bases: Sequence[Mapping],
    *,
    land: gpd.GeoDataFrame | None = None,
    settings: Settings | None = None,
) -> folium.Map:
    """The eight areas, the municipality and borough borders, and every provider base.

    Parameters
    ----------
    areas
        ``id, name, provenance, geometry`` in EPSG:3006.
    municipalities
        ``code, name, geometry`` in EPSG:3006 (the county's 26).
    boroughs
        ``name, geometry`` in EPSG:3006 (Stockholm's stadsdelsområden).
    bases
        Dicts ``unit, organisation, areas, lat, lon, precision, name, source`` (see ``flatten_bases``).
    land, settings
        Background (see ``maps.background.add_background``).

    Returns
    -------
    folium.Map
    """
    verify_metric(areas=areas, municipalities=municipalities, boroughs=boroughs)
    m = base_map(areas, land, settings)
    area_layer(areas, name=style.LABELS["areas"]).add_to(m)
    borders = folium.FeatureGroup(name=style.LABELS["borders"], show=True)
    outline_layer(municipalities, style.MUNICIPALITY_EDGE, 1.2, None).add_to(borders)
    outline_layer(boroughs, style.BOROUGH_EDGE, 1.0, "4 3").add_to(borders)
    borders.add_to(m)
    group = bases_layer(bases, style.LABELS["bases"])
    base_labels(bases, group, [str(k) for k in range(1, len(bases) + 1)])
    group.add_to(m)
    _titled(m, style.TITLES["overview"])
    Legend(
        [
            (style.LABELS["areas"], [(swatch(style.area_colour(i), "#555"), style.area_label(i, n))
                                     for i, n in zip(areas["id"], areas["name"])]),
            (style.LABELS["borders"], [(swatch("", style.MUNICIPALITY_EDGE, "line"), "kommun"),
                                       (swatch("", style.BOROUGH_EDGE, "line"), "stadsdelsområde")]),
            precision_legend(),
            _caveats(style.caveat_lines(bases=bases)),
        ]
    ).add_to(m)
    BaseList(style.LABELS["bases"], [style.base_label(k, b) for k, b in enumerate(bases, start=1)]).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m


def _titled(m: folium.Map, title: str) -> None:
    """The title on the map and as the page's <title> (browser tab, bookmarks, screen readers)."""
    Title(title).add_to(m)
    m.get_root().title = title
    m.get_root().header.add_child(folium.Element(BASE_LABEL_CSS), name="asih_base_label_css")


def _caveats(lines: list[str]) -> tuple[str, list[tuple[str, str]]]:
    return (style.LABELS["caveats"], [("", line) for line in lines])


def unit_map(
    unit: Mapping,
    isochrone: BaseGeometry | Mapping[str, BaseGeometry],
    areas: gpd.GeoDataFrame,
    gaps: gpd.GeoDataFrame | None = None,
    minutes: float | None = None,
    *,
    unreached: gpd.GeoDataFrame | None = None,
    profile: str | None = None,
    day=None,
    land: gpd.GeoDataFrame | None = None,
    settings: Settings | None = None,
) -> folium.Map:
    """What one unit reaches within the limit, its approved areas, and the gaps in them.

    Parameters
    ----------
    unit
        ``id, unit, organisation, areas, bases`` (bases as in ``data/providers.yaml``).
    isochrone
        Reach polygon in EPSG:3006, or a mapping base name -> polygon for one isochrone per base.
    areas
        ``id, name, geometry`` in EPSG:3006.
    gaps
        ``area_id, population, geometry`` in EPSG:3006: parts of approved areas the unit does not reach; only those
        holding people are drawn (used when ``unreached`` is not given).
    minutes
        The drive-time limit drawn; defaults to ``settings.limit_minutes``.
    unreached
        ``deso, area_id, unreached, geometry`` in EPSG:3006 (``CoverageAuditor.unreached_by_deso``): gaps hatched by
        the people out of reach, never by land area.
    profile
        The drive-time profile of the reach (for the caveats); defaults to free flow.

    Returns
    -------
    folium.Map
    """
    settings = settings or get_settings()
    minutes = settings.limit_minutes if minutes is None else minutes
    verify_metric(areas=areas, gaps=gaps, unreached=unreached)
    approved = {int(a) for a in unit.get("areas", [])}
    m = base_map(areas, land, settings)
    m.get_root().html.add_child(folium.Element(HATCH_SVG), name="asih_hatch")
    context = area_layer(areas, name="Alla områden", fill_opacity=0.12)
    context.add_to(m)
    shown = areas[areas["id"].astype(int).isin(approved)]
    area_layer(shown, name=style.LABELS["approved"], fill_opacity=0.0, weight=3.5,
                edge=style.APPROVED_EDGE, labels=False).add_to(m)
    reach = folium.FeatureGroup(name=style.LABELS["isochrone"].format(minutes=minutes))
    pieces = isochrone.items() if isinstance(isochrone, Mapping) else [(unit.get("unit", ""), isochrone)]
    for base_name, geom in pieces:
        if geom is None or geom.is_empty:
            continue
        layer = geojson_layer(gpd.GeoDataFrame(geometry=[geom], crs=METRIC_CRS), "isochrone", {
            "color": style.ISOCHRONE_COLOUR, "weight": 1.5, "fillColor": style.ISOCHRONE_COLOUR, "fillOpacity": 0.3})
        Tooltip(f"{base_name}: {style.LABELS['isochrone'].format(minutes=minutes).lower()}").add_to(layer)
        layer.add_to(reach)
    reach.add_to(m)
    people = people_gaps(unreached, gaps)
    drawn_classes = []
    if people is not None and len(people):
        gap_group = folium.FeatureGroup(name=style.LABELS["unreached"])
        for _, row in people.iterrows():
            look = style.unreached_class(row["unreached"])
            if look is None:
                continue
            drawn_classes.append(look)
            layer = geojson_layer(gpd.GeoDataFrame(geometry=[row.geometry], crs=METRIC_CRS), "gap", {
                "color": style.GAP_COLOUR, "weight": 1, "opacity": look[1], "fillColor": "url(#asih-hatch)",
                "fillOpacity": look[1]})
            rows = [("Område", int(row["area_id"])) if "area_id" in people else None,
                    ("DeSO", row["deso"]) if "deso" in people else None,
                    ("Ej nådda personer", style.population_text(row["unreached"]))]
            Popup(table_html([r for r in rows if r], style.LABELS["gaps"])).add_to(layer)
            layer.add_to(gap_group)
        gap_group.add_to(m)
    unit_bases = flatten_bases([unit])
    group = bases_layer(unit_bases, style.LABELS["bases"])
    base_labels(unit_bases, group, [b.get("name", "") for b in unit_bases])
    group.add_to(m)
    title = style.TITLES["unit"].format(unit=unit.get("unit", ""), minutes=minutes)
    _titled(m, f"{title} ({style.title_basis(profile, day)})")
    classes = [c for c in style.UNREACHED_CLASSES if any(d[0] == c[1] for d in drawn_classes)]
    Legend(
        [
            (unit.get("unit", ""), [
                (swatch(style.ISOCHRONE_COLOUR), style.LABELS["isochrone"].format(minutes=minutes)),
                (swatch("transparent", style.APPROVED_EDGE), style.LABELS["approved"] + ": "
                 + ", ".join(str(a) for a in sorted(approved))),
            ]),
            (style.LABELS["unreached"], [(swatch("transparent", style.GAP_COLOUR, hatch=True), label)
                                         for _, label, _ in classes] or [("", "inga")]),
            precision_legend(),
            _caveats(style.caveat_lines(profile=profile or "free_flow", minutes=minutes, bases=unit_bases)),
        ]
    ).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m


def choice_map(
    deso: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame,
    minutes: float | None = None,
    *,
    profile: str | None = None,
    bases: Sequence[Mapping] = (),
    day=None,
    land: gpd.GeoDataFrame | None = None,
    settings: Settings | None = None,
) -> folium.Map:
    """How many approved units reach each DeSO within the limit (0, 1, 2, 3+).

    Parameters
    ----------
    deso
        ``deso, population, choices, geometry`` in EPSG:3006.
    areas
        ``id, name, geometry`` in EPSG:3006, drawn as outlines on top.
    minutes
        Defaults to ``settings.limit_minutes`` (used in the legend).

    Returns
    -------
    folium.Map
    """
    settings = settings or get_settings()
    minutes = settings.limit_minutes if minutes is None else minutes
    verify_metric(deso=deso, areas=areas)
    m = base_map(areas, land, settings)
    data = to_wgs84(deso[["deso", "population", "choices", "geometry"]])
    data["choices"] = data["choices"].astype(int)
    data["population"] = [style.population_text(v) for v in data["population"]]
    data["klass"] = [style.choice_class(c)[0] for c in data["choices"]]
    folium.GeoJson(
        data,
        name=style.LABELS["choices"],
        style_function=lambda f: {
            "fillColor": style.choice_class(f["properties"]["choices"])[1],
            "color": "#ffffff", "weight": 0.3, "fillOpacity": 0.75, "className": "asih-deso",
        },
        tooltip=folium.GeoJsonTooltip(
            fields=["deso", "klass", "population"],
            aliases=["DeSO", "Godkända enheter inom gränsen", style.LABELS["population"]],
        ),
    ).add_to(m)
    area_layer(areas, name=style.LABELS["areas"], fill_opacity=0.0, weight=2.0, edge="#333333").add_to(m)
    title = style.TITLES["choice"].format(minutes=minutes)
    _titled(m, f"{title} ({style.title_basis(profile, day)})")
    Legend([(style.choice_legend_title(minutes), [(swatch(c), label) for _, label, c in style.CHOICE_CLASSES]),
            _caveats(style.caveat_lines(profile=profile or "free_flow", minutes=minutes, bases=bases))]).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m


def lookup_map(
    result: Mapping,
    bases: Sequence[Mapping],
    areas: gpd.GeoDataFrame,
    *,
    land: gpd.GeoDataFrame | None = None,
    settings: Settings | None = None,
) -> folium.Map:
    """A looked-up point, its area, and the approved units' bases with their drive times.

    Parameters
    ----------
    result
        The lookup answer: ``{query: {precision, matched, lat, lon}, area: {id, name, border_warning},
        eligible: [{unit, organisation, drive_time_s, within_limit, base_precision, capacity_note}],
        reachable_not_approved: [...], warnings: [...]}``.
    bases
        All provider bases (see ``flatten_bases``); those of the listed units are drawn.
    areas
        ``id, name, geometry`` in EPSG:3006.

    Returns
    -------
    folium.Map
    """
    verify_metric(areas=areas)
    query = result.get("query") or {}
    area = result.get("area") or {}
    m = base_map(areas, land, settings, fit=False)
    area_layer(areas, name=style.LABELS["areas"], fill_opacity=0.1).add_to(m)
    if area.get("id") is not None:
        hit = areas[areas["id"].astype(int) == int(area["id"])]
        area_layer(hit, name=area.get("name") or "Område", fill_opacity=0.35, weight=3,
                    edge=style.APPROVED_EDGE, labels=False).add_to(m)
    point = (float(query["lat"]), float(query["lon"])) if query.get("lat") is not None else None
    drawn = [point] if point is not None else []
    groups = [("eligible", style.ELIGIBLE_COLOUR), ("reachable_not_approved", style.REACH_NOT_APPROVED)]
    for key, colour in groups:
        group = folium.FeatureGroup(name=style.LABELS[key])
        for item in result.get(key) or []:
            unit_bases = [b for b in bases if b.get("unit") == item.get("unit")]
            _lookup_unit(group, item, unit_bases, point, colour)
            drawn += [(float(b["lat"]), float(b["lon"])) for b in unit_bases]
        group.add_to(m)
    if point is not None:
        marker = folium.CircleMarker(point, radius=8, color="#ffffff", weight=3, fill=True,
                                     fill_color=style.POINT_COLOUR, fill_opacity=1.0)
        marker.options["pane"] = BASES_PANE
        if area.get("id") is not None:
            where = style.area_label(area["id"], area.get("name", ""))
        elif area.get("status") == "uncertain":
            where = "kan inte avgöras: " + " eller ".join(str(a["id"]) for a in area.get("possible") or [])
        else:
            where = "utanför länet"
        rows = [("Precision", query.get("precision")), ("Område", where)]
        if area.get("border_warning"):
            rows.append((style.LABELS["border_warning"], "ja"))
        for warning in result.get("warnings") or []:
            rows.append((style.LABELS["warnings"], style.warning_text(warning)))
        Popup(table_html(rows, style.LABELS["point"])).add_to(marker)
        marker.add_to(m)
    if drawn:
        lats, lons = [p[0] for p in drawn], [p[1] for p in drawn]
        m.fit_bounds([[min(lats), min(lons)], [max(lats), max(lons)]], padding=(40, 40), max_zoom=13)
    Title(style.TITLES["lookup"]).add_to(m)
    Legend([
        ("", [(swatch(style.POINT_COLOUR, "#fff", "circle"), style.LABELS["point"]),
              (swatch("", style.ELIGIBLE_COLOUR, "line"), "Godkänd, inom gränsen"),
              (swatch("", style.NOT_ELIGIBLE_COLOUR, "line"), "Godkänd, utanför gränsen"),
              (swatch("", style.REACH_NOT_APPROVED, "line"), style.LABELS["reachable_not_approved"])]),
        precision_legend(),
    ]).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m


def _lookup_unit(group, item: Mapping, unit_bases: Sequence[Mapping], point, colour: str) -> None:
    minutes = style.unit_time_text(item)
    within = item.get("within_limit")
    line_colour = colour if (within or colour != style.ELIGIBLE_COLOUR) else style.NOT_ELIGIBLE_COLOUR
    text = f"{item.get('unit')}: {minutes}" + ("" if within is None else (" (inom gränsen)" if within else " (över gränsen)"))
    for base in unit_bases:
        marker = base_marker(base)
        Tooltip(text).add_to(marker)
        marker.add_to(group)
    nearest = _nearest(unit_bases, point, item.get("base"))
    if point is not None and nearest is not None:
        line = folium.PolyLine([(nearest["lat"], nearest["lon"]), point], color=line_colour, weight=3,
                               opacity=0.8, dash_array=None if within else "6 5")
        line.options["pane"] = LINES_PANE  # folium's path options drop `pane`
        Tooltip(text).add_to(line)
        line.add_to(group)


def _nearest(unit_bases: Sequence[Mapping], point, name: str | None) -> Mapping | None:
    named = [b for b in unit_bases if name and b.get("name") == name]
    if named:
        return named[0]
    if not unit_bases or point is None:
        return None
    return min(unit_bases, key=lambda b: (b["lat"] - point[0]) ** 2 + ((b["lon"] - point[1]) * 0.5) ** 2)

