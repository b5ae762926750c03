"""Area definitions: which municipalities and Stockholm stadsdelsområden form each ASIH area.

The definitions live in ``data/areas.yaml`` (with provenance); this module reads and validates them against the
boundary files, and raises :class:`AreaDataError` with every problem named.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from core.datafile import read_yaml_list
from core.settings import STOCKHOLM_CODE

PROVENANCES = ("confirmed", "hypothesis")


class AreaDataError(ValueError):
    """The areas file is inconsistent; ``problems`` lists each problem as a sentence."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("Invalid area data:\n- " + "\n- ".join(problems))


@dataclass(frozen=True)
class AreaDefinition:
    """One ASIH area: members by SCB municipality code and by stadsdelsområde name (Stockholm only)."""

    id: int
    name: str
    municipalities: tuple[str, ...]
    districts: tuple[str, ...]
    provenance: str
    provenance_note: str = ""


@dataclass(frozen=True)
class AreaDefinitions:
    """All areas of the file, plus the file's source note."""

    areas: tuple[AreaDefinition, ...]
    source_note: str = ""
    version: str = ""
    path: Path | None = field(default=None, compare=False)

    def by_id(self) -> dict[int, AreaDefinition]:
        """Areas keyed by id."""
        return {a.id: a for a in self.areas}

    @property
    def ids(self) -> list[int]:
        """Area ids in file order."""
        return [a.id for a in self.areas]


def read_area_definitions(path: Path) -> AreaDefinitions:
    """Read an areas YAML file. Raises :class:`AreaDataError` when its structure is wrong."""
    doc = read_yaml_list(path, "areas", AreaDataError, "Areas")
    problems: list[str] = []
    areas = []
    for i, raw in enumerate(doc["areas"]):
        if not isinstance(raw, dict):
            problems.append(f"Entry {i + 1} of 'areas' is not a mapping.")
            continue
        try:
            area_id = int(raw["id"])
        except (KeyError, TypeError, ValueError):
            problems.append(f"Entry {i + 1} of 'areas' has no integer 'id'.")
            continue
        provenance = str(raw.get("provenance", "")).strip()
        if provenance not in PROVENANCES:
            problems.append(f"Area {area_id}: provenance must be one of {', '.join(PROVENANCES)}, not '{provenance}'.")
        areas.append(
            AreaDefinition(
                id=area_id,
                name=str(raw.get("name") or f"Area {area_id}"),
                municipalities=tuple(str(c).zfill(4) for c in (raw.get("municipalities") or [])),
                districts=tuple(str(d).strip() for d in (raw.get("districts") or [])),
                provenance=provenance,
                provenance_note=str(raw.get("provenance_note") or ""),
            )
        )
    if problems:
        raise AreaDataError(problems)
    return AreaDefinitions(
        areas=tuple(areas),
        source_note=str(doc.get("source_note") or ""),
        version=str(doc.get("version") or ""),
        path=path,
    )


def validate_definitions(
    defs: AreaDefinitions, municipality_names: dict[str, str], borough_names: list[str]
) -> None:
    """Check that every municipality and stadsdelsområde is in exactly one area.

    Parameters
    ----------
    defs
        The area definitions.
    municipality_names
        The county's municipalities, code → name.
    borough_names
        Stockholm city's stadsdelsområden.

    Raises
    ------
    AreaDataError
        Naming each duplicate id, unknown code or name, member in two areas or in none, and empty area.
    """
    problems: list[str] = []
    seen_ids: set[int] = set()
    for area in defs.areas:
        if area.id in seen_ids:
            problems.append(f"Area id {area.id} is defined twice.")
        seen_ids.add(area.id)
        if not area.municipalities and not area.districts:
            problems.append(f"Area {area.id} ({area.name}) has no members.")
        if STOCKHOLM_CODE in area.municipalities:
            problems.append(
                f"Area {area.id} lists Stockholm ({STOCKHOLM_CODE}) as a whole; list its stadsdelsområden instead."
            )

    def _name(code: str) -> str:
        return f"{municipality_names.get(code, 'unknown')} ({code})"

    muni_owner: dict[str, list[int]] = {}
    for area in defs.areas:
        for code in area.municipalities:
            if code != STOCKHOLM_CODE and code not in municipality_names:
                problems.append(f"Area {area.id} lists municipality code {code}, which is not in the county.")
            muni_owner.setdefault(code, []).append(area.id)
    borough_owner: dict[str, list[int]] = {}
    known_boroughs = {b.casefold(): b for b in borough_names}
    for area in defs.areas:
        for name in area.districts:
            if name.casefold() not in known_boroughs:
                problems.append(f"Area {area.id} lists stadsdelsområde '{name}', which is not a Stockholm borough.")
                continue
            borough_owner.setdefault(known_boroughs[name.casefold()], []).append(area.id)

    for code, owners in sorted(muni_owner.items()):
        if len(owners) > 1 and code in municipality_names:
            problems.append(f"Municipality {_name(code)} is in more than one area: {sorted(owners)}.")
    for code in sorted(municipality_names):
        if code != STOCKHOLM_CODE and code not in muni_owner:
            problems.append(f"Municipality {_name(code)} is in no area.")
    for name, owners in sorted(borough_owner.items()):
        if len(owners) > 1:
            problems.append(f"Stadsdelsområde {name} is in more than one area: {sorted(owners)}.")
    for name in sorted(borough_names):
        if name not in borough_owner:
            problems.append(f"Stadsdelsområde {name} is in no area.")
    if problems:
        raise AreaDataError(problems)
