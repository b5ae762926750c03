"""Address registers: one reader per format, all yielding the same :class:`AddressPoint` in EPSG:3006 metres.

:func:`read_register` picks the reader by the file's suffix, so a new register is configuration only (a file name
in ``settings.address_files``):

- ``.gpkg``, ``.zip`` → :mod:`~geo.geocode.registers.lantmateriet` (Lantmäteriet belägenhetsadresser);
- ``.osm``, ``.osm.pbf``, ``.pbf``, ``.osm.gz``, ``.osm.bz2``, ``.o5m`` → :mod:`~geo.geocode.registers.osm`
  (``addr:*`` and named streets);
- ``.csv`` → :mod:`~geo.geocode.registers.csv` (plain or Skolverket-style columns, WGS84 lat/lon).

Rows whose ``source_id`` is in ``exclude_ids`` are left out: the geocoding benchmark's labelled rows
(:func:`load_exclude_ids`) must not be in the register it measures.
"""

from __future__ import annotations

import logging
from pathlib import Path

from geo.geocode.registers.csv import read_address_csv, read_rows, split_housenumber
from geo.geocode.registers.lantmateriet import read_lantmateriet
from geo.geocode.registers.osm import OSM_SUFFIXES, read_osm
from geo.geocode.registers.records import AddressPoint, SourceError, StreetLine

__all__ = [
    "AddressPoint", "StreetLine", "SourceError", "REGISTER_SUFFIXES", "read_register", "load_exclude_ids",
    "read_lantmateriet", "read_osm", "read_address_csv", "split_housenumber",
]  # fmt: skip

log = logging.getLogger(__name__)

LANTMATERIET_SUFFIXES = (".gpkg", ".zip")
CSV_SUFFIXES = (".csv",)
REGISTER_SUFFIXES = LANTMATERIET_SUFFIXES + OSM_SUFFIXES + CSV_SUFFIXES
EXCLUDE_COLUMN = "source_id"


def read_register(
    path: Path, exclude_ids: frozenset[str] = frozenset()
) -> tuple[list[StreetLine], list[AddressPoint]]:
    """Street lines and addresses of one register file, read by the reader its suffix calls for.

    Parameters
    ----------
    path : Path
        A register file; see the module docstring for the suffixes.
    exclude_ids : frozenset of str
        ``source_id`` values to leave out.

    Returns
    -------
    streets : list of StreetLine
        Named street pieces in EPSG:3006 metres (OSM files only; empty for the others).
    addresses : list of AddressPoint
        Addresses in EPSG:3006 metres, without the excluded ones.

    Raises
    ------
    SourceError
        When the suffix is not one of a register, or the file is missing or unreadable.
    """
    name = path.name.lower()
    streets: list[StreetLine] = []
    if name.endswith(LANTMATERIET_SUFFIXES):
        addresses = read_lantmateriet(path)
    elif name.endswith(OSM_SUFFIXES):
        streets, addresses = read_osm(path)
    elif name.endswith(CSV_SUFFIXES):
        addresses = read_address_csv(path)
    else:
        raise SourceError(
            f"Unsupported address register file type: {path.name} (use a Lantmäteriet .gpkg or .zip, "
            "an OSM .osm or .osm.pbf, or a .csv)."
        )
    if exclude_ids:
        kept = [a for a in addresses if a.source_id not in exclude_ids]
        log.info("%s: %d addresses excluded by source_id", path.name, len(addresses) - len(kept))
        addresses = kept
    return streets, addresses


def load_exclude_ids(path: Path | None) -> frozenset[str]:
    """The ``source_id`` values listed in a CSV file (e.g. the geocoding benchmark), to keep out of the register.

    Parameters
    ----------
    path : Path or None
        A comma- or semicolon-separated file with a ``source_id`` column. None or a missing file excludes nothing.

    Returns
    -------
    frozenset of str
        The non-empty ``source_id`` values, stripped.

    Raises
    ------
    SourceError
        When the file exists but has no ``source_id`` column.
    """
    if path is None or not path.exists():
        return frozenset()
    header, rows = read_rows(path)
    if EXCLUDE_COLUMN not in header:
        raise SourceError(
            f"The exclude file {path.name} has no {EXCLUDE_COLUMN!r} column (it has {', '.join(header)})."
        )
    return frozenset(v for v in (row.get(EXCLUDE_COLUMN, "").strip() for row in rows) if v)
