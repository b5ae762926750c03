"""What-if: the audit of one unit with a base moved, added or removed, against today."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from geo.areas.locate import AreaLocator
from geo.providers import Base, Registry
from routing.audit import CoverageAuditor, UnitAudit
from routing.basetrees import BaseTrees, compute_base_trees
from routing.snapping import SnapArray

WHAT_IF_PRECISION = "address"
"""A base given as coordinates by the user is exact for the question asked."""


class WhatIfError(ValueError):
    """A what-if change names an unknown unit or base, or leaves a unit without bases."""


def parse_change(text: str) -> tuple[str, int | None, tuple[float, float] | None]:
    """Parse ``UNIT[:N][=LAT,LON]`` into (unit, base number from 1 or None, (lat, lon) or None)."""
    key, _, coords = text.partition("=")
    unit, _, number = key.partition(":")
    point = None
    if coords:
        try:
            lat, lon = (float(v) for v in coords.split(","))
        except ValueError:
            raise WhatIfError(f"'{text}': coordinates must be LAT,LON in degrees.") from None
        point = (lat, lon)
    if number and not number.isdigit():
        raise WhatIfError(f"'{text}': the base number after ':' must be 1, 2, ...")
    return unit.strip(), int(number) if number else None, point


def apply_changes(
    registry: Registry,
    move: list[str] = (),
    add: list[str] = (),
    remove: list[str] = (),
) -> tuple[Registry, set[str]]:
    """A registry with the changes applied, and the ids of the changed units."""
    units = {u.id: u for u in registry.units}
    changed: set[str] = set()

    def _get(key: str):
        try:
            return units[registry.get(key).id]
        except KeyError as exc:
            raise WhatIfError(str(exc)) from None

    def _base_index(unit, number):
        k = (number or 1) - 1
        if not 0 <= k < len(unit.bases):
            raise WhatIfError(f"{unit.id} has {len(unit.bases)} base(s); there is no base {k + 1}.")
        return k

    for text in move:
        key, number, point = parse_change(text)
        if point is None:
            raise WhatIfError(f"--move-base '{text}' needs =LAT,LON.")
        unit = _get(key)
        k = _base_index(unit, number)
        bases = list(unit.bases)
        bases[k] = Base(f"What-if: {bases[k].name} moved", point[0], point[1], WHAT_IF_PRECISION, "what-if")
        units[unit.id] = replace(unit, bases=tuple(bases))
        changed.add(unit.id)
    for text in add:
        key, _, point = parse_change(text)
        if point is None:
            raise WhatIfError(f"--add-base '{text}' needs =LAT,LON.")
        unit = _get(key)
        new = Base("What-if: added base", point[0], point[1], WHAT_IF_PRECISION, "what-if")
        units[unit.id] = replace(unit, bases=(*unit.bases, new))
        changed.add(unit.id)
    for text in remove:
        key, number, _ = parse_change(text)
        unit = _get(key)
        k = _base_index(unit, number)
        if len(unit.bases) == 1:
            raise WhatIfError(f"{unit.id} has one base; it cannot be removed (move it instead).")
        units[unit.id] = replace(unit, bases=tuple(b for i, b in enumerate(unit.bases) if i != k))
        changed.add(unit.id)
    return Registry(tuple(units[u.id] for u in registry.units), registry.version), changed


def what_if(auditor: CoverageAuditor, move=(), add=(), remove=()) -> list[tuple[UnitAudit, UnitAudit]]:
    """Audit the changed units before and after the changes. Raises :class:`WhatIfError` for bad changes."""
    registry, changed = apply_changes(auditor.registry, list(move), list(add), list(remove))
    if not changed:
        raise WhatIfError("No change given: use --move-base, --add-base or --remove-base.")
    locator = AreaLocator(auditor.model, 0)
    for unit_id in changed:
        for base in registry.get(unit_id).bases:
            loc = locator.locate(base.lat, base.lon)
            if not loc.inside:
                raise WhatIfError(f"The what-if base of {unit_id} at {base.lat}, {base.lon} is not usable: {loc.message}")
    trees = _trees_for(auditor, registry, changed)
    after = CoverageAuditor(
        auditor.settings, auditor.net, auditor.model, registry, trees, auditor.samples, auditor.limit_s
    )
    return [(auditor.audit_unit(u), after.audit_unit(u)) for u in sorted(changed)]


def _trees_for(auditor: CoverageAuditor, registry: Registry, changed: set[str]) -> BaseTrees:
    """Today's trees for unchanged units, fresh trees (one graph search per base) for the changed ones."""
    old = auditor.trees
    keep = [i for i, uid in enumerate(old.unit_ids) if uid not in changed]
    fresh = compute_base_trees(auditor.net, [(u, b) for u in registry.units if u.id in changed for b in u.bases])
    def _cat(a, b):
        return np.concatenate([a[keep], b])

    snaps = SnapArray(*(_cat(getattr(old.snaps, f), getattr(fresh.snaps, f)) for f in
                        ("edge", "fraction", "distance_m", "x", "y", "far")))
    return BaseTrees(
        unit_ids=[old.unit_ids[i] for i in keep] + fresh.unit_ids,
        bases=[old.bases[i] for i in keep] + fresh.bases,
        snaps=snaps,
        times=np.vstack([old.times[keep], fresh.times]),
        profile=old.profile,
    )
