"""Readers of the geocoder's raw sources. Each returns plain records in EPSG:3006 (metres) or WGS84 (degrees).

- street lines: OSMnx edge files (a ``.tar.gz``/``.tar``/``.zip`` or a directory with ``edges.shp``, or a
  GeoPackage with an ``edges`` layer) and named ``highway`` ways of OSM files;
- addresses: ``addr:street`` + ``addr:housenumber`` nodes and ways of OSM files (``.osm``, ``.osm.pbf``, ``.osm.gz``,
  ``.osm.bz2``; ways → centroid), or a CSV with columns ``street, housenumber, postcode, city, lat, lon``;
- postcodes: a GeoNames postal-code dump (tab-separated, no header).

Adding a county ``.osm.pbf`` or an address CSV is configuration only: list it in ``address_osm_file`` (several
files separated by ";") or, when settings gain it, ``address_files``.
"""

from __future__ import annotations

import ast
import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import shapely

from geo.crs import to_metric
from geo.settings import METRIC_CRS, Settings

OSM_SUFFIXES = (".osm", ".osm.pbf", ".pbf", ".osm.gz", ".osm.bz2", ".o5m")
POSTCODE_COLUMNS = [
    "country", "postcode", "place", "admin1", "admin1code", "admin2", "admin2code", "admin3", "admin3code",
    "lat", "lon", "accuracy",
]  # fmt: skip


class SourceError(RuntimeError):
    """A geocoder source file is missing or unreadable."""


@dataclass(frozen=True, slots=True)
class StreetLine:
    """A named street piece: ``coords`` is an (n, 2) array of EPSG:3006 x/y in metres."""

    name: str
    coords: np.ndarray


@dataclass(frozen=True, slots=True)
class AddressPoint:
    """One house number: ``x``/``y`` in EPSG:3006 metres; ``postcode`` as five digits or None."""

    street: str
    housenumber: str
    postcode: str | None
    city: str | None
    x: float
    y: float


def address_files(settings: Settings) -> list[Path]:
    """The address/OSM files to index: ``settings.address_files`` if defined, else ``address_osm_file`` split on ';'."""
    names = getattr(settings, "address_files", None)
    if names is None:
        names = [n.strip() for n in (settings.address_osm_file or "").split(";") if n.strip()]
    return [settings.raw(str(n)) for n in names]


def read_street_network(path: Path) -> list[StreetLine]:
    """Named edges of an OSMnx-saved network (EPSG as stored; reprojected to EPSG:3006)."""
    if not path.exists():
        raise SourceError(f"Street network file not found: {path}.")
    name = path.name.lower()
    if path.is_dir():
        uri = str(path / "edges.shp")
    elif name.endswith((".tar.gz", ".tgz", ".tar")):
        uri = f"/vsitar/{path}/edges.shp"
    elif name.endswith(".zip"):
        uri = f"/vsizip/{path}/edges.shp"
    elif name.endswith(".gpkg"):
        uri = str(path)
    elif name.endswith(OSM_SUFFIXES):
        return read_osm(path)[0]
    else:
        raise SourceError(f"Unsupported street network file type: {path.name}.")
    try:
        layer = {"layer": "edges"} if name.endswith(".gpkg") else {}
        edges = pyogrio.read_dataframe(uri, columns=["name"], **layer)
    except Exception as exc:  # pyogrio raises several types for broken files
        raise SourceError(f"Cannot read the street network {path.name}: {exc}") from exc
    edges = edges[edges["name"].notna() & edges.geometry.notna()].to_crs(METRIC_CRS)
    out = []
    for value, geom in zip(edges["name"], edges.geometry.values):
        for street in _names(value):
            for line in getattr(geom, "geoms", [geom]):
                out.append(StreetLine(street, shapely.get_coordinates(line)))
    return out


def read_osm(path: Path) -> tuple[list[StreetLine], list[AddressPoint]]:
    """Named ``highway`` ways and ``addr:*`` nodes/ways of an OSM file (.osm or .osm.pbf), in EPSG:3006."""
    import osmium  # only needed at build time

    if not path.exists():
        raise SourceError(f"OSM file not found: {path}.")
    lines: list[tuple[str, list[tuple[float, float]]]] = []
    raw_addresses: list[tuple[dict, list[tuple[float, float]], bool]] = []
    try:
        processor = (
            osmium.FileProcessor(str(path))
            .with_locations()
            .with_filter(osmium.filter.KeyFilter("addr:housenumber", "highway"))
        )
        for obj in processor:
            if obj.is_node():
                if "addr:housenumber" in obj.tags and obj.location.valid():
                    raw_addresses.append((dict(obj.tags), [(obj.location.lon, obj.location.lat)], False))
            elif obj.is_way():
                coords = [(n.lon, n.lat) for n in obj.nodes if n.location.valid()]
                if not coords:
                    continue
                if "addr:housenumber" in obj.tags:
                    raw_addresses.append((dict(obj.tags), coords, obj.is_closed()))
                if "highway" in obj.tags and "name" in obj.tags and len(coords) >= 2:
                    lines.append((obj.tags["name"], coords))
    except RuntimeError as exc:
        raise SourceError(f"Cannot read the OSM file {path.name}: {exc}") from exc
    streets = []
    for name, coords in lines:
        lon, lat = np.asarray(coords).T
        x, y = to_metric(lat, lon)
        streets.append(StreetLine(name.strip(), np.column_stack([x, y])))
    addresses = []
    for tags, coords, closed in raw_addresses:
        street = tags.get("addr:street")
        if not street:
            continue  # addr:place-only addresses (villages without street names) are not indexed yet
        lon, lat = _centroid(coords, closed)
        x, y = to_metric(lat, lon)
        addresses.append(
            AddressPoint(
                street.strip(), tags["addr:housenumber"], tags.get("addr:postcode"), tags.get("addr:city"), x, y
            )
        )
    return streets, addresses


def read_address_csv(path: Path) -> list[AddressPoint]:
    """Addresses from a CSV with columns ``street, housenumber, postcode, city, lat, lon`` (WGS84 degrees)."""
    if not path.exists():
        raise SourceError(f"Address file not found: {path}.")
    out = []
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            try:
                lat, lon = float(row["lat"]), float(row["lon"])
            except (KeyError, TypeError, ValueError):
                continue
            if row.get("street") and row.get("housenumber"):
                x, y = to_metric(lat, lon)
                out.append(
                    AddressPoint(row["street"].strip(), row["housenumber"], row.get("postcode"), row.get("city"), x, y)
                )
    return out


def read_addresses(paths: list[Path]) -> tuple[list[StreetLine], list[AddressPoint]]:
    """Street lines and addresses of every configured address/OSM file (see :func:`address_files`)."""
    streets: list[StreetLine] = []
    addresses: list[AddressPoint] = []
    for path in paths:
        if path.name.lower().endswith(".csv"):
            addresses += read_address_csv(path)
        elif path.name.lower().endswith(OSM_SUFFIXES):
            more_streets, more_addresses = read_osm(path)
            streets += more_streets
            addresses += more_addresses
        else:
            raise SourceError(f"Unsupported address file type: {path.name} (use .osm, .osm.pbf or .csv).")
    return streets, addresses


def read_postcodes(path: Path) -> pd.DataFrame:
    """GeoNames postcodes: columns of :data:`POSTCODE_COLUMNS` plus ``key`` ("11628"); lat/lon in degrees."""
    if not path.exists():
        raise SourceError(f"Postcode file not found: {path}.")
    df = pd.read_csv(path, sep="\t", header=None, names=POSTCODE_COLUMNS, dtype=str, keep_default_na=False)
    df["key"] = df["postcode"].str.replace(" ", "", regex=False)
    df["lat"] = pd.to_numeric(df["lat"], errors="coerce")
    df["lon"] = pd.to_numeric(df["lon"], errors="coerce")
    df = df[df["key"].str.fullmatch(r"\d{5}") & df["lat"].notna() & df["lon"].notna()]
    if df.empty:
        raise SourceError(f"No usable postcode in {path.name}.")
    return df.drop_duplicates("key").reset_index(drop=True)


def _names(value: object) -> list[str]:
    """OSMnx writes merged edges' names as "['A', 'B']"; return every name."""
    text = str(value).strip()
    if text.startswith("[") and text.endswith("]"):
        try:
            return [str(n).strip() for n in ast.literal_eval(text) if str(n).strip()]
        except (ValueError, SyntaxError):
            return [text.strip("[]'\" ")]
    return [text] if text else []


def _centroid(coords: list[tuple[float, float]], closed: bool) -> tuple[float, float]:
    """(lon, lat) of a building outline's centroid, or the mean of an open way's nodes."""
    if closed and len(coords) >= 4:
        polygon = shapely.Polygon(coords)
        if polygon.is_valid and polygon.area > 0:
            return polygon.centroid.x, polygon.centroid.y
    lon, lat = np.mean(np.asarray(coords), axis=0)
    return float(lon), float(lat)
