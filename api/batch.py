"""Batch lookups: many rows (addresses or coordinates) in, one result or one reason per row out.

Used by ``POST /v1/lookup/batch`` and ``asih batch``. A failing row never stops the batch.

CSV as spreadsheets write it: a byte-order mark, CR/LF, LF or CR-only line ends, and ``,`` or ``;`` between fields
(Swedish Excel writes ``;`` and decimal commas) are all read; the separator is told by the header line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from lookup.service import Service
from geo.geocode import Ambiguous, GeocodeError

ADDRESS_COLUMNS = ("address", "adress", "query")
SEPARATORS = (";", ",")
"""Field separators tried on the header line; ';' first (Swedish Excel's), ',' otherwise."""
MAX_FIELD_CHARS = 131_072
"""A field longer than this (Python's csv default limit) makes its row fail, not the batch."""


class BatchInputError(ValueError):
    """The batch input as a whole cannot be read (not a row-level problem)."""


@dataclass(frozen=True)
class BatchRow:
    """One input row: an address, or coordinates (degrees), or why the row could not be read."""

    address: str | None = None
    lat: float | None = None
    lon: float | None = None
    error: str | None = None


def rows_from_csv(text: str) -> list[BatchRow]:
    """Parse CSV text: a header with ``address`` (or ``lat`` and ``lon``), or one address per line without header.

    The separator (``;`` or ``,``) is the one that splits the header line into known column names; without a header
    every line is one address. A row that cannot be read (a field over ``MAX_FIELD_CHARS``) carries an ``error``.
    """
    if "\x00" in text:
        raise BatchInputError("The CSV contains binary data.")
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    first = next((line for line in text.split("\n") if line.strip()), "")
    sep, header = _header(first)
    if header is None:
        return [BatchRow(address=",".join(values)) if error is None else BatchRow(error=error)
                for values, error in _records(text, ",")]
    records = _records(text, sep)
    next(records, None)
    return [_row(header, values, sep) if error is None else BatchRow(error=error) for values, error in records]


def _header(line: str) -> tuple[str, list[str] | None]:
    for sep in SEPARATORS:
        try:
            names = [h.strip().lower() for h in next(csv.reader([line], delimiter=sep), [])]
        except csv.Error:
            continue
        if any(h in ADDRESS_COLUMNS for h in names) or {"lat", "lon"} <= set(names):
            return sep, names
    return ",", None


def _records(text: str, sep: str) -> Iterator[tuple[list[str], str | None]]:
    """Non-empty CSV records, or a sentence for a record that cannot be read; reading goes on after it."""
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    limit = csv.field_size_limit()
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error:
            yield [], (f"The row could not be read as CSV (a field longer than {min(limit, MAX_FIELD_CHARS):,} "
                       "characters, or a broken quote).")
            continue
        if any(v.strip() for v in values):
            yield values, None


def _row(header: list[str], values: list[str], sep: str) -> BatchRow:
    record = dict(zip(header, (v.strip() for v in values)))
    for col in ADDRESS_COLUMNS:
        if record.get(col):
            return BatchRow(address=record[col])
    try:
        lat, lon = record.get("lat", ""), record.get("lon", "")
        if sep == ";":  # decimal commas ("59,3148") come with ';' separators
            lat, lon = lat.replace(",", "."), lon.replace(",", ".")
        return BatchRow(lat=float(lat), lon=float(lon))
    except ValueError:
        return BatchRow(address="")  # reported as an empty row


def run_batch(
    svc: Service, rows: Iterable[BatchRow], progress: Callable[[], None] | None = None
) -> Iterator[tuple[int, dict | None, str | None]]:
    """Yield ``(row number, result, error)`` for each row, numbered from 1."""
    for i, row in enumerate(rows, start=1):
        try:
            if row.error is not None:
                yield i, None, row.error
            elif row.address is not None:
                yield i, svc.lookup_text(row.address), None
            else:
                yield i, svc.lookup_point(row.lat, row.lon), None
        except Ambiguous as exc:
            labels = "; ".join(c.matched for c in exc.candidates[:5])
            yield i, None, f"{exc.user_message} Candidates: {labels}"
        except GeocodeError as exc:
            yield i, None, exc.user_message
        except ValueError as exc:
            yield i, None, str(exc)
        finally:
            if progress:
                progress()
