"""What a query says about *where*, apart from the street: its postcode and its towns.

A town is read as a postal town (``data/postal_towns.yaml``: Hässelby → the borough Hässelby-Vällingby, Åkersberga →
Österåker), a municipality, a Stockholm borough or district, or another GeoNames place; a postcode as the register's
addresses carrying it, else its postal town. GeoNames postcode points are never trusted unchecked: all of "Stockholm"'s
postcodes share one point and hundreds of county points lie outside their own municipality, so a point is used only
when it lies in its postal town's units. The result, a :class:`Context`, limits which streets may match and is the
answer's region when no street matches.

Privacy: nothing here logs or keeps a query; notes never quote it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from geo.geocode.index import GeocoderIndex, Postcode
from geo.geocode.normalize import fold, postcode_label
from geo.geocode.result import Note
from core.settings import COUNTY_CODE

COUNTY_PREFIXES = ((100, 199), (760, 764))
"""First three digits of Stockholm County's postcodes."""
COARSE_SHARED = 3
"""A GeoNames point shared by at least this many postcodes is a town centre, not the postcode's area."""


@dataclass
class Context:
    """The place a query names besides its street.

    ``units``: admin tokens (see :mod:`geo.areas.units`) the place lies in; ``points``: the register's addresses of
    its postcode, (n, 2) EPSG:3006 metres; ``point``: a checked GeoNames point (x, y) or None; ``outside``: a :class:`~core.words.Note`
    when the place is outside Stockholm County.
    """

    kind: str
    label: str
    units: tuple[str, ...] = ()
    points: np.ndarray | None = None
    point: tuple[float, float] | None = None
    outside: Note | None = None
    notes: list[Note] = field(default_factory=list)
    postcode: Postcode | None = None

    @property
    def empty(self) -> bool:
        return not self.units and (self.points is None or len(self.points) == 0) and not self.outside


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
    def town(self, text: str) -> Context | None:
        """The units a town name stands for, an out-of-county answer, or None when the name is unknown."""
        folded = fold(text)
        if not folded:
            return None
        town = self.postal_towns.get(text) if self.postal_towns is not None else None
        if town is not None:
            tokens = town.units
            kind = "postal_town" if town.kind == "postal_town" else "place"
            return Context(kind, town.name, tokens)
        named = self.units.named(text)
        if named:
            rank = {"municipality": 0, "borough": 1, "district": 2}
            best = min(rank[u.kind] for u in named)
            chosen = [u for u in named if rank[u.kind] == best]
            kind = "municipality" if best == 0 else "district"
            return Context(kind, chosen[0].label, tuple(u.token for u in chosen))
        pos = self._place_pos.get(folded)
        if pos is None:
            return None
        places = [self.index.places[i] for i in self.index.place_ids[pos]]
        in_county = [p for p in places if p.in_county]
        if in_county:
            codes = sorted({p.municipality_code for p in in_county})
            note = Note("town_by_place_data", "info")
            return Context("place", in_county[0].name, tuple(f"municipality:{c}" for c in codes), notes=[note])
        place = max(places, key=lambda p: p.size)
        return Context("place", place.label, point=(place.x, place.y),
                       outside=self._outside_sentence(place.municipality_code))

    def _outside_sentence(self, code: str) -> Note:
        name = self._municipality_names.get(code)
        if name:
            return Note("outside_county", "decisive", {"municipality": name, "county": code[:2]},
                        "outside_place_municipality")
        return Note("outside_county", "decisive", text="outside_place_not_county")

    # -- postcodes ----------------------------------------------------------------------------------------------
    def postcode(self, key: str) -> Context | None:
        """What a five-digit postcode says: its register addresses, else its postal town's units."""
        pc = self.index.postcodes.get(key)
        if pc is None:
            return self._unknown_postcode(key)
        if not county_postcode(key) and not pc.in_county:
            return Context("postcode", pc.label, point=(pc.x, pc.y), outside=self._outside_sentence(pc.municipality_code),
                           postcode=pc)
        town = self.town(pc.town) if pc.town else None
        units = town.units if town is not None and not town.outside else ()
        if not units and pc.municipality_code[:2] == COUNTY_CODE:
            units = (f"municipality:{pc.municipality_code}",)
        ctx = Context("postcode", pc.label, units, postcode=pc)
        if len(pc.xy):
            ctx.points = pc.xy
        elif pc.shared < COARSE_SHARED and units and self._point_in(units, pc.x, pc.y):
            ctx.point = (pc.x, pc.y)
        else:
            ctx.notes.append(Note("postcode_point_unchecked", "info"))
        return ctx

    def _unknown_postcode(self, key: str) -> Context | None:
        same = [p for k, p in self.index.postcodes.items() if k[:3] == key[:3]]
        if not same:
            if county_postcode(key):
                return None
            return Context("postcode", f"{postcode_label(key)}",
                           outside=Note("outside_county", "decisive", text="outside_postcode"))
        units: list[str] = []
        for p in same:
            town = self.town(p.town) if p.town else None
            for t in (town.units if town is not None else ()):
                if t not in units:
                    units.append(t)
        if not units:
            if not county_postcode(key):
                return Context("postcode", f"{key[:3]} xx", outside=self._outside_sentence(same[0].municipality_code))
            return None
        note = Note("postcode_not_in_data", "caution", {"prefix": key[:3]})
        return Context("postcode", f"{key[:3]} xx", tuple(units), notes=[note])

    def _point_in(self, units: tuple[str, ...], x: float, y: float) -> bool:
        inside = self.units.tokens_at(x, y)
        return any(self.units.contains(u, t) for u in units for t in inside)

    # -- both ---------------------------------------------------------------------------------------------------
    def combine(self, postcode: Context | None, towns: list[Context]) -> Context | None:
        """One context from a postcode and towns: the parts that agree; both, flagged, when they disagree."""
        parts = [c for c in [postcode, *towns] if c is not None]
        if not parts:
            return None
        inside = [c for c in parts if not c.outside]
        if not inside:
            return parts[0]
        if len(inside) < len(parts):
            # One part says outside the county, another inside: the county part wins, flagged.
            inside[0].notes.append(Note("place_conflict", "caution", text="place_conflict_county"))
        ctx = inside[0]
        for other in inside[1:]:
            ctx = self._meet(ctx, other)
        return ctx

    def _meet(self, a: Context, b: Context) -> Context:
        if a.points is not None and len(a.points) and b.units:
            mun, borough, _ = self.units.at(a.points[:, 0], a.points[:, 1])
            keep = np.array([self._in_units(b.units, m, bo) for m, bo in zip(mun, borough)])
            if keep.any():
                a.points = a.points[keep]
                return a
        narrow = tuple(t for t in a.units if any(self.units.contains(u, t) for u in b.units))
        narrow += tuple(t for t in b.units if any(self.units.contains(u, t) for u in a.units) and t not in narrow)
        if narrow:
            a.units = tuple(t for t in narrow if not any(t != s and self.units.contains(t, s) for s in narrow)) or narrow
            if a.point is not None and not self._point_in(a.units, *a.point):
                a.point = None
            a.notes += b.notes
            return a
        union = tuple(dict.fromkeys(a.units + b.units))
        note = Note("place_conflict", "decisive", text="place_conflict_both")
        return Context(a.kind, f"{a.label} / {b.label}", union, None, None, None, a.notes + b.notes + [note], a.postcode)

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

    def point_in_context(self, ctx: Context, xs: np.ndarray, ys: np.ndarray, near_m: float) -> np.ndarray:
        """Boolean mask of EPSG:3006 points inside the context: in its units (a town's or a postcode's postal town);
        without units, within ``near_m`` metres of the postcode's known addresses."""
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
        elif ctx.points is not None and len(ctx.points):
            # No unit known (a postcode without a postal town): streets near the postcode's known addresses.
            d2 = ((xs[:, None] - ctx.points[None, :, 0]) ** 2 + (ys[:, None] - ctx.points[None, :, 1]) ** 2).min(axis=1)
            mask = d2 <= near_m**2
        return mask


__all__ = ["COUNTY_PREFIXES", "Context", "ContextReader", "county_postcode"]
