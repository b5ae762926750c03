"""The provider registry: ASIH units, their approved areas and their bases, read from ``data/providers.yaml``.

Approvals are authoritative (Region Stockholm); bases are partly guesses, so each carries a ``precision``
(``address`` / ``place`` / ``unknown``) and a source note that every dependent answer repeats.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from core.datafile import read_yaml_list

PRECISIONS = ("address", "place", "unknown")
"""Base precision, best first."""

CONTACT_KEYS = ("phone", "referral", "hours")
"""What a unit's optional ``contact`` block may hold: how a referrer reaches it (each a short text)."""


class ProviderDataError(ValueError):
    """The providers file is inconsistent; ``problems`` lists each problem as a sentence."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("Invalid provider data:\n- " + "\n- ".join(problems))


class UnknownUnit(KeyError):
    """No unit matches the given id or name."""

    def __init__(self, key: str, known: list[str]):
        self.key = key
        self.known = known
        super().__init__(f"Unknown provider unit '{key}'. Known ids: {', '.join(known)}.")

    def __str__(self) -> str:
        return self.args[0]


@dataclass(frozen=True)
class Base:
    """A place a unit's team drives out from (WGS84 degrees), with how sure we are of it."""

    name: str
    lat: float
    lon: float
    precision: str
    source: str


@dataclass(frozen=True)
class Unit:
    """One ASIH provider unit (verksamhet)."""

    id: str
    unit: str
    organisation: str
    areas: tuple[int, ...]
    bases: tuple[Base, ...]
    capacity_note: str | None = None
    contact: dict | None = field(default=None, hash=False)
    """``phone`` / ``referral`` / ``hours`` as far as a source gives them; None when nothing is known."""

    @property
    def precision(self) -> str:
        """The worst precision among the unit's bases (a figure resting on several bases is as sure as the least)."""
        return max((b.precision for b in self.bases), key=PRECISIONS.index)

    def to_dict(self) -> dict:
        """Plain-JSON form."""
        d = asdict(self)
        d["areas"] = list(self.areas)
        d["precision"] = self.precision
        return d


@dataclass(frozen=True)
class Registry:
    """All units, in file order."""

    units: tuple[Unit, ...]
    version: str = ""

    def get(self, key: str) -> Unit:
        """A unit by id (``ersta-diakoni``), full name (``ASIH Ersta Diakoni``) or name without 'ASIH', any case."""
        wanted = _fold(key)
        for u in self.units:
            if wanted in (_fold(u.id), _fold(u.unit), _fold(u.unit.removeprefix("ASIH "))):
                return u
        raise UnknownUnit(key, [u.id for u in self.units])

    def approved_for(self, area_id: int) -> list[Unit]:
        """Units approved for an area."""
        return [u for u in self.units if area_id in u.areas]

    def bases(self) -> list[tuple[Unit, Base]]:
        """Every (unit, base) pair, in a stable order (the row order of the drive-time trees)."""
        return [(u, b) for u in self.units for b in u.bases]


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip().casefold()


def read_registry(path: Path) -> Registry:
    """Read and check the structure of a providers YAML file. Raises :class:`ProviderDataError`."""
    doc = read_yaml_list(path, "units", ProviderDataError, "Providers")
    problems: list[str] = []
    units = []
    for i, raw in enumerate(doc["units"]):
        label = f"unit {i + 1}" if not isinstance(raw, dict) else f"unit '{raw.get('id', i + 1)}'"
        try:
            units.append(_unit(raw))
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(f"{label}: {exc}")
    if problems:
        raise ProviderDataError(problems)
    return Registry(units=tuple(units), version=str(doc.get("version") or ""))


def _unit(raw: dict) -> Unit:
    for key in ("id", "unit", "organisation", "areas", "bases"):
        if key not in raw:
            raise KeyError(f"missing '{key}'")
    if not raw["bases"]:
        raise ValueError("has no bases")
    bases = []
    for b in raw["bases"]:
        precision = str(b.get("precision", "")).strip()
        if precision not in PRECISIONS:
            raise ValueError(f"base precision must be one of {', '.join(PRECISIONS)}, not '{precision}'")
        bases.append(Base(str(b.get("name", "")), float(b["lat"]), float(b["lon"]), precision, str(b.get("source", ""))))
    return Unit(
        id=str(raw["id"]),
        unit=str(raw["unit"]),
        organisation=str(raw["organisation"]),
        areas=tuple(int(a) for a in raw["areas"]),
        bases=tuple(bases),
        capacity_note=raw.get("capacity_note"),
        contact=_contact(raw.get("contact")),
    )


def _contact(raw) -> dict | None:
    """The optional contact block: only the known keys, each a non-empty text (never a number: phones keep zeros)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ValueError(f"contact must be a mapping with keys {', '.join(CONTACT_KEYS)}")
    unknown = sorted(str(k) for k in raw if k not in CONTACT_KEYS)
    if unknown:
        raise ValueError(f"contact has unknown keys {', '.join(unknown)} (allowed: {', '.join(CONTACT_KEYS)})")
    contact = {}
    for key in CONTACT_KEYS:
        value = raw.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"contact {key} must be a non-empty text in quotes, not {value!r}")
        contact[key] = value.strip()
    return contact or None


def validate_registry(
    registry: Registry, area_ids: list[int], locate, to_land=None, max_from_land_m: float = 200.0
) -> None:
    """Check ids, approvals and bases against the area model.

    Parameters
    ----------
    registry
        The units.
    area_ids
        Known area ids.
    locate
        ``callable(lat, lon) -> Location`` (``AreaLocator.locate``); a base must lie in Stockholm County.
    to_land
        ``callable(lat, lon) -> metres`` (``AreaLocator.distance_to_land_m``); when given, a base farther than
        ``max_from_land_m`` from land is rejected (the municipality polygons include territorial waters).

    Raises
    ------
    ProviderDataError
        Naming duplicate units, unknown area ids, bases outside the county or at sea, units approved for no area.
    """
    problems: list[str] = []
    seen: dict[str, int] = {}
    for u in registry.units:
        for key in {_fold(u.id), _fold(u.unit)}:
            seen[key] = seen.get(key, 0) + 1
        if not u.areas:
            problems.append(f"Unit {u.id} is approved for no area.")
        for a in u.areas:
            if a not in area_ids:
                problems.append(f"Unit {u.id} is approved for area {a}, which does not exist (areas: {area_ids}).")
        for b in u.bases:
            try:
                loc = locate(b.lat, b.lon)
            except ValueError as exc:
                problems.append(f"Unit {u.id}, base '{b.name}': {exc}")
                continue
            if not loc.inside:
                problems.append(f"Unit {u.id}, base '{b.name}' ({b.lat}, {b.lon}) is outside the county: {loc.message}")
            elif to_land is not None and (d := to_land(b.lat, b.lon)) > max_from_land_m:
                problems.append(
                    f"Unit {u.id}, base '{b.name}' ({b.lat}, {b.lon}) is at sea: "
                    + (f"{d:,.0f} m from land." if d != float("inf") else "far from any land.")
                )
    for key, n in seen.items():
        if n > 1:
            problems.append(f"Unit '{key}' is listed {n} times.")
    if problems:
        raise ProviderDataError(problems)


# -- export: the YAML form of a registry, in the file's own layout ---------------------------------------------------
def dump_registry(
    registry: Registry,
    *,
    header: str = "",
    approvals: dict[str, list[dict]] | None = None,
    extra: dict[str, str] | None = None,
) -> str:
    """The providers YAML for ``registry``, laid out like ``data/providers.yaml`` (so diffs stay readable).

    Parameters
    ----------
    registry
        The units; each unit's ``areas`` are written as its approved areas (the live registry passes the
        approvals in force on the export date).
    header
        Comment lines put first (each starting with ``#``), e.g. the provenance notes of the file imported.
    approvals
        Optional dated history per unit id: ``[{"area": 3, "valid_from": date | None, "valid_to": date | None}]``,
        written as the unit's ``approvals`` list (which :func:`read_registry` ignores).
    extra
        Further top-level ``key: value`` lines after ``version`` (values written as they are).

    Returns
    -------
    str
        The YAML text; :func:`read_registry` reads it back to an equal registry.
    """
    lines = [line.rstrip() for line in header.strip("\n").splitlines() if line.strip()]
    if any(not line.startswith("#") for line in lines):
        raise ValueError("header lines must be YAML comments starting with '#'")
    lines.append(f"version: {_plain(registry.version)}")
    lines += [f"{key}: {value}" for key, value in (extra or {}).items()]
    lines.append("units:")
    for u in registry.units:
        lines += [
            f"  - id: {_plain(u.id)}",
            f"    unit: {_plain(u.unit)}",
            f"    organisation: {_plain(u.organisation)}",
            f"    areas: [{', '.join(str(a) for a in u.areas)}]",
        ]
        if u.contact:
            lines.append("    contact:")
            lines += [f"      {k}: {_quoted(u.contact[k])}" for k in CONTACT_KEYS if u.contact.get(k)]
        if u.capacity_note is not None:
            lines.append(f"    capacity_note: {_quoted(u.capacity_note)}")
        lines.append("    bases:")
        for b in u.bases:
            lines += [
                f"      - name: {_plain(b.name)}",
                f"        lat: {_number(b.lat)}",
                f"        lon: {_number(b.lon)}",
                f"        precision: {b.precision}",
                f"        source: {_quoted(b.source)}",
            ]
        periods = (approvals or {}).get(u.id)
        if periods:
            lines.append("    approvals:")
            lines += [
                f"      - {{area: {p['area']}, valid_from: {_day(p.get('valid_from'))}, "
                f"valid_to: {_day(p.get('valid_to'))}}}"
                for p in periods
            ]
    return "\n".join(lines) + "\n"


def write_registry(path: Path, registry: Registry, **kwargs) -> None:
    """Write :func:`dump_registry` to ``path`` (replacing it in one step: a reader never sees half a file)."""
    text = dump_registry(registry, **kwargs)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _plain(text: str) -> str:
    """``text`` unquoted when YAML reads it back as the same string, else double-quoted."""
    text = str(text)
    if text and text == text.strip() and "#" not in text and ": " not in text:
        try:
            if yaml.safe_load(f"k: {text}") == {"k": text} or str(yaml.safe_load(text)) == text:
                return text
        except yaml.YAMLError:
            pass
    return _quoted(text)


def _quoted(text: str) -> str:
    return json.dumps(str(text), ensure_ascii=False)  # a JSON string is a valid YAML double-quoted scalar


def _number(x: float) -> str:
    """Four decimals (≈10 m, as the file writes coordinates) when that is exact, else every digit."""
    short = f"{x:.4f}"
    return short if float(short) == x else repr(float(x))


def _day(d) -> str:
    return "null" if d is None else str(d)
