"""The provider registry: ASIH units, their approved areas and their bases, read from ``data/providers.yaml``.

Approvals are authoritative (Region Stockholm); bases are partly guesses, so each carries a ``precision``
(``address`` / ``place`` / ``unknown``) and a source note that every dependent answer repeats.
"""

from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path

from geo.datafile import read_yaml_list

PRECISIONS = ("address", "place", "unknown")
"""Base precision, best first."""


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
    )


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
