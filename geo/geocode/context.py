"""What a query says about *where*, apart from the street: its postcode and its towns.

A town is read as a postal town (``data/postal_towns.yaml``: Hässelby → the borough Hässelby-Vällingby, Åkersberga →
Österåker), a municipality, a Stockholm borough or district, or another GeoNames place; a postcode as the register's
addresses carrying it, else its postal town. GeoNames postcode points are never trusted unchecked: all of "Stockholm"'s
postcodes share one point and hundreds of county points lie outside their own municipality, so a point is used only
when it lies in its postal town's units. The result, a :class:`~geo.geocode.result.Region` (its ``point``,
``outside``, ``notes`` and ``postcode`` set as the place says), limits which streets may match and is the answer's
region when no street matches.

Privacy: nothing here logs or keeps a query; notes never quote it.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from geo.geocode.index import GeocoderIndex
from geo.geocode.normalize import fold, postcode_label
from geo.geocode.result import Note, Region
from core.settings import COUNTY_CODE

COUNTY_PREFIXES = ((100, 199), (760, 764))
"""First three digits of Stockholm County's postcodes."""
COARSE_SHARED = 3
"""A GeoNames point shared by at least this many postcodes is a town centre, not the postcode's area."""
NEIGHBOUR_DIGITS = 4
"""A postcode without register addresses may take the boroughs of the postcodes around it sharing this many leading
digits, when they lie in one ASIH area ("118 46" from "118 45" and "118 48"; see
:meth:`ContextReader._by_neighbours`)."""


def county_postcode(key: str) -> bool:
    """True when a five-digit postcode key has a Stockholm County prefix."""
    head = int(key[:3])
    return any(lo <= head <= hi for lo, hi in COUNTY_PREFIXES)


class ContextReader:
    """Reads towns and postcodes against the index, the postal towns and the county's units."""

    def __init__(self, index: GeocoderIndex, postal_towns, units):
        self.index = index
        self.postal_towns = postal_towns
        self.units = units
        self._place_pos = {name: i for i, name in enumerate(index.place_names)}
        sweden = units.model.all_municipalities
        self._municipality_names = dict(zip(sweden["code"], sweden["name"]))

    # -- towns --------------------------------------------------------------------------------------------------
    def town(self, text: str) -> Region | None:
        """The units a town name stands for, an out-of-county answer, or None when the name is unknown."""
        folded = fold(text)
        if not folded:
            return None
        town = self.postal_towns.get(text) if self.postal_towns is not None else None
        if town is not None:
            tokens = town.units
            kind = "postal_town" if town.kind == "postal_town" else "place"
            return Region(kind, town.name, tokens)
        named = self.units.named(text)
        if named:
            rank = {"municipality": 0, "borough": 1, "district": 2}
            best = min(rank[u.kind] for u in named)
            chosen = [u for u in named if rank[u.kind] == best]
            kind = "municipality" if best == 0 else "district"
            return Region(kind, chosen[0].label, tuple(u.token for u in chosen))
        pos = self._place_pos.get(folded)
        if pos is None:
            return None
        places = [self.index.places[i] for i in self.index.place_ids[pos]]
        in_county = [p for p in places if p.in_county]
        if in_county:
            codes = sorted({p.municipality_code for p in in_county})
            note = Note("town_by_place_data", "info")
            return Region("place", in_county[0].name, tuple(f"municipality:{c}" for c in codes), notes=(note,))
        place = max(places, key=lambda p: p.size)
        return Region("place", place.label, point=(place.x, place.y),
                       outside=self._outside_sentence(place.municipality_code))

    def _outside_sentence(self, code: str) -> Note:
        name = self._municipality_names.get(code)
        if name:
            return Note("outside_county", "decisive", {"municipality": name, "county": code[:2]},
                        "outside_place_municipality")
        return Note("outside_county", "decisive", text="outside_place_not_county")

    # -- postcodes ----------------------------------------------------------------------------------------------
    def postcode(self, key: str) -> Region | None:
        """What a five-digit postcode says: its register addresses, else its postal town's units."""
        pc = self.index.postcodes.get(key)
        row = self.index.postcode_table.get(key)
        if pc is None:
            if row is not None and row[0][:2] == COUNTY_CODE:
                return self._table_only(key, row)
            return self._unknown_postcode(key)
        if not county_postcode(key) and not pc.in_county:
            return Region("postcode", pc.label, point=(pc.x, pc.y), outside=self._outside_sentence(pc.municipality_code),
                          postcode=pc.key)
        town = self.town(pc.town) if pc.town else None
        units = town.units if town is not None and not town.outside else ()
        within: tuple[str, ...] = ()
        notes: list[Note] = []
        if row is not None and row[0][:2] == COUNTY_CODE and self._agrees(row[0], pc.xy):
            narrowed, within = self._in_municipality(units, row[0]), (f"municipality:{row[0]}",)
            if narrowed != units and fold(self._municipality_names.get(row[0], "")) != fold(pc.town):
                # Said only when it changes the answer from what the postal town's name suggests ("17177
                # Stockholm" in Solna), not for every Stockholm postcode the name "Stockholm" leaves in Solna.
                notes.append(self._table_note(row[0]))
            units = narrowed
        elif not units and pc.municipality_code[:2] == COUNTY_CODE:
            units = (f"municipality:{pc.municipality_code}",)
        if len(pc.xy):
            return Region("postcode", pc.label, units, points=tuple(map(tuple, pc.xy)), within=within,
                          notes=tuple(notes), postcode=pc.key)
        units, notes = self._by_neighbours(units, notes, key)
        point = None
        if pc.shared < COARSE_SHARED and units and self._point_in(units, pc.x, pc.y):
            point = (pc.x, pc.y)
        else:
            notes.append(Note("postcode_point_unchecked", "info"))
        return Region("postcode", pc.label, units, point=point, within=within, notes=tuple(notes), postcode=pc.key)

    def _in_municipality(self, units: tuple[str, ...], code: str) -> tuple[str, ...]:
        """The postal town's units inside municipality ``code`` (the postcode table's), else the municipality: the
        table knows the postcode, the postal town only its name ("17177 Stockholm" lies in Solna)."""
        token = f"municipality:{code}"
        return tuple(t for t in units if self.units.contains(token, t)) or (token,)

    def _table_note(self, code: str) -> Note:
        return Note("postcode_municipality_from_table", "info",
                    {"municipality": self._municipality_names.get(code, code)})

    def _agrees(self, code: str, xy: np.ndarray) -> bool:
        """True when every register address of the postcode lies in municipality ``code``: an address elsewhere
        says the postcode crosses the border, and then the table's one municipality is not the whole truth."""
        if not len(xy):
            return True
        mun, _, _ = self.units.at(xy[:, 0], xy[:, 1])
        return bool((mun == code).all())

    def _table_only(self, key: str, row: tuple[str, str]) -> Region:
        """A postcode in the postcode table but neither in GeoNames nor in the register: its municipality (narrowed
        by its postal town's boroughs in Stockholm city)."""
        code, town_name = row
        town = self.town(town_name) if town_name else None
        units = self._in_municipality(town.units if town is not None and not town.outside else (), code)
        units, notes = self._by_neighbours(units, [self._table_note(code)], key)
        return Region("postcode", f"{postcode_label(key)} {town_name}".strip(), units, notes=tuple(notes),
                      within=(f"municipality:{code}",))

    def _by_neighbours(self, units: tuple[str, ...], notes: list[Note],
                       key: str) -> tuple[tuple[str, ...], list[Note]]:
        """Narrow a Stockholm postcode without register addresses to the boroughs of its neighbours: the nearest
        lower and the nearest higher postcodes with register addresses sharing its first :data:`NEIGHBOUR_DIGITS`
        digits ("118 45" and "118 48" for "118 46"), when every address of the two lies in one ASIH area and the
        postcode's units allow them.

        Both sides are required: postcodes are numbered along delivery routes, and a postcode at the end of a run
        may lie across a border ("117 50" is on Södermalm, "117 55"–"117 59" in Hägersten-Älvsjö). Left out one at a
        time, the register's own Stockholm postcodes get this rule right every time it speaks
        (tests/geo/test_postcode_table.py). Looser rules (one side only, or three leading digits) were measured the
        same way and were wrong for 2–5 postcodes, so they are not used. Returns the units and the notes, with a note
        when narrowed."""
        if len(units) < 2 or not all(t.startswith("borough:") for t in units):
            return units, notes
        found = self.neighbour_boroughs(key)
        if found is None:
            return units, notes
        tokens = tuple(f"borough:{b}" for b in found[2])
        if not all(t in units for t in tokens):
            return units, notes
        return tokens, notes + [Note("postcode_district_by_neighbours", "info",
                                     {"low": postcode_label(found[0]), "high": postcode_label(found[1]),
                                      "place": " / ".join(found[2])})]

    def neighbour_boroughs(self, key: str) -> tuple[str, str, tuple[str, ...]] | None:
        """The nearest lower and higher known postcodes :meth:`_by_neighbours` reads for postcode ``key`` (its own
        addresses are not used) and the boroughs of their addresses, when those all lie in one ASIH area; else
        None."""
        head = key[:NEIGHBOUR_DIGITS]
        same = sorted(k for k, p in self.index.postcodes.items() if k[:NEIGHBOUR_DIGITS] == head and k != key
                      and len(p.xy))
        lower, higher = [k for k in same if k < key], [k for k in same if k > key]
        if not lower or not higher:
            return None
        boroughs: set = set()
        areas: set = set()
        for k in (lower[-1], higher[0]):
            xy = self.index.postcodes[k].xy
            _, borough, area = self.units.at(xy[:, 0], xy[:, 1])
            boroughs |= set(borough.tolist())
            areas |= set(area.tolist())
        if None in boroughs or len(areas) != 1 or -1 in areas:
            return None
        return lower[-1], higher[0], tuple(sorted(boroughs))

    def _unknown_postcode(self, key: str) -> Region | None:
        same = [p for k, p in self.index.postcodes.items() if k[:3] == key[:3]]
        if not same:
            if county_postcode(key):
                return None
            return Region("postcode", f"{postcode_label(key)}",
                          outside=Note("outside_county", "decisive", text="outside_postcode"))
        units: list[str] = []
        for p in same:
            town = self.town(p.town) if p.town else None
            for t in (town.units if town is not None else ()):
                if t not in units:
                    units.append(t)
        if not units:
            if not county_postcode(key):
                return Region("postcode", f"{key[:3]} xx", outside=self._outside_sentence(same[0].municipality_code))
            return None
        note = Note("postcode_not_in_data", "caution", {"prefix": key[:3]})
        return Region("postcode", f"{key[:3]} xx", tuple(units), notes=(note,))

    def _point_in(self, units: tuple[str, ...], x: float, y: float) -> bool:
        inside = self.units.tokens_at(x, y)
        return any(self.units.contains(u, t) for u in units for t in inside)

    # -- both ---------------------------------------------------------------------------------------------------
    def combine(self, postcode: Region | None, towns: list[Region]) -> Region | None:
        """One place from a postcode and towns: the parts that agree; both, flagged, when they disagree."""
        parts = [c for c in [postcode, *towns] if c is not None]
        if not parts:
            return None
        inside = [c for c in parts if not c.outside]
        if not inside:
            return parts[0]
        if len(inside) < len(parts):
            # One part says outside the county, another inside: the county part wins, flagged.
            inside[0] = replace(inside[0], notes=inside[0].notes + (Note("place_conflict", "caution",
                                                                          text="place_conflict_county"),))
        ctx = inside[0]
        for other in inside[1:]:
            ctx = self._meet(ctx, other)
        return ctx

    def _meet(self, a: Region, b: Region) -> Region:
        if a.points and b.units:
            xy = points_xy(a)
            mun, borough, _ = self.units.at(xy[:, 0], xy[:, 1])
            keep = np.array([self._in_units(b.units, m, bo) for m, bo in zip(mun, borough)])
            if keep.any():
                return replace(a, points=tuple(p for p, k in zip(a.points, keep) if k))
        narrow = tuple(t for t in a.units if any(self.units.contains(u, t) for u in b.units))
        narrow += tuple(t for t in b.units if any(self.units.contains(u, t) for u in a.units) and t not in narrow)
        if narrow:
            units = tuple(t for t in narrow if not any(t != s and self.units.contains(t, s) for s in narrow)) or narrow
            point = a.point if a.point is not None and self._point_in(units, *a.point) else None
            return replace(a, units=units, point=point, notes=a.notes + b.notes)
        union = tuple(dict.fromkeys(a.units + b.units))
        note = Note("place_conflict", "decisive", text="place_conflict_both")
        return Region(a.kind, f"{a.label} / {b.label}", union, notes=a.notes + b.notes + (note,), postcode=a.postcode)

    def _in_units(self, units: tuple[str, ...], mun, borough) -> bool:
        for token in units:
            unit = self.units.get(token)
            if unit is None:
                continue
            if unit.kind == "municipality" and unit.municipality_code == mun:
                return True
            if unit.kind in ("borough", "district") and unit.borough == borough:
                return True
        return False

    def point_in_context(self, ctx: Region, xs: np.ndarray, ys: np.ndarray, near_m: float) -> np.ndarray:
        """Boolean mask of EPSG:3006 points inside the place ``ctx`` (as :meth:`town`, :meth:`postcode` and
        :meth:`combine` read it): in its units (a town's or a postcode's postal town); without units, within ``near_m``
        metres of the postcode's known addresses."""
        mask = np.zeros(len(xs), dtype=bool)
        if ctx.units:
            mun, borough, _ = self.units.at(xs, ys)
            for token in ctx.units:
                unit = self.units.get(token)
                if unit is None:
                    continue
                if unit.kind == "municipality":
                    mask |= mun == unit.municipality_code
                elif unit.kind == "borough":
                    mask |= borough == unit.borough
                else:  # a district: its borough is the finest unit known per point; refine below
                    mask |= np.array([b == unit.borough and self.units.district_at(x, y) == unit.name
                                      for x, y, b in zip(xs, ys, borough)], dtype=bool)
        elif ctx.points:
            # No unit known (a postcode without a postal town): streets near the postcode's known addresses.
            pts = points_xy(ctx)
            d2 = ((xs[:, None] - pts[None, :, 0]) ** 2 + (ys[:, None] - pts[None, :, 1]) ** 2).min(axis=1)
            mask = d2 <= near_m**2
        return mask


def points_xy(region: Region) -> np.ndarray:
    """A region's ``points`` as an (n, 2) array of EPSG:3006 metres."""
    return np.asarray(region.points, dtype=float).reshape(-1, 2)


__all__ = ["COUNTY_PREFIXES", "ContextReader", "county_postcode", "points_xy"]
