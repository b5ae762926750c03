"""Batch lookups: many rows (addresses or coordinates) in, one result or one reason per row out.

Used by ``POST /v1/lookup/batch`` and ``asih batch``. A failing row never stops the batch.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from api.service import Service
from geo.geocode import Ambiguous, GeocodeError

ADDRESS_COLUMNS = ("address", "adress", "query")


class BatchInputError(ValueError):
    """The batch input as a whole cannot be read (not a row-level problem)."""


@dataclass(frozen=True)
class BatchRow:
    """One input row: an address, or coordinates (degrees)."""

    address: str | None = None
    lat: float | None = None
    lon: float | None = None


def rows_from_csv(text: str) -> list[BatchRow]:
    """Parse CSV text: a header with ``address`` (or ``lat`` and ``lon``), or one address per line without header."""
    if "\x00" in text:
        raise BatchInputError("The CSV contains binary data.")
    sample = text.splitlines()[:1]
    header = [h.strip().lower() for h in next(csv.reader(sample), [])] if sample else []
    reader = csv.reader(io.StringIO(text))
    if any(h in ADDRESS_COLUMNS for h in header) or {"lat", "lon"} <= set(header):
        next(reader)
        return [_row(header, values) for values in reader if any(v.strip() for v in values)]
    return [BatchRow(address=",".join(values)) for values in reader if any(v.strip() for v in values)]


def _row(header: list[str], values: list[str]) -> BatchRow:
    record = dict(zip(header, (v.strip() for v in values)))
    for col in ADDRESS_COLUMNS:
        if record.get(col):
            return BatchRow(address=record[col])
    try:
        return BatchRow(lat=float(record.get("lat", "")), lon=float(record.get("lon", "")))
    except ValueError:
        return BatchRow(address="")  # reported as an empty row


def run_batch(
    svc: Service, rows: Iterable[BatchRow], progress: Callable[[], None] | None = None
) -> Iterator[tuple[int, dict | None, str | None]]:
    """Yield ``(row number, result, error)`` for each row, numbered from 1."""
    for i, row in enumerate(rows, start=1):
        try:
            if row.address is not None:
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
