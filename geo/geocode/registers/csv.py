"""Address CSV files: the escape hatch for any list of addresses with WGS84 points.

Two schemas, told apart by the header (names are case-insensitive; the first alias present is used):

- plain: ``street``, ``housenumber`` (or ``number``), ``postcode``, ``city`` (or ``town``), ``lat``, ``lon``;
  optional ``source_id``, ``municipality_code``.
- Skolverket-style (``stockholm-county-address-points-2025.csv``): ``source, source_id, name, street, postcode,
  postal_town, municipality_code, municipality, stadsdelsomrade, lat, lon, border_distance_m``, where ``street``
  holds street and number together ("Drabantgatan 3-5"); :func:`split_housenumber` takes the number off.

``lat``/``lon`` are WGS84 degrees, projected to EPSG:3006 metres. Comma-, semicolon- (Swedish Excel, where a decimal
comma is also accepted) or tab-separated, UTF-8 with or without BOM, or Windows-1252. The record's ``source`` is the
row's ``source`` value when the file has that column, else "csv".

Skipped and counted (logged): rows whose lat/lon are not numbers in range (or 0, 0), rows without a street, rows
whose number cannot be told (no number: a school named "Runmarö Skola" or a bare street name is not an address
point on that street; several streets in one field). A file with no usable row raises :class:`SourceError`.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import re
import unicodedata
from collections import Counter
from dataclasses import replace
from pathlib import Path

from core.crs import to_metric
from geo.geocode.registers.records import (
    AddressPoint,
    SourceError,
    clean_municipality_code,
    clean_postcode,
    clean_text,
)

log = logging.getLogger(__name__)

SOURCE = "csv"
COLUMNS = {
    "street": ("street",),
    "number": ("housenumber", "number", "house_number"),
    "postcode": ("postcode", "postnummer"),
    "city": ("city", "town", "postal_town", "postort"),
    "lat": ("lat", "latitude"),
    "lon": ("lon", "lng", "longitude"),
    "municipality_code": ("municipality_code", "kommunkod"),
    "source": ("source",),
    "source_id": ("source_id",),
}
"""Column aliases by role; street, lat and lon are required."""
DELIMITERS = (",", ";", "\t")

# "Drabantgatan 3-5", "Idunsväg17", "Gustav III:s väg 2-10": the street ends with its last letter before a digit.
_STREET = re.compile(r"^(?P<street>.*?[^\W\d_][.:]?)\s*,?\s*(?P<rest>\d.*)$")
# "Vendelsö Alle´ 28": an acute typed as a spacing accent after its letter is that letter's é.
_SPACING_ACUTE = re.compile(r"([^\W\d_])´")
_LETTER = r"\s?[a-z](?![a-z])"
_NUMBER = re.compile(
    rf"""(?P<n1>\d{{1,5}})
    (?: \s?(?P<l1>[a-z])\s*(?:-|–|&|\boch\b)\s*(?P<l2>[a-z])(?![a-z])        # 36 B-C, 58 A och B
      | (?P<list>(?:{_LETTER})?(?:\s*(?:&|\+|\boch\b)\s*\d{{1,5}}(?:{_LETTER})?)+)  # 5&11, 2 och 4, 19+22
      | \s*[-–]\s*(?P<n2>\d{{1,5}})(?!\d)                                    # 3-5, 203 - 205
      | (?P<letter>{_LETTER})                                               # 44B, 44 b
    )?
    (?P<tail>.*)$""",
    re.IGNORECASE | re.VERBOSE,
)
# What may follow the number and is dropped: floors (3 tr, plan 7), entrances (nb = nedre botten, bv =
# bottenvåning, th/tv = till höger/vänster, entré A1, hus D, G-huset) and a stray letter after a range.
_TAIL_TOKEN = r"(?:n\.?b\.?|bv|th|tv|\d+\s*tr\.?|plan\s*\d+|entr[eé]\s*\w+|hus\s*\w+|\w+-huset|[a-z])(?![a-z])"
_TAIL = re.compile(rf"^(?:[\s,.;]*{_TAIL_TOKEN})*[\s,.;]*$", re.IGNORECASE)


def read_address_csv(path: Path) -> list[AddressPoint]:
    """Addresses of a CSV file in either schema (see the module docstring); points in EPSG:3006.

    Parameters
    ----------
    path : Path
        A ``.csv`` file with WGS84 ``lat``/``lon`` columns (degrees).

    Returns
    -------
    list of AddressPoint
        ``x``/``y`` in EPSG:3006 metres, ``postcode`` five digits or None; in file order.

    Raises
    ------
    SourceError
        When the file is missing, lacks a street/lat/lon column, or has no usable row.
    """
    header, rows, delimiter = _table(path)
    columns = {role: next((c for c in names if c in header), None) for role, names in COLUMNS.items()}
    missing = [role for role in ("street", "lat", "lon") if columns[role] is None]
    if missing:
        raise SourceError(
            f"The address file {path.name} lacks the column(s) {', '.join(missing)} "
            f"(it has {', '.join(header)})."
        )
    decimal_comma = delimiter != ","
    split = columns["number"] is None

    def get(row: dict[str, str], role: str) -> str:
        return clean_text(row.get(columns[role] or "", ""))

    out = []
    skipped: Counter[str] = Counter()
    lats, lons = [], []
    for row in rows:
        lat, lon = _degrees(get(row, "lat"), decimal_comma), _degrees(get(row, "lon"), decimal_comma)
        if not _valid(lat, lon):
            skipped["bad lat/lon"] += 1
            continue
        street, number = get(row, "street"), get(row, "number")
        if split:
            parts = split_housenumber(street)
            street, number = parts if parts else (street, "")
        if not street:
            skipped["no street"] += 1
            continue
        if not number:
            skipped["no house number"] += 1
            continue
        out.append(
            AddressPoint(
                street, number, clean_postcode(get(row, "postcode")), get(row, "city") or None, 0.0, 0.0,
                municipality_code=clean_municipality_code(get(row, "municipality_code")),
                source=get(row, "source") or SOURCE, source_id=get(row, "source_id") or None,
            )
        )  # fmt: skip
        lats.append(lat)
        lons.append(lon)
    if not out:
        raise SourceError(f"No usable address in {path.name} (skipped: {dict(skipped) or 'no rows'}).")
    xs, ys = to_metric(lats, lons)
    out = [replace(a, x=float(x), y=float(y)) for a, x, y in zip(out, xs, ys)]
    log.info("%s: %d addresses read; skipped %s", path.name, len(out), dict(skipped) or "none")
    return out


def split_housenumber(text: str) -> tuple[str, str] | None:
    """Split "street number" as a register writes it into (street, house number), or None when no number is clear.

    Parameters
    ----------
    text : str
        E.g. "Drabantgatan 3-5", "Odlingsvägen 36 B-C", "Bersåstigen 2 Och 4", "Rudsjöterrassen 1, 3 tr".

    Returns
    -------
    tuple of (str, str) or None
        ("Drabantgatan", "3-5"), ("Odlingsvägen", "36B-C"), ("Bersåstigen", "2;4"), ("Rudsjöterrassen", "1"):
        ranges keep OSM's "a-b" form, lists OSM's "a;b", letters are upper case, floors and entrances are dropped.
        None for a bare name ("Brunnsgatan", "Runmarö Skola") or several addresses ("Surbrunnsg 64/Norrtullsg 12j").
    """
    text = _SPACING_ACUTE.sub(lambda m: unicodedata.normalize("NFC", m[1] + "\u0301"), " ".join(text.split()))
    street_match = _STREET.match(text)
    if not street_match:
        return None
    match = _NUMBER.match(street_match["rest"])
    if not match or not _TAIL.match(match["tail"]):
        return None
    number = match["n1"]
    if match["l1"]:
        number += f"{match['l1']}-{match['l2']}".upper()
    elif match["list"]:
        items = [number] + re.findall(r"\d{1,5}(?:\s?[a-z](?![a-z]))?", match["list"], re.IGNORECASE)
        number = ";".join(item.replace(" ", "").upper() for item in items)
    elif match["n2"]:
        number += f"-{match['n2']}"
    elif match["letter"]:
        number += match["letter"].strip().upper()
    return street_match["street"].strip(), number


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The header (stripped, lower case) and rows of a comma-, semicolon- or tab-separated text file.

    Parameters
    ----------
    path : Path
        UTF-8 (with or without BOM) or Windows-1252 text; the delimiter is the one the header line uses most.

    Returns
    -------
    header : list of str
    rows : list of dict
        One dict per data row, keyed by the header names.

    Raises
    ------
    SourceError
        When the file is missing or empty.
    """
    header, rows, _ = _table(path)
    return header, rows


def _table(path: Path) -> tuple[list[str], list[dict[str, str]], str]:
    if not path.exists():
        raise SourceError(f"File not found: {path}.")
    text = _text(path)
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise SourceError(f"The file {path.name} is empty.") from None
    rows = [dict(zip(header, values)) for values in reader if any(v.strip() for v in values)]
    return header, rows, delimiter


def _text(path: Path) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252")  # Swedish Excel's "CSV (semikolonavgränsad)" on Windows


def _delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    return max(DELIMITERS, key=first.count)


def _degrees(value: str, decimal_comma: bool) -> float:
    try:
        return float(value.replace(",", ".") if decimal_comma else value)
    except ValueError:
        return math.nan


def _valid(lat: float, lon: float) -> bool:
    return (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180
            and (lat, lon) != (0.0, 0.0))  # fmt: skip
