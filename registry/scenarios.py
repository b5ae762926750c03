"""Saved what-if scenarios: a contract manager's base changes for one unit, kept so that anyone can reopen and print
them.

A scenario is the body of ``POST /v1/whatif`` — a unit, its base moves, additions and removals, the day whose
approvals apply and the traffic profile — with a name, who saved it and when. The day and the profile are always
stored (the caller resolves "today" and the configured profile before saving), so a scenario gives the same figures
whenever it is reopened, as long as the approvals of that day and the prepared data stay as they were. Its figures
are never stored: they are computed again by the one what-if engine (:mod:`routing.live_whatif`).

Scenarios are immutable: the database refuses UPDATE and DELETE on them (triggers, migration 0002); a new save is a
new id. Every save is in the change log (action ``scenario.save``, entity ``scenario:ID``).

The stored body is checked here with the limits of the HTTP schema (``api.routes.whatif.WhatIfIn``): at most
:data:`~routing.live_whatif.MAX_CHANGES` changes, WGS84 coordinates in range, base indices the unit has, one change
per base, a base left. Whether a new position lies in the county needs the area model; the HTTP route checks that by
computing the what-if before it saves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, select

from core.crs import verify_lat_lon
from registry.actors import Actor, verify_role
from registry.asof import parse_day
from registry.db import read_session, write_session
from registry.errors import Invalid, NotFound
from registry.models import Change, Scenario, Unit
from registry.values import iso, plausible_id
from routing.live_whatif import MAX_CHANGES

MAX_NAME_CHARS = 120
"""The longest scenario name (characters, after spaces are collapsed)."""
PROFILES = ("free_flow", "typical", "peak")
"""The traffic profiles a scenario may name (those of ``WhatIfIn.profile``)."""
MAX_LISTED = 1000
"""The most scenarios one list returns."""
_MAX_ID = 2**31 - 1


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Scenarios:
    """The saved scenarios of one registry database.

    Parameters
    ----------
    engine
        The registry's engine (:attr:`registry.service.RegistryService.engine`), at the newest schema.
    clock
        ``() -> aware datetime``, for tests.
    """

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = _utcnow):
        self.engine = engine
        self.clock = clock

    @classmethod
    def of(cls, registry) -> Scenarios:
        """The scenarios of a :class:`registry.service.RegistryService` (its database and clock)."""
        return cls(registry.engine, registry.clock)

    def save(self, user: Actor, name: str, body: Mapping[str, Any]) -> dict:
        """Save a what-if under ``name``; returns the scenario as :meth:`get` gives it.

        Parameters
        ----------
        user
            A contract manager or an admin.
        name
            1 to 120 characters (spaces collapsed).
        body
            ``{"unit": id, "move": [{"base", "lat", "lon"}], "add": [{"lat", "lon"}], "remove": [index],
            "date": "YYYY-MM-DD", "profile": "free_flow" | "typical" | "peak"}``; ``move``, ``add`` and ``remove``
            may be left out (no change: the unit as it is).

        Raises
        ------
        Forbidden
            Not a contract manager or admin.
        NotFound
            No such unit.
        Invalid
            A name, date, profile or change out of range (the sentence names which).
        """
        verify_role(user, "contract_manager", "admin", what="save scenarios")
        name = _verify_name(name)
        if not isinstance(body, Mapping):
            raise Invalid("A scenario is a what-if body: unit, move, add, remove, date and profile.")
        unknown = sorted(set(body) - {"unit", "move", "add", "remove", "date", "profile"})
        if unknown:
            raise Invalid(f"A scenario has no field {', '.join(repr(k) for k in unknown)}.")
        with write_session(self.engine) as s:
            unit = _unit(s, body.get("unit"))
            changes = verify_changes(body, unit.name, len(unit.bases or []))
            day = _verify_day(body.get("date"))
            profile = _verify_profile(body.get("profile"))
            row = Scenario(name=name, unit_id=unit.id, approvals_date=day, profile=profile, changes=changes,
                           saved_at=self.clock(), saved_by=user.id, saved_by_name=user.name)
            s.add(row)
            s.flush()
            out = _form(row, unit.name)
            s.add(Change(at=row.saved_at, actor_id=user.id, actor=user.label, action="scenario.save",
                         entity=f"scenario:{row.id}", before=None, after=out))
        return out

    def get(self, scenario_id: int) -> dict:
        """One scenario: its metadata and ``whatif``, the body to send to ``POST /v1/whatif``. Raises
        :class:`NotFound`."""
        if isinstance(scenario_id, bool) or not isinstance(scenario_id, int) or not 0 < scenario_id <= _MAX_ID:
            raise NotFound(f"No scenario {scenario_id}.")
        with read_session(self.engine) as s:
            row = s.execute(select(Scenario, Unit.name).join(Unit, Unit.id == Scenario.unit_id)
                            .where(Scenario.id == scenario_id)).first()
            if row is None:
                raise NotFound(f"No scenario {scenario_id}.")
            return _form(row.Scenario, row.name)

    def list(self, unit: str | None = None, limit: int = 100) -> list[dict]:
        """Saved scenarios, newest first (optionally one unit's): their metadata without the changes."""
        limit = max(1, min(int(limit), MAX_LISTED))
        with read_session(self.engine) as s:
            q = (select(Scenario, Unit.name).join(Unit, Unit.id == Scenario.unit_id)
                 .order_by(Scenario.id.desc()).limit(limit))
            if unit is not None:
                if not plausible_id(unit):
                    return []
                q = q.where(Scenario.unit_id == unit)
            return [_summary(_form(r.Scenario, r.name)) for r in s.execute(q)]


def verify_changes(body: Mapping[str, Any], unit_name: str, n_bases: int) -> dict:
    """A what-if body's ``move``, ``add`` and ``remove``, checked and in plain form (``base`` and indices as ints,
    coordinates as floats); raises :class:`Invalid` with a sentence naming the change (``move[0]: …``)."""
    move, add, remove = (_list(body, key) for key in ("move", "add", "remove"))
    n = len(move) + len(add) + len(remove)
    if n > MAX_CHANGES:
        raise Invalid(f"At most {MAX_CHANGES} changes at a time (moves, additions and removals together); "
                      f"this scenario has {n}.")
    out: dict[str, list] = {"move": [], "add": [], "remove": []}
    named: set[int] = set()

    def base_index(what: str, value) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < n_bases:
            bases = "one base (index 0)" if n_bases == 1 else f"{n_bases} bases (indices 0–{n_bases - 1})"
            raise Invalid(f"{what}: {unit_name} has {bases}.")
        if value in named:
            raise Invalid(f"{what}: base {value} is named by more than one change; give one change per base.")
        named.add(value)
        return value

    for i, m in enumerate(move):
        what = f"move[{i}]"
        _verify_keys(what, m, {"base", "lat", "lon"})
        out["move"].append({"base": base_index(what, m["base"]), **_point(what, m)})
    for i, r in enumerate(remove):
        out["remove"].append(base_index(f"remove[{i}]", r))
    for i, p in enumerate(add):
        what = f"add[{i}]"
        _verify_keys(what, p, {"lat", "lon"})
        out["add"].append(_point(what, p))
    if n_bases and len(remove) == n_bases and not add:
        raise Invalid(f"{unit_name} would have no base left: move a base instead of removing the last one.")
    return out


# -- helpers ---------------------------------------------------------------------------------------------------------
def _form(row: Scenario, unit_name: str) -> dict:
    day = row.approvals_date.isoformat()
    changes = row.changes or {}
    whatif = {"unit": row.unit_id, "move": list(changes.get("move", [])), "add": list(changes.get("add", [])),
              "remove": list(changes.get("remove", [])), "date": day, "profile": row.profile}
    return {"id": row.id, "name": row.name, "unit": row.unit_id, "unit_name": unit_name, "date": day,
            "profile": row.profile, "changes": len(whatif["move"]) + len(whatif["add"]) + len(whatif["remove"]),
            "saved_at": iso(row.saved_at), "saved_by": row.saved_by_name, "saved_by_id": row.saved_by,
            "whatif": whatif}


def _summary(form: dict) -> dict:
    return {k: v for k, v in form.items() if k != "whatif"}


def _unit(s, key) -> Unit:
    u = s.get(Unit, key) if plausible_id(key) else None
    if u is None:
        known = ", ".join(s.scalars(select(Unit.id).order_by(Unit.position)))
        raise NotFound(f"Unknown unit '{str(key)[:80]}'. Known ids: {known}.")
    return u


def _verify_name(name) -> str:
    if not isinstance(name, str):
        raise Invalid("name must be a text.")
    name = " ".join("".join(ch if ch.isprintable() else " " for ch in name).split())
    if not name:
        raise Invalid("A scenario needs a name.")
    if len(name) > MAX_NAME_CHARS:
        raise Invalid(f"name is longer than {MAX_NAME_CHARS} characters.")
    return name


def _verify_day(value) -> date:
    if isinstance(value, datetime):
        raise Invalid("date must be a day (YYYY-MM-DD), not a time.")
    if isinstance(value, date):
        return value
    if value is None or value == "":
        raise Invalid("date is needed (YYYY-MM-DD): a scenario keeps the approvals of one day.")
    if not isinstance(value, str):
        raise Invalid("date must be written YYYY-MM-DD.")
    try:
        return parse_day(value)
    except ValueError as exc:
        raise Invalid(f"date: {exc}") from None


def _verify_profile(value) -> str:
    if value not in PROFILES:
        raise Invalid(f"profile must be one of {', '.join(PROFILES)}.")
    return value


def _list(body: Mapping[str, Any], key: str) -> list:
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise Invalid(f"{key} must be a list.")
    return list(value)


def _verify_keys(what: str, item, keys: set[str]) -> None:
    if not isinstance(item, Mapping) or set(item) != keys:
        raise Invalid(f"{what}: give exactly {', '.join(sorted(keys))}.")


def _point(what: str, item: Mapping) -> dict:
    lat, lon = item["lat"], item["lon"]
    if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in (lat, lon)):
        raise Invalid(f"{what}: lat and lon must be numbers (WGS84 degrees).")
    lat, lon = float(lat), float(lon)
    try:
        verify_lat_lon(lat, lon)  # finite too: JSON could not store NaN
    except ValueError as exc:
        raise Invalid(f"{what}: {exc}") from None
    return {"lat": lat, "lon": lon}
