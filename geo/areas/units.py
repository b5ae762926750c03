"""Administrative units a patient's location may be given by: the county's municipalities, Stockholm's
stadsdelsområden (boroughs) and stadsdelar (districts), each with the ASIH areas it lies in and a likely point.

A unit is named by a token ``municipality:0123``, ``borough:Bromma`` or ``district:Årsta``; the geocoder puts
tokens into a :class:`~geo.geocode.result.Region` and :mod:`geo.areas.region` turns them into areas. The likely point
of a unit is its population-weighted centre (SCB DeSO 2023 population), moved to the nearest DeSO representative
point inside the unit, so it always lies where people live in that unit. Everything is EPSG:3006 metres unless
named ``lat``/``lon``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from geo.areas.model import AreaModel
from core.crs import to_wgs84
from geo.geocode.normalize import fold
from core.settings import STOCKHOLM_CODE

OFF_COAST_M = 300.0
"""A point in no unit (off the generalised 1:1M coastline) belongs to the nearest unit within this distance (m)."""


@dataclass(frozen=True, slots=True)
class AdminUnit:
    """One municipality, borough or district.

    ``area_ids`` are the ASIH areas it lies in (several only for Stockholm city as a whole); ``x``/``y`` (m) and
    ``lat``/``lon`` (degrees) its likely point; ``width_m`` the distance from that point to the unit's farthest edge.
    """

    token: str
    kind: str
    name: str
    label: str
    municipality_code: str
    borough: str | None
    area_ids: tuple[int, ...]
    x: float
    y: float
    lat: float
    lon: float
    width_m: float


class AdminUnits:
    """The county's units, looked up by token or by name, and point → unit in bulk."""

    def __init__(self, model: AreaModel):
        self.model = model
        units = model.units.reset_index(drop=True)
        self._unit_geoms = np.asarray(units.geometry.values, dtype=object)
        self._unit_tree = shapely.STRtree(self._unit_geoms)
        shapely.prepare(self._unit_geoms)  # point-in-polygon in log time; see at()
        self._unit_mun = units["municipality_code"].to_numpy(dtype=object)
        self._unit_borough = np.array([b if isinstance(b, str) else None for b in units["borough"]], dtype=object)
        self._unit_area = units["area_id"].to_numpy(dtype=int)
        districts = model.districts.reset_index(drop=True)
        self._district_geoms = districts.geometry.values
        self._district_tree = shapely.STRtree(self._district_geoms)
        self._district_names = districts["name"].to_numpy(dtype=object)
        self.area_names = dict(zip(model.areas["id"].astype(int), model.areas["name"]))
        self.area_provenance = dict(zip(model.areas["id"].astype(int), model.areas["provenance"]))
        self._by_token: dict[str, AdminUnit] = {}
        self._by_name: dict[str, list[AdminUnit]] = {}
        self._build(units, districts)

    # -- lookups ---------------------------------------------------------------------------------------------------
    def get(self, token: str) -> AdminUnit | None:
        """The unit of a token, or None."""
        return self._by_token.get(token)

    def named(self, name: str) -> list[AdminUnit]:
        """Units whose name folds to ``fold(name)`` (a municipality, a borough, a district)."""
        return list(self._by_name.get(fold(name), []))

    def boroughs_of(self, municipality_code: str) -> list[AdminUnit]:
        """Stockholm city's boroughs (empty for any other municipality)."""
        if municipality_code != STOCKHOLM_CODE:
            return []
        return [u for u in self._by_token.values() if u.kind == "borough"]

    def contains(self, outer: str, inner: str) -> bool:
        """True when unit ``inner`` lies in unit ``outer`` (or is it)."""
        if outer == inner:
            return True
        a, b = self._by_token.get(outer), self._by_token.get(inner)
        if a is None or b is None:
            return False
        if a.kind == "municipality":
            return b.municipality_code == a.municipality_code
        if a.kind == "borough":
            return b.kind == "district" and b.borough == a.borough
        return False

    def at(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Municipality code, borough (None outside Stockholm city) and area id (-1 outside the county) of each
        EPSG:3006 point; points off the generalised coastline take the nearest unit within :data:`OFF_COAST_M`."""
        points = shapely.points(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        n = len(points)
        hit = np.full(n, -1, dtype=int)
        # Candidates by bounding box, then the exact test on the prepared polygons: for a street's or a postcode's
        # many points this is 10-20x faster than the tree's own predicate, which tests unprepared polygons.
        src, dst = self._unit_tree.query(points)
        keep = shapely.intersects(self._unit_geoms[dst], points[src])
        src, dst = src[keep], dst[keep]
        order = np.lexsort((dst, src))
        src, dst = src[order], dst[order]
        hit[src[::-1]] = dst[::-1]  # first (lowest-numbered) unit wins
        missing = np.flatnonzero(hit < 0)
        if missing.size:
            src, dst = self._unit_tree.query_nearest(points[missing], max_distance=OFF_COAST_M)
            hit[missing[src]] = dst
        mun = np.where(hit >= 0, self._unit_mun[np.maximum(hit, 0)], None)
        borough = np.where(hit >= 0, self._unit_borough[np.maximum(hit, 0)], None)
        area = np.where(hit >= 0, self._unit_area[np.maximum(hit, 0)], -1)
        return mun, borough, area

    def district_at(self, x: float, y: float) -> str | None:
        """The Stockholm stadsdel at an EPSG:3006 point, or None."""
        hits = self._district_tree.query(shapely.Point(x, y), predicate="intersects")
        return str(self._district_names[int(hits.min())]) if hits.size else None

    def districts_at(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The Stockholm stadsdel of each EPSG:3006 point (object array; None where there is none within
        :data:`OFF_COAST_M`), as :meth:`district_at` for many points at once: the lowest-numbered district wins."""
        points = shapely.points(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        out = np.full(len(points), None, dtype=object)
        src, dst = self._district_tree.query(points, predicate="intersects")
        order = np.lexsort((dst, src))
        src, dst = src[order], dst[order]
        out[src[::-1]] = self._district_names[dst[::-1]]
        missing = np.flatnonzero(np.equal(out, None))
        if missing.size:
            src, dst = self._district_tree.query_nearest(points[missing], max_distance=OFF_COAST_M, all_matches=False)
            out[missing[src]] = self._district_names[dst]
        return out

    def districts_of(self, borough: str) -> list[AdminUnit]:
        """The stadsdelar (district units) of a Stockholm borough."""
        return [u for u in self._by_token.values() if u.kind == "district" and u.borough == borough]

    def tokens_at(self, x: float, y: float) -> list[str]:
        """Every unit token containing a point, coarsest first (municipality, borough, district)."""
        mun, borough, _ = self.at(np.array([x]), np.array([y]))
        out = []
        if mun[0] is not None:
            out.append(f"municipality:{mun[0]}")
        if borough[0] is not None:
            out.append(f"borough:{borough[0]}")
            district = self.district_at(x, y)
            if district:
                out.append(f"district:{district}")
        return out

    # -- building ---------------------------------------------------------------------------------------------------
    def _build(self, units, districts) -> None:
        deso = self.model.deso
        reps = shapely.point_on_surface(deso.geometry.values)
        rx, ry = shapely.get_x(reps), shapely.get_y(reps)
        pop = deso["population"].to_numpy(dtype=float)
        deso_mun = deso["municipality_code"].to_numpy(dtype=object)
        deso_borough = deso["borough"].to_numpy(dtype=object)
        municipalities = units.dissolve(by="municipality_code", aggfunc={"municipality_name": "first"}, as_index=False)
        areas_of_mun = units.groupby("municipality_code")["area_id"].apply(lambda s: tuple(sorted(set(map(int, s)))))
        for row in municipalities.itertuples(index=False):
            code = row.municipality_code
            mask = deso_mun == code
            label = f"{row.municipality_name} kommun"
            self._add(AdminUnit, "municipality", code, row.municipality_name, label, code, None,
                      areas_of_mun[code], row.geometry, rx[mask], ry[mask], pop[mask])
        for row in units[units["borough"].notna()].itertuples(index=False):
            mask = deso_borough == row.borough
            self._add(AdminUnit, "borough", row.borough, row.borough, f"{row.borough} (Stockholm)", STOCKHOLM_CODE,
                      row.borough, (int(row.area_id),), row.geometry, rx[mask], ry[mask], pop[mask])
        borough_area = dict(zip(units["borough"], units["area_id"]))
        inside = shapely.STRtree(reps)
        for name, borough, geom in zip(districts["name"], districts["borough"], districts.geometry.values):
            if not isinstance(borough, str) or borough not in borough_area:
                continue
            idx = inside.query(geom, predicate="contains")
            self._add(AdminUnit, "district", name, name, f"{name} ({borough}, Stockholm)", STOCKHOLM_CODE, borough,
                      (int(borough_area[borough]),), geom, rx[idx], ry[idx], pop[idx])

    def _add(self, cls, kind, key, name, label, code, borough, area_ids, geom, xs, ys, weights) -> None:
        x, y = _likely_point(geom, xs, ys, weights)
        lat, lon = to_wgs84(x, y)
        width = float(shapely.hausdorff_distance(shapely.Point(x, y), geom.boundary))
        unit = cls(f"{kind}:{key}", kind, str(name), label, code, borough, tuple(area_ids), float(x), float(y),
                   float(lat), float(lon), round(width, -1))
        self._by_token[unit.token] = unit
        self._by_name.setdefault(fold(str(name)), []).append(unit)


def _likely_point(geom, xs: np.ndarray, ys: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    """The population-weighted centre moved to the nearest populated representative point inside ``geom``."""
    if len(xs) and weights.sum() > 0:
        cx, cy = np.average(xs, weights=weights), np.average(ys, weights=weights)
        k = int(np.argmin((xs - cx) ** 2 + (ys - cy) ** 2))
        return float(xs[k]), float(ys[k])
    point = geom.representative_point()
    return float(point.x), float(point.y)


__all__ = ["AdminUnit", "AdminUnits", "OFF_COAST_M"]
