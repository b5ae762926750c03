"""What-if as text (CLI, the planning tables): parse ``UNIT[:N]=LAT,LON`` changes, apply them to a registry, and
audit the changed units before and after with the one what-if engine (:mod:`routing.live_whatif`).

A new base is given as ``LAT,LON`` or as a place or address, resolved by the service's geocoder (see
:func:`geocoder_resolver`): only a place known to within :data:`WHAT_IF_MAX_WIDTH_M` is accepted, never a postal
town or municipality whose point could be anywhere in it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from geo.areas.locate import AreaLocator
from geo.providers import Base, Registry
from routing.audit import CoverageAuditor, UnitAudit, floor4
from routing.live_whatif import WHAT_IF_PRECISION, WhatIfError, live_what_if  # noqa: F401 - re-exported

WHAT_IF_MAX_WIDTH_M = 2000.0
"""A place or address typed for a what-if base must be known to within this (m): a street or a district, not a
postal town (whose point may lie tens of kilometres from where the user means)."""

Resolver = Callable[[str], tuple[float, float, str, str]]
"""Place text → (lat, lon, label, base precision); raises :class:`WhatIfError` when the place is not usable."""


def parse_change(text: str) -> tuple[str, int | None, tuple[float, float] | str | None]:
    """Parse ``UNIT[:N][=WHERE]`` into (unit, base number from 1 or None, where): ``where`` is (lat, lon) for
    ``LAT,LON``, the text itself for a place or address, or None."""
    key, _, where = text.partition("=")
    unit, _, number = key.partition(":")
    point: tuple[float, float] | str | None = None
    where = where.strip()
    if where:
        try:
            lat, lon = (float(v) for v in where.split(","))
            point = (lat, lon)
        except ValueError:
            if all(c in "0123456789.,-+ " for c in where):
                raise WhatIfError(f"'{text}': coordinates must be LAT,LON in degrees.") from None
            point = where
    if number and not number.isdigit():
        raise WhatIfError(f"'{text}': the base number after ':' must be 1, 2, ...")
    return unit.strip(), int(number) if number else None, point


def geocoder_resolver(geocoder, max_width_m: float = WHAT_IF_MAX_WIDTH_M) -> Resolver:
    """A :data:`Resolver` over the service's geocoder (``svc.geocoder``): refuses places outside the county, with a
    corrected spelling, or known only to within more than ``max_width_m``."""
    from geo.geocode import GeocodeError

    def resolve(text: str) -> tuple[float, float, str, str]:
        try:
            found = geocoder.geocode(text)
        except GeocodeError as exc:
            raise WhatIfError(f"'{text}': {exc.user_message}") from None
        if found.outside:
            raise WhatIfError(f"'{text}': {found.outside}")
        if found.corrected_from is not None:
            raise WhatIfError(f"'{text}' is not in the data as written; did you mean {found.matched}? "
                              "Write it so, or give LAT,LON.")
        width = found.region.width_m if found.region is not None else 0.0
        if width > max_width_m:
            raise WhatIfError(
                f"'{text}' resolves to {found.matched} ({found.precision}), known only to within "
                f"{width / 1000:.1f} km; give a street, an address, a district or LAT,LON.")
        precision = "address" if found.precision in ("address", "coordinates") else "place"
        return float(found.lat), float(found.lon), found.matched, precision

    return resolve


def apply_changes(
    registry: Registry,
    move: list[str] = (),
    add: list[str] = (),
    remove: list[str] = (),
    resolve: Resolver | None = None,
) -> tuple[Registry, set[str]]:
    """A registry with the changes applied, and the ids of the changed units (``resolve`` turns a place or address
    into a point; without it only ``LAT,LON`` is accepted)."""
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

    def _where(text, point, option):
        if point is None:
            raise WhatIfError(f"{option} '{text}' needs =LAT,LON or =PLACE.")
        if isinstance(point, str):
            if resolve is None:
                raise WhatIfError(f"'{text}': coordinates must be LAT,LON in degrees.")
            lat, lon, label, precision = resolve(point)
            return lat, lon, f" to {label}" if option == "--move-base" else f" at {label}", precision
        return point[0], point[1], "", WHAT_IF_PRECISION

    for text in move:
        key, number, point = parse_change(text)
        lat, lon, label, precision = _where(text, point, "--move-base")
        unit = _get(key)
        k = _base_index(unit, number)
        bases = list(unit.bases)
        bases[k] = Base(f"What-if: {bases[k].name} moved{label}", lat, lon, precision, "what-if")
        units[unit.id] = replace(unit, bases=tuple(bases))
        changed.add(unit.id)
    for text in add:
        key, _, point = parse_change(text)
        lat, lon, label, precision = _where(text, point, "--add-base")
        unit = _get(key)
        new = Base(f"What-if: added base{label}", lat, lon, precision, "what-if")
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


def what_if(auditor: CoverageAuditor, move=(), add=(), remove=(),
            resolve: Resolver | None = None) -> list[tuple[UnitAudit, UnitAudit]]:
    """Audit the changed units before and after the changes. Raises :class:`WhatIfError` for bad changes."""
    registry, changed = apply_changes(auditor.registry, list(move), list(add), list(remove), resolve)
    return what_if_registry(auditor, registry, changed)


def what_if_registry(auditor: CoverageAuditor, registry: Registry,
                     changed: set[str]) -> list[tuple[UnitAudit, UnitAudit]]:
    """Audit the ``changed`` units of ``registry`` (changes already applied) before and after."""
    if not changed:
        raise WhatIfError("No change given: use --move-base, --add-base or --remove-base.")
    locator = AreaLocator(auditor.model, 0)
    for unit_id in changed:
        for base in registry.get(unit_id).bases:
            loc = locator.locate(base.lat, base.lon)
            if not loc.inside:
                raise WhatIfError(f"The what-if base of {unit_id} at {base.lat}, {base.lon} is not usable: {loc.message}")
    # One what-if engine (routing.live_whatif) for the planning page, these tables and the CLI: a unit's audit reads
    # its own trees only, so each changed unit is audited after on its own.
    engine = live_what_if(auditor, locator)
    return [(auditor.audit_unit(u), engine.audit_with(auditor.registry.get(u), registry.get(u))) for u in sorted(changed)]


def what_if_rows(pairs: list[tuple[UnitAudit, UnitAudit]], profile: str, area_names: dict[int, str]) -> list[dict]:
    """One dict per unit × area: population share, verdict and people not reached before and after, the bases after.

    Keys ``unit, unit_id, area_id, area_name, approved, profile, population_share_before/after, verdict_before/after,
    gap_population_before/after, bases_after``; missing sides (an area reached well only before or after) are None.
    """
    out = []
    for before, after in pairs:
        b = {r.area_id: r for r in before.rows()}
        a = {r.area_id: r for r in after.rows()}
        for area_id in sorted(set(b) | set(a)):
            rb, ra = b.get(area_id), a.get(area_id)
            out.append({
                "unit": after.unit.unit,
                "unit_id": after.unit.id,
                "area_id": area_id,
                "area_name": area_names.get(area_id, ""),
                "approved": area_id in after.unit.areas,
                "profile": profile,
                "population_share_before": floor4(rb.population_share) if rb else None,
                "population_share_after": floor4(ra.population_share) if ra else None,
                "verdict_before": rb.verdict if rb else None,
                "verdict_after": ra.verdict if ra else None,
                "gap_population_before": round(rb.gap_population) if rb else None,
                "gap_population_after": round(ra.gap_population) if ra else None,
                "bases_after": [f"{x.name} ({x.lat:.5f}, {x.lon:.5f})" for x in after.unit.bases],
            })
    return out
