"""The registry's YAML import and export (``data/providers.yaml`` in, the same layout out).

``geo/providers.py`` reads and writes the file; this module maps it to the database and back:

- A unit's ``areas`` are its approvals. The file's list is undated (the source, "Områdesindelning ASIH", gives no
  date), so unless the file has a top-level ``approvals_valid_from: YYYY-MM-DD`` they are imported with no start
  date: in force as far back as the registry's records go, never claiming a start the source does not give.
- A unit may carry a dated history, ``approvals: [{area, valid_from, valid_to}, …]``; when present it is imported
  instead of ``areas``. The export writes it for units whose approvals have dates, and writes ``areas`` as the
  approvals in force on the export day (top-level ``approvals_on``), which is what ``read_registry`` and the
  prepared drive-time trees use.
- The file's leading comments (its provenance notes) and ``version`` are kept in the database and written back, so
  importing a file and exporting it gives the same text.

Free places, users and tokens are live data and are never exported.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from geo.providers import Base as YamlBase
from geo.providers import ProviderDataError, Registry, dump_registry, read_registry
from geo.providers import Unit as YamlUnit
from registry.db import read_session
from registry.models import Approval, Change, Meta, Unit
from registry.asof import STOCKHOLM, today
from registry.errors import Conflict

HEADER_KEY = "yaml_header"
VERSION_KEY = "yaml_version"


def import_units(s: Session, path: Path, actor, now: datetime, *, update: bool = False) -> dict:
    """Import the units (and their approvals) of the providers file ``path`` in the open write session ``s``.

    Parameters
    ----------
    update
        False: the registry must be empty. True: add the file's new units (with their approvals) and update the
        description (name, organisation, bases, contact, capacity note) of known ones; approvals of known units
        are left as they are (they change live, with dates) and differences are returned as ``warnings``.

    Returns
    -------
    dict
        ``{"added": [...], "updated": [...], "approvals": n, "warnings": [...]}``.

    Raises
    ------
    ProviderDataError
        The file is malformed (every problem named).
    """
    registry = read_registry(path)
    text = path.read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    default_from = _date(raw.get("approvals_valid_from"), "approvals_valid_from")
    raw_units = {str(r.get("id")): r for r in raw["units"]}
    existing = {u.id: u for u in s.scalars(select(Unit))}
    if existing and not update:
        raise Conflict("The registry already has units: import into an empty registry, or update with --update.")
    summary = {"added": [], "updated": [], "approvals": 0, "warnings": []}
    on_day = now.astimezone(STOCKHOLM).date()
    for position, u in enumerate(registry.units):
        description = _description(u)
        periods = _periods(raw_units[u.id], u, default_from)
        row = existing.get(u.id)
        if row is None:
            s.add(Unit(id=u.id, position=position, **description))
            s.flush()
            for p in periods:
                s.add(Approval(unit_id=u.id, area_id=p["area"], valid_from=p["valid_from"], valid_to=p["valid_to"],
                               created_at=now, created_by=actor.id, source=f"imported from {path.name}"))
            summary["approvals"] += len(periods)
            summary["added"].append(u.id)
            _log(s, actor, now, "unit.import", f"unit:{u.id}", None,
                 {**description, "approvals": [_plain_period(p) for p in periods]})
            continue
        row.position = position
        before = _row_description(row)
        if before != description:
            for key, value in description.items():
                setattr(row, key, value)
            summary["updated"].append(u.id)
            _log(s, actor, now, "unit.update", f"unit:{u.id}", before, description)
        in_force = sorted({a for (a,) in s.execute(select(Approval.area_id).where(
            Approval.unit_id == u.id,
            (Approval.valid_from.is_(None)) | (Approval.valid_from <= on_day),
            (Approval.valid_to.is_(None)) | (Approval.valid_to >= on_day)))})
        if in_force != sorted(set(u.areas)):
            summary["warnings"].append(
                f"{u.id}: the file lists areas {sorted(set(u.areas))}, the registry has {in_force} in force today; "
                "approvals change with dates (asih registry approvals / POST /v1/approvals), not by import.")
    file_ids = {u.id for u in registry.units}
    for uid, row in existing.items():
        if uid not in file_ids:
            row.position = len(registry.units) + row.position
            summary["warnings"].append(f"{uid}: in the registry but not in the file; kept.")
    _set_meta(s, HEADER_KEY, _header(text))
    _set_meta(s, VERSION_KEY, registry.version)
    _log(s, actor, now, "registry.import", f"file:{path.name}", None, {
        "file": path.name, "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(), "version": registry.version,
        "added": summary["added"], "updated": summary["updated"], "approvals": summary["approvals"],
    })
    return summary


def export_text(service, day: date | None = None) -> str:
    """The registry as providers YAML: ``areas`` in force on ``day`` (default today), dated history kept."""
    day = day or today()
    on_day = service.approvals_on(day)
    with read_session(service.engine) as s:
        units = s.scalars(select(Unit).order_by(Unit.position)).all()
        approvals = s.scalars(select(Approval).order_by(Approval.unit_id, Approval.area_id, Approval.id)).all()
        meta = {m.key: m.value for m in s.scalars(select(Meta))}
    history: dict[str, list[dict]] = {}
    for a in approvals:
        history.setdefault(a.unit_id, []).append({"area": a.area_id, "valid_from": a.valid_from, "valid_to": a.valid_to})
    registry = Registry(
        units=tuple(
            YamlUnit(id=u.id, unit=u.name, organisation=u.organisation, areas=on_day.get(u.id, ()),
                     bases=tuple(YamlBase(**b) for b in u.bases), capacity_note=u.capacity_note, contact=u.contact)
            for u in units
        ),
        version=meta.get(VERSION_KEY, ""),
    )
    starts = {p["valid_from"] for periods in history.values() for p in periods}
    undated_or_one_start = (
        len(starts) <= 1
        and all(p["valid_to"] is None for periods in history.values() for p in periods)
        and all(len({p["area"] for p in ps}) == len(ps) for ps in history.values())
    )
    if undated_or_one_start:
        start = next(iter(starts), None)
        extra = {"approvals_valid_from": start.isoformat()} if start is not None else {}
        return dump_registry(registry, header=meta.get(HEADER_KEY, ""), extra=extra)
    dated = {uid: ps for uid, ps in history.items() if any(p["valid_from"] or p["valid_to"] for p in ps)}
    return dump_registry(registry, header=meta.get(HEADER_KEY, ""), approvals=dated,
                         extra={"approvals_on": day.isoformat()})


# -- helpers ---------------------------------------------------------------------------------------------------------
def _description(u: YamlUnit) -> dict:
    return {
        "name": u.unit, "organisation": u.organisation,
        "bases": [{"name": b.name, "lat": b.lat, "lon": b.lon, "precision": b.precision, "source": b.source}
                  for b in u.bases],
        "capacity_note": u.capacity_note, "contact": u.contact,
    }


def _row_description(row: Unit) -> dict:
    return {"name": row.name, "organisation": row.organisation, "bases": row.bases,
            "capacity_note": row.capacity_note, "contact": row.contact}


def _periods(raw: dict, u: YamlUnit, default_from: date | None) -> list[dict]:
    """The unit's approval periods: its dated ``approvals`` list, else its ``areas`` from ``default_from``."""
    listed = raw.get("approvals")
    if listed is None:
        return [{"area": a, "valid_from": default_from, "valid_to": None} for a in dict.fromkeys(u.areas)]
    if not isinstance(listed, list):
        raise ProviderDataError([f"unit '{u.id}': approvals must be a list of {{area, valid_from, valid_to}}"])
    periods = []
    for i, p in enumerate(listed):
        where = f"unit '{u.id}', approval {i + 1}"
        if not isinstance(p, dict) or "area" not in p:
            raise ProviderDataError([f"{where}: needs area, valid_from and valid_to"])
        start, end = _date(p.get("valid_from"), where), _date(p.get("valid_to"), where)
        # valid_to the day before valid_from marks an approval withdrawn before it started (in force on no day).
        if start and end and end < start - timedelta(days=1):
            raise ProviderDataError([f"{where}: valid_to {end} is before valid_from {start}"])
        periods.append({"area": int(p["area"]), "valid_from": start, "valid_to": end})
    return periods


def _date(value, where: str) -> date | None:
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ProviderDataError([f"{where}: '{value}' is not a date (YYYY-MM-DD)"]) from None


def _plain_period(p: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in p.items()}


def _header(text: str) -> str:
    """The file's leading comment lines (its provenance notes)."""
    lines = []
    for line in text.splitlines():
        if line.startswith("#"):
            lines.append(line)
        elif line.strip():
            break
    return "\n".join(lines)


def _set_meta(s: Session, key: str, value: str) -> None:
    row = s.get(Meta, key)
    if row is None:
        s.add(Meta(key=key, value=value))
    else:
        row.value = value


def _log(s: Session, actor, now: datetime, action: str, entity: str, before, after) -> None:
    s.add(Change(at=now, actor_id=actor.id, actor=actor.label, action=action, entity=entity, before=before,
                 after=after))
