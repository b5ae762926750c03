"""CLI commands: map (interactive HTML or static PNG/PDF), report (one-page PDF coverage report) and export
(GeoJSON / GeoPackage)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from api.cli.output import DATE_HELP, as_of_line, console, day_option, fail, get_settings

MAP_KINDS = ("overview", "unit", "choice", "lookup")
EXPORT_LAYERS = ("areas", "isochrones", "gaps", "choice")


ProfileOpt = Annotated[Optional[str], typer.Option(
    help="free_flow | typical | peak (rush_hour = peak); default the configured profile (ASIH_PROFILE, typical).")]
DateOpt = Annotated[Optional[str], typer.Option("--date", help=DATE_HELP)]


def _service(profile: str | None):
    from lookup.service import Service

    return Service.load(get_settings(), profile=profile, eager=False)


def _inputs(svc, kind: str, target: str | None, limit_s: float, approvals=None) -> dict:
    """The keyword inputs of the maps.* builders, from the prepared state and the approvals of a day."""
    from geo import boundaries
    from maps.layers import flatten_bases

    approvals = approvals or svc.approvals_on()
    areas = svc.areas.areas
    bases = flatten_bases([u.to_dict() for u in svc.registry_on(approvals).units])
    if kind == "overview":
        return {
            "areas": areas,
            "municipalities": boundaries.load_municipalities(svc.settings),
            "boroughs": boundaries.load_boroughs(svc.settings),
            "bases": bases,
        }
    if kind == "unit":
        unit = svc.registry_on(approvals).get(target)
        auditor = svc.auditor(limit_s, approvals)
        return {
            "unit": unit.to_dict(),
            "isochrone": svc.isochrone(unit.id, limit_s),
            "areas": areas,
            "gaps": auditor.gap_polygons(unit.id),
            "unreached": auditor.unreached_by_deso(unit.id),  # gaps are drawn by people, not land
            "minutes": round(limit_s / 60),
            "profile": svc.network.profile,
            "day": approvals.day,
        }
    if kind == "choice":
        from routing.choice import choice_layer

        return {"deso": choice_layer(svc.auditor(limit_s, approvals)), "areas": areas, "minutes": round(limit_s / 60),
                "profile": svc.network.profile, "bases": bases, "day": approvals.day}
    return {"result": svc.lookup(address=target, lang="sv", on=approvals.day), "bases": bases, "areas": areas}


def map_cmd(
    kind: Annotated[str, typer.Argument(help="overview | unit | choice | lookup")],
    target: Annotated[Optional[str], typer.Argument(help="The unit (for 'unit') or the address (for 'lookup').")] = None,
    out: Annotated[Path, typer.Option(help="Output: .html (interactive, offline) or .png / .pdf (static).")] = Path("map.html"),
    profile: ProfileOpt = None,
    limit_minutes: Annotated[Optional[float], typer.Option("--limit-minutes", help="Default 30.")] = None,
    on: DateOpt = None,
) -> None:
    """A map for planning meetings: the areas and bases, a unit's reach and gaps, patient choice, or a lookup; as
    of a day's approvals (default today) in the configured traffic profile (default typical)."""
    from geo.geocode import GeocodeError
    from geo.providers import UnknownUnit
    from maps.interactive import (
        choice_map,
        lookup_map,
        overview_map,
        save_html,
        unit_map,
    )
    from maps.static import render_static

    if kind not in MAP_KINDS:
        fail(f"Unknown map '{kind}': choose one of {', '.join(MAP_KINDS)}.")
    if kind in ("unit", "lookup") and not target:
        fail(f"'asih map {kind}' needs a {'unit' if kind == 'unit' else 'address'}.")
    suffix = out.suffix.lower()
    if suffix not in (".html", ".png", ".pdf"):
        fail(f"Write a map as .html, .png or .pdf, not '{out.suffix or 'no extension'}'.")
    day = day_option(on)
    svc = _service(profile)
    limit_s = (limit_minutes or svc.settings.limit_minutes) * 60
    approvals = svc.approvals_on(day)
    console.print(as_of_line(approvals.day, svc.network.profile))
    try:
        inputs = _inputs(svc, kind, target, limit_s, approvals)
    except UnknownUnit as exc:
        fail(str(exc))
    except GeocodeError as exc:
        fail(exc.user_message)
    if suffix == ".html":
        builder = {"overview": overview_map, "unit": unit_map, "choice": choice_map, "lookup": lookup_map}[kind]
        save_html(builder(**inputs, settings=svc.settings), out)
    else:
        render_static(kind, out, settings=svc.settings, **inputs)
    console.print(f"Map ({kind}) → {out}")


def report_cmd(
    target: Annotated[str, typer.Argument(help="A unit (id or name), or 'county' for the whole county.")],
    out: Annotated[Path, typer.Option(help="Output: .pdf (A4), or .png to look at it.")] = Path("report.pdf"),
    map_profile: Annotated[Optional[str], typer.Option("--map-profile", help="Traffic the map and headline show: "
                                                       "free_flow | typical | peak (the tables show all three); "
                                                       "default the configured profile.")] = None,
    limit_minutes: Annotated[Optional[float], typer.Option("--limit-minutes", help="Default 30.")] = None,
    on: DateOpt = None,
) -> None:
    """A one-page coverage report for a planning meeting (Swedish): the map, the figures under free flow, typical
    and peak traffic side by side, and what they rest on."""
    from geo.providers import UnknownUnit
    from maps.report import ReportError, county_report, unit_report
    from routing.audit import AUDIT_PROFILES, profile_auditors

    map_profile = map_profile or get_settings().profile
    if map_profile not in AUDIT_PROFILES:
        fail(f"--map-profile must be one of {', '.join(AUDIT_PROFILES)}, not '{map_profile}'.")
    if out.suffix.lower() not in (".pdf", ".png"):
        fail(f"Write a report as .pdf (or .png to look at it), not '{out.suffix or 'no extension'}'.")
    day = day_option(on)
    svc = _service(None)
    approvals = svc.approvals_on(day)
    console.print(as_of_line(approvals.day, map_profile))
    auditors = profile_auditors(svc.auditor(limit_minutes * 60 if limit_minutes else None, approvals))
    try:
        if target.strip().lower() in ("county", "län", "lan", "hela länet"):
            path = county_report(auditors, out, map_profile=map_profile)
        else:
            path = unit_report(auditors, target, out, map_profile=map_profile)
    except (UnknownUnit, ReportError) as exc:
        fail(str(exc))
    console.print(f"Report → {path}")


def export_cmd(
    layer: Annotated[str, typer.Argument(help="areas | isochrones | gaps | choice")],
    out: Annotated[Path, typer.Option(help="Output: .geojson (EPSG:4326) or .gpkg (EPSG:3006).")] = Path("layer.gpkg"),
    profile: ProfileOpt = None,
    limit_minutes: Annotated[Optional[float], typer.Option("--limit-minutes", help="Default 30.")] = None,
    on: DateOpt = None,
) -> None:
    """Export a GIS layer for the region's analysts; every feature carries the approvals' day and the profile."""
    import geopandas as gpd

    from core.settings import METRIC_CRS
    from maps.export import export_layer
    from routing.choice import choice_layer

    if layer not in EXPORT_LAYERS:
        fail(f"Unknown layer '{layer}': choose one of {', '.join(EXPORT_LAYERS)}.")
    if out.suffix.lower() not in (".geojson", ".gpkg"):
        fail(f"Export as .geojson or .gpkg, not '{out.suffix or 'no extension'}'.")
    day = day_option(on)
    svc = _service(profile)
    limit_s = (limit_minutes or svc.settings.limit_minutes) * 60
    approvals = svc.approvals_on(day)
    console.print(as_of_line(approvals.day, svc.network.profile))
    units = svc.registry_on(approvals).units
    if layer == "areas":
        summary = svc.areas.summary()
        gdf = gpd.GeoDataFrame(
            summary.assign(
                municipalities=summary["municipalities"].map(", ".join),
                districts=summary["districts"].map(", ".join),
            ),
            geometry=svc.areas.areas.geometry.values,
            crs=METRIC_CRS,
        )
    elif layer == "isochrones":
        gdf = gpd.GeoDataFrame(
            {
                "unit_id": [u.id for u in units],
                "unit": [u.unit for u in units],
                "minutes": limit_s / 60,
                "profile": svc.network.profile,
                "base_precision": [u.precision for u in units],
            },
            geometry=[svc.isochrone(u.id, limit_s) for u in units],
            crs=METRIC_CRS,
        )
    elif layer == "gaps":
        auditor = svc.auditor(limit_s, approvals)
        gdf = gpd.GeoDataFrame(
            gpd.pd.concat([auditor.gap_polygons(u.id) for u in units], ignore_index=True), crs=METRIC_CRS
        )
    else:
        gdf = choice_layer(svc.auditor(limit_s, approvals))
    if layer != "areas":
        gdf = gdf.assign(approvals_date=approvals.day.isoformat(), profile=svc.network.profile)
    export_layer(gdf, out, layer=layer)
    console.print(f"{layer}: {len(gdf)} features → {out}")


COMMANDS = {"map": map_cmd, "report": report_cmd, "export": export_cmd}
