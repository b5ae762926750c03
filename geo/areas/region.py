"""Region → areas: is the patient's ASIH area certain, and if not, which areas are possible and what decides it.

The rule: an area is *certain* only when the whole region the patient may be in lies in that one area. A region is
a set of administrative units (a municipality, a borough, a district) or a set of known points (a street's pieces,
a postcode's addresses, one address); a point within ``margin_m`` of another area's border makes that area possible
too, because the borders we have are generalised (1:1M, ±100 m) and a postcode spans more than its known points.

When several areas are possible, the answer lists *choices*: the units (boroughs, municipalities) or, for one point
near a border, the areas themselves, each with a likely point. A choice's token, sent back with the same query, narrows
the region (:func:`narrow`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np
import shapely

from geo.areas.locate import AreaLocator
from geo.areas.units import AdminUnits
from core.crs import to_wgs84
from geo.geocode.result import Region
from core.words import Note, Refusal

POSTCODE_MARGIN_M = 500.0
"""A postcode's known addresses are a sample of its area: areas this close (m) to any of them are possible too."""


class ChoiceError(Refusal):
    """A choice token that does not narrow this query's region."""


@dataclass(frozen=True)
class Choice:
    """One way to settle an uncertain area: ``token`` narrows the region to ``label`` in area ``area_id``."""

    token: str
    label: str
    area_id: int
    area_name: str
    lat: float
    lon: float


@dataclass(frozen=True)
class AreaDecision:
    """What the region says about the area.

    ``status``: "certain" (``area_ids`` has one id), "uncertain" (several; ``choices`` and ``decide_by`` say how to
    settle it) or "outside" (the region is outside Stockholm County). ``x``/``y`` (EPSG:3006 m) is the likely point.
    """

    status: str
    area_ids: tuple[int, ...]
    choices: tuple[Choice, ...] = ()
    decide_by: tuple[str, ...] = ()
    x: float | None = None
    y: float | None = None
    forced_area: int | None = None
    reason: str = "region"
    """Why it is uncertain: "region" (the region spans areas), "spelling" or "town" (a street answer to confirm)."""


@dataclass(frozen=True)
class Places:
    """The municipalities, Stockholm boroughs (stadsdelsområden) and districts (stadsdelar) a region may lie in,
    each sorted in Swedish order. One name means the whole region lies in it; several, that the data cannot say
    which. ``boroughs`` and ``districts`` speak of the region's part in Stockholm city (empty when it has none)."""

    municipalities: tuple[str, ...]
    boroughs: tuple[str, ...]
    districts: tuple[str, ...]


class RegionResolver:
    """Decides areas for regions, over the prepared units and border segments."""

    def __init__(self, units: AdminUnits, locator: AreaLocator):
        self.units = units
        self.locator = locator
        self.border_m = locator.border_warning_m

    def decide(self, region: Region, x: float, y: float, forced_area: int | None = None) -> AreaDecision:
        """The area decision for ``region`` whose likely point is (``x``, ``y``) in EPSG:3006 metres."""
        if region.units:
            decision = self._from_units(region, x, y)
        else:
            points = np.array(region.points or ((x, y),), dtype=float)
            flat = POSTCODE_MARGIN_M if region.kind == "postcode" else None
            decision = self._from_points(region, points, x, y, flat)
        if forced_area is not None:
            if forced_area not in decision.area_ids:
                raise ChoiceError("error_choice_not_possible")
            return replace(decision, status="certain", area_ids=(forced_area,), choices=(), decide_by=(),
                           forced_area=forced_area)
        return decision

    def places(self, region: Region) -> Places:
        """The municipalities, boroughs and districts ``region`` may lie in (the area's rule for labels: a name only
        when the whole region lies in it). Points are placed as :meth:`AdminUnits.at` places them (no border
        margin: these are names, not the area decision); a region of units lists every unit inside them."""
        units = [u for u in (self.units.get(t) for t in region.units) if u is not None]
        if units:
            mun, boroughs, districts = set(), set(), set()
            for u in units:
                mun.add(self._municipality_name(u.municipality_code))
                if u.kind == "municipality":
                    inside = self.units.boroughs_of(u.municipality_code)
                    boroughs |= {b.borough for b in inside}
                    districts |= {d.name for b in inside for d in self.units.districts_of(b.borough)}
                elif u.kind == "borough":
                    boroughs.add(u.borough)
                    districts |= {d.name for d in self.units.districts_of(u.borough)}
                else:
                    boroughs.add(u.borough)
                    districts.add(u.name)
            return Places(_sorted(mun), _sorted(boroughs), _sorted(districts))
        if not region.points:
            return Places((), (), ())
        points = np.array(region.points, dtype=float)
        mun, borough, area = self.units.at(points[:, 0], points[:, 1])
        inside = area >= 0
        in_city = inside & np.not_equal(borough, None)
        districts = self.units.districts_at(points[in_city, 0], points[in_city, 1]) if in_city.any() else ()
        return Places(_sorted(self._municipality_name(m) for m in set(mun[inside])),
                      _sorted(set(borough[in_city])), _sorted(d for d in set(districts) if d is not None))

    def _municipality_name(self, code: str) -> str:
        unit = self.units.get(f"municipality:{code}")
        return unit.name if unit is not None else code

    # -- units ---------------------------------------------------------------------------------------------------
    def _from_units(self, region: Region, x: float, y: float) -> AreaDecision:
        units = [self.units.get(t) for t in region.units]
        units = [u for u in units if u is not None]
        if not units:
            return AreaDecision("outside", ())
        areas = tuple(sorted({a for u in units for a in u.area_ids}))
        if len(areas) == 1:
            return AreaDecision("certain", areas, x=x, y=y)
        parts = []
        for u in units:
            if len(u.area_ids) > 1:
                parts += self.units.boroughs_of(u.municipality_code)
            else:
                parts.append(u)
        choices = tuple(sorted(
            {p.token: self._choice(p.token, p.label, p.area_ids[0], p.x, p.y) for p in parts}.values(),
            key=lambda c: (c.area_id, c.label),
        ))
        return AreaDecision("uncertain", areas, choices, ("street_address", "district", "map_point"), x, y)

    # -- points --------------------------------------------------------------------------------------------------
    def _from_points(self, region: Region, points: np.ndarray, x: float, y: float,
                     flat_m: float | None) -> AreaDecision:
        """Areas of the points and of the borders within each border's margin (``flat_m`` for every border when
        given; see :meth:`AreaLocator.near_areas`)."""
        mun, borough, area = self.units.at(points[:, 0], points[:, 1])
        inside = area >= 0
        if not inside.any():
            return AreaDecision("outside", (), x=x, y=y)
        reach = np.asarray(region.reach_m, dtype=float) if len(region.reach_m) == len(points) else 0.0
        near = self.locator.near_areas(points, area, reach, flat_m)
        near = self._within(region, area, near)
        possible = set(int(a) for a in area[inside]) | {a for s in near for a in s}
        if not inside.all():
            possible.add(-1)  # part of the region lies outside the county
        areas = tuple(sorted(a for a in possible if a >= 0))
        if len(possible) == 1:
            return AreaDecision("certain", areas, x=x, y=y)
        # Several areas: one choice per unit the points fall in; if that does not separate them (one point near a
        # border, or every point in one unit), one choice per area at the likely point.
        groups: dict[str, list[int]] = {}
        for i in np.flatnonzero(inside):
            token = f"borough:{borough[i]}" if borough[i] is not None else f"municipality:{mun[i]}"
            groups.setdefault(token, []).append(int(i))
        choices = []
        separable = len(groups) > 1 and all(len({int(area[i]) for i in idx}) == 1 for idx in groups.values())
        separable = separable and len({int(area[idx[0]]) for idx in groups.values()}) == len(areas)
        if separable and not any(near):
            for token, idx in groups.items():
                sub = points[idx]
                k = int(np.argmin(((sub - sub.mean(axis=0)) ** 2).sum(axis=1)))
                unit = self.units.get(token)
                label = unit.label if unit is not None else token
                choices.append(self._choice(token, label, int(area[idx[0]]), sub[k, 0], sub[k, 1]))
            decide_by = ("house_number", "district", "map_point") if region.kind == "street" else (
                "street_address", "district", "map_point")
        else:
            for a in areas:
                choices.append(self._choice(f"area:{a}", f"{a} {self.units.area_names[a]}", a, x, y))
            decide_by = ("official_register", "map_point")
        choices.sort(key=lambda c: (c.area_id, c.label))
        return AreaDecision("uncertain", areas, tuple(choices), decide_by, x, y)

    def _within(self, region: Region, area: np.ndarray, near: list[set[int]]) -> list[set[int]]:
        """Drop the areas near a border that ``region.within`` rules out (a postcode's municipality from the
        postcode table), but only when every point lies in the areas it allows: a point elsewhere contradicts that
        source, and then nothing is ruled out."""
        units = [u for u in (self.units.get(t) for t in region.within) if u is not None]
        if not units:
            return near
        allowed = {a for u in units for a in u.area_ids}
        if not all(int(a) in allowed for a in area):
            return near
        return [s & allowed for s in near]

    def _choice(self, token: str, label: str, area_id: int, x: float, y: float) -> Choice:
        lat, lon = to_wgs84(x, y)
        return Choice(token, label, int(area_id), self.units.area_names[int(area_id)], round(float(lat), 6),
                      round(float(lon), 6))

    # -- narrowing -----------------------------------------------------------------------------------------------
    def narrow(self, region: Region, x: float, y: float, token: str) -> tuple[Region, float, float, int | None]:
        """Narrow a region by a choice token; return the new region, its likely point and a forced area (``area:N``).

        Raises :class:`ChoiceError` when the token does not name a part of the region.
        """
        if token.startswith("area:"):
            try:
                return region, x, y, int(token[5:])
            except ValueError:
                raise ChoiceError("error_choice_invalid") from None
        unit = self.units.get(token)
        if unit is None:
            raise ChoiceError("error_choice_invalid")
        if region.units:
            if not any(self.units.contains(t, token) for t in region.units):
                raise ChoiceError("error_choice_not_part")
            kind = "district" if unit.kind == "borough" else unit.kind  # a borough is a district to the user
            narrowed = Region(kind, unit.label, (token,), (), unit.width_m,
                              region.basis + (Note("region", "info", {"unit": unit.label}, "narrowed"),))
            return narrowed, unit.x, unit.y, None
        points = np.array(region.points, dtype=float)
        mun, borough, _ = self.units.at(points[:, 0], points[:, 1])
        keep = np.array([
            (unit.kind == "municipality" and m == unit.municipality_code) or (unit.kind == "borough" and b == unit.borough)
            for m, b in zip(mun, borough)
        ])
        if not keep.any():
            raise ChoiceError("error_choice_not_part")
        sub = points[keep]
        k = int(np.argmin(((sub - sub.mean(axis=0)) ** 2).sum(axis=1)))
        width = float(np.sqrt(((sub - sub[k]) ** 2).sum(axis=1)).max())
        name = re.sub(r" \(\d+ places\)$", "", region.label).split(",")[0]
        narrowed = Region(region.kind, f"{name}, {unit.name}", (), tuple(map(tuple, sub)), round(width, -1),
                          region.basis + (Note("region", "info", {"unit": unit.label}, "narrowed"),))
        return narrowed, float(sub[k, 0]), float(sub[k, 1]), None


def _sorted(names) -> tuple[str, ...]:
    """Names in Swedish alphabetical order (å, ä, ö after z)."""
    return tuple(sorted(set(names), key=lambda n: n.casefold().translate(_SWEDISH_ORDER)))


_SWEDISH_ORDER = str.maketrans({"å": "{", "ä": "|", "ö": "}", "é": "e", "ü": "y"})


__all__ = ["AreaDecision", "Choice", "ChoiceError", "POSTCODE_MARGIN_M", "Places", "RegionResolver"]
