"""Approvals as of a date: the one source of "which unit is approved for which area" for every output.

The live registry (:class:`registry.service.RegistryService`) holds dated approval periods; an :class:`Approvals` is
what was in force on one calendar day in Stockholm, read once and then passed by value. Audits, reports, what-if,
base siting, choice maps, exports and lookups all read their approvals through one of these, so the same question
gets the same answer everywhere, and every output can name the day it is for (``day``).

A value, not a connection: hashable (a memo key for results), picklable (it travels to the heavy-work processes),
and it never touches the database again.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def today() -> date:
    """Today's date in Stockholm (approvals change at midnight Stockholm time, not UTC)."""
    return datetime.now(STOCKHOLM).date()


@dataclass(frozen=True)
class Approvals:
    """Each unit's approved areas on ``day`` (unit id → sorted area ids; units approved for nothing map to ``()``).

    ``source`` says what they were read from: ``"registry"`` (the live registry) or ``"file"`` (the providers file,
    only where no registry can be opened: a read-only tool on a copy of the data, or a server whose registry could
    not be read once since it started). ``read_at`` is when the registry was read (UTC; None for the file): while
    the database cannot be read, that of the last good read. It is not part of the value (equal approvals read at
    different times are equal, and share memoised results).
    """

    day: date
    by_unit: tuple[tuple[str, tuple[int, ...]], ...]
    source: str = "registry"
    read_at: datetime | None = field(default=None, compare=False)

    @classmethod
    def of(cls, day: date, approvals: dict[str, tuple[int, ...]], source: str = "registry",
           read_at: datetime | None = None) -> Approvals:
        """From :meth:`RegistryService.approvals_on`'s mapping."""
        return cls(day, tuple((u, tuple(sorted(int(a) for a in areas))) for u, areas in approvals.items()), source,
                   read_at)

    def as_dict(self) -> dict[str, tuple[int, ...]]:
        """Unit id → area ids."""
        return dict(self.by_unit)

    def apply(self, units):
        """A copy of a :class:`geo.providers.Registry` whose units' ``areas`` are these approvals.

        Units, bases and their order are unchanged, so the prepared drive-time trees still fit. A unit these
        approvals do not name keeps its areas from the file (the registry imports every unit of the file, so this
        happens only for a unit added to the file after the import).
        """
        return with_approvals(units, self.as_dict())

    def differs_from(self, other: Approvals) -> list[dict]:
        """Approvals that changed between ``other`` (before) and this (after): ``{"unit_id", "area_id", "change"}``
        with ``change`` ``"added"`` or ``"ended"``, in unit then area order."""
        before, after = other.as_dict(), self.as_dict()
        out = []
        for unit in dict.fromkeys([*before, *after]):
            old, new = set(before.get(unit, ())), set(after.get(unit, ()))
            out += [{"unit_id": unit, "area_id": a, "change": "added"} for a in sorted(new - old)]
            out += [{"unit_id": unit, "area_id": a, "change": "ended"} for a in sorted(old - new)]
        return out


def with_approvals(units, approvals: dict[str, tuple[int, ...]]):
    """A copy of a :class:`geo.providers.Registry` whose units' ``areas`` are ``approvals``; units not named keep
    their areas (see :meth:`Approvals.apply`)."""
    return replace(units, units=tuple(
        replace(u, areas=tuple(approvals[u.id])) if u.id in approvals else u for u in units.units))


def parse_day(text: str | None) -> date | None:
    """A ``YYYY-MM-DD`` date, or None for none given. Raises ``ValueError`` with a sentence for anything else
    (``0``, ``2026-13-01``, a timestamp)."""
    if text is None or text == "":
        return None
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"A date must be written YYYY-MM-DD (e.g. {today().isoformat()}).") from None
