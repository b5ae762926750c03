"""Plain values of the registry: the forms the change log and the API show, the checks of what a writer sends, and
the free-places report as kept between reads. Used by :mod:`registry.service`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import NamedTuple

from registry.errors import Invalid
from registry.models import Approval, AvailabilityReport, User

MAX_FREE_PLACES = 1000
MAX_NOTE_CHARS = 200


class Report(NamedTuple):
    """A free-places report as kept between reads (a plain value, not a database row)."""

    unit_id: str
    free_places: int
    note: str | None
    reported_at: datetime

    @classmethod
    def of(cls, r: AvailabilityReport) -> Report:
        return cls(r.unit_id, r.free_places, r.note, r.reported_at)


# -- plain forms (what the change log and the API show) -------------------------------------------------------------
def report_form(r: AvailabilityReport | None) -> dict | None:
    if r is None:
        return None
    return {"report_id": r.id, "free_places": r.free_places, "note": r.note, "reported_at": iso(r.reported_at),
            "reported_by": r.reported_by}


def approval_form(a: Approval) -> dict:
    return {"id": a.id, "unit_id": a.unit_id, "area_id": a.area_id, "valid_from": day(a.valid_from),
            "valid_to": day(a.valid_to), "withdrawn": empty(a.valid_from, a.valid_to)}


def user_form(u: User, prefixes: list[str]) -> dict:
    return {"id": u.id, "name": u.name, "role": u.role, "units": sorted(x.unit_id for x in u.units),
            "created_at": iso(u.created_at), "revoked_at": iso(u.revoked_at), "token_prefixes": prefixes}


def iso(t: datetime | None) -> str | None:
    return None if t is None else t.astimezone(UTC).isoformat(timespec="seconds")


def day(d: date | None) -> str | None:
    return None if d is None else d.isoformat()


def empty(start: date | None, end: date | None) -> bool:
    return start is not None and end is not None and end < start


def overlaps(a_from, a_to, b_from, b_to) -> bool:
    if empty(a_from, a_to) or empty(b_from, b_to):
        return False
    return (a_from is None or b_to is None or a_from <= b_to) and (b_from is None or a_to is None or b_from <= a_to)


def span(start: date | None, end: date | None) -> str:
    return f"from {start or 'the start of the records'} to {end or 'further notice'}"


def plausible_id(value, max_chars: int = 80) -> bool:
    """Whether ``value`` may be an id at all (text of printable characters): others never reach the database,
    which for PostgreSQL would refuse a NUL character with an error rather than find nothing."""
    return isinstance(value, str) and 0 < len(value) <= max_chars and value.isprintable()


def names(unit_ids: Iterable[str]) -> str:
    return ", ".join(f"'{u}'" for u in sorted(unit_ids)) or "no unit"




def verify_free_places(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_FREE_PLACES:
        raise Invalid(f"free_places must be a whole number from 0 to {MAX_FREE_PLACES}.")
    return value


def verify_note(note) -> str | None:
    if note is None:
        return None
    if not isinstance(note, str):
        raise Invalid("note must be a text.")
    note = " ".join("".join(ch if ch.isprintable() else " " for ch in note).split())
    if len(note) > MAX_NOTE_CHARS:
        raise Invalid(f"note is longer than {MAX_NOTE_CHARS} characters.")
    return note or None
