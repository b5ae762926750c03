"""The geocoder's raw sources: what to read (from settings) and the readers that are not address registers.

- address registers: :func:`address_files` lists them from settings; :func:`read_addresses` reads each with
  :func:`geo.geocode.registers.read_register` (Lantmäteriet ``.gpkg``/``.zip``, OSM ``addr:*``, CSV), all as
  :class:`AddressPoint` in EPSG:3006 metres. ``read_osm``, ``read_address_csv``, ``AddressPoint``, ``StreetLine``
  and ``SourceError`` are re-exported from there;
- street lines: OSMnx edge files (a ``.tar.gz``/``.tar``/``.zip`` or a directory with ``edges.shp``, or a
  GeoPackage with an ``edges`` layer; any CRS, reprojected to EPSG:3006) and named ``highway`` ways of OSM files;
- postcodes: a GeoNames postal-code dump (tab-separated, no header; WGS84 degrees), and a postcode → municipality
  table without points (:func:`read_postcode_municipalities`; CSV ``postal_code, locality, municipality_code``).

Adding a county ``.osm.pbf``, a Lantmäteriet delivery or an address CSV is configuration only: list it in
``settings.address_files`` (several files separated by ";").
"""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd
import pyogrio
import shapely

from geo.geocode.registers import (
    AddressPoint,
    SourceError,
    StreetLine,
    load_exclude_ids,
    read_address_csv,
    read_osm,
    read_register,
)
from geo.geocode.registers.osm import OSM_SUFFIXES
from core.settings import METRIC_CRS, Settings

__all__ = [
    "AddressPoint", "StreetLine", "SourceError", "address_files", "load_exclude_ids", "read_addresses",
    "read_address_csv", "read_osm", "read_postcode_municipalities", "read_postcodes", "read_register",
    "read_street_network",
]  # fmt: skip

POSTCODE_COLUMNS = [
    "country", "postcode", "place", "admin1", "admin1code", "admin2", "admin2code", "admin3", "admin3code",
    "lat", "lon", "accuracy",
]  # fmt: skip


def address_files(settings: Settings) -> list[Path]:
    """The address register files to index, in ``settings.data_dir``.

    ``settings.address_files`` split on ';' (blank entries ignored); settings without that field fall back to
    ``address_osm_file``, split the same way.
    """
    names = getattr(settings, "address_files", None)
    if names is None:
        names = getattr(settings, "address_osm_file", None) or ""
    return [settings.raw(n.strip()) for n in str(names).split(";") if n.strip()]


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


def read_addresses(
    paths: list[Path], exclude_ids: frozenset[str] = frozenset()
) -> tuple[list[StreetLine], list[AddressPoint]]:
    """Street lines and addresses of every register file (see :func:`address_files`), in EPSG:3006 metres.

    Parameters
    ----------
    paths : list of Path
        Register files, each read by :func:`geo.geocode.registers.read_register` according to its suffix.
    exclude_ids : frozenset of str
        ``source_id`` values to leave out (see :func:`geo.geocode.registers.load_exclude_ids`).

    Returns
    -------
    streets : list of StreetLine
    addresses : list of AddressPoint
        In the order of ``paths``.
    """
    streets: list[StreetLine] = []
    addresses: list[AddressPoint] = []
    for path in paths:
        more_streets, more_addresses = read_register(path, exclude_ids)
        streets += more_streets
        addresses += more_addresses
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


POSTCODE_TABLE_COLUMNS = ("postal_code", "locality", "municipality_code")
"""Columns :func:`read_postcode_municipalities` needs (others, such as ``municipality_name``, are ignored)."""


def read_postcode_municipalities(path: Path) -> dict[str, tuple[str, str]]:
    """A postcode → municipality table: {"17177": ("0184", "Stockholm")} (SCB code, postal town).

    Parameters
    ----------
    path : Path
        CSV with a header naming at least :data:`POSTCODE_TABLE_COLUMNS`: ``postal_code`` (5 digits; a space as in
        "171 77" is allowed), ``locality`` (the postal town) and ``municipality_code`` (4 digits, read as text so
        "0184" keeps its zero; a code that lost it, "184", is padded).

    Returns
    -------
    dict
        Postcode key → (municipality code, postal town). Rows without a 5-digit postcode or a 4-digit code are
        skipped; a postcode listed twice with different municipalities is left out (the table cannot decide it).

    Raises
    ------
    SourceError
        When the file is missing, lacks a column, or has no usable row.
    """
    if not path.exists():
        raise SourceError(f"Postcode table not found: {path}.")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (ValueError, UnicodeDecodeError) as exc:
        raise SourceError(f"Cannot read the postcode table {path.name}: {exc}") from exc
    missing = [c for c in POSTCODE_TABLE_COLUMNS if c not in df.columns]
    if missing:
        raise SourceError(f"The postcode table {path.name} has no column {', '.join(missing)}.")
    keys = df["postal_code"].str.replace(" ", "", regex=False).str.strip()
    codes = df["municipality_code"].str.strip().str.zfill(4)
    ok = keys.str.fullmatch(r"\d{5}") & codes.str.fullmatch(r"\d{4}")
    table = pd.DataFrame({"key": keys[ok], "code": codes[ok], "town": df["locality"][ok].str.strip()})
    conflicting = set(table.groupby("key")["code"].nunique().loc[lambda n: n > 1].index)
    table = table[~table["key"].isin(conflicting)].drop_duplicates("key")
    if table.empty:
        raise SourceError(f"No usable row in the postcode table {path.name}.")
    return {k: (c, t) for k, c, t in zip(table["key"], table["code"], table["town"])}


def _names(value: object) -> list[str]:
    """OSMnx writes merged edges' names as "['A', 'B']"; return every name."""
    text = str(value).strip()
    if text.startswith("[") and text.endswith("]"):
        try:
            return [str(n).strip() for n in ast.literal_eval(text) if str(n).strip()]
        except (ValueError, SyntaxError):
            return [text.strip("[]'\" ")]
    return [text] if text else []
