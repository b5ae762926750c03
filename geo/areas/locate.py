"""Point → area: which ASIH area, municipality and Stockholm district a point lies in, and how close to a border.

Area borders come from two sources of very different accuracy. The municipality borders are Lantmäteriet's 1:1M
overview map (off by ~100 m), so a point within ``settings.border_warning_m`` of another area gets a warning with the
distance: the official register decides such cases. The borders between Stockholm city's boroughs are the city's own
map (property-level): where such a border lies farther than ``border_warning_m`` from every 1:1M line (and from the
DeSO land added where the 1:1M coastline leaves it out), its margin is ``settings.borough_border_margin_m``
(:meth:`AreaLocator.near_areas`, used by the area decision). The warning itself stays at ``border_warning_m``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import shapely

from geo.areas.model import AreaModel
from core.crs import to_metric, verify_lat_lon
from core.settings import COUNTY_CODE
from core.words import Note, render

COAST_SNAP_M = 300.0
"""A point off the generalised coastline (in no municipality at all) but this close to an area gets that area (m)."""


@dataclass(frozen=True)
class BorderWarning:
    """The point is close to another area: ``distance_m`` metres to area ``neighbour_area_id``."""

    distance_m: float
    neighbour_area_id: int
    neighbour_area_name: str
    precise: bool = False
    """True when the border is from Stockholm city's borough map (property-level), not the generalised 1:1M map."""

    @property
    def note(self) -> Note:
        """The warning as a typed note (``near_border``), worded at the edge (its sentence names the border's
        source: generalised, or Stockholm city's own map)."""
        return Note("near_border", "caution", {"distance_m": self.distance_m, "area": self.neighbour_area_id,
                                               "area_name": self.neighbour_area_name},
                    "near_border_precise" if self.precise else None)

    @property
    def short_text(self) -> str:
        """The catalogue key of the warning without its "Near an area border" lead."""
        return "border_precise" if self.precise else "border"

    def render(self, lang: str = "en") -> str:
        """The warning without its "Near an area border" lead, in ``lang``."""
        return render(self.short_text, self.note.params, lang)

    @property
    def message(self) -> str:
        """:meth:`render` in English."""
        return self.render("en")


@dataclass(frozen=True)
class Location:
    """Answer of :meth:`AreaLocator.locate`. ``area_id`` is None when the point is outside Stockholm County."""

    lat: float
    lon: float
    area_id: int | None
    area_name: str | None
    area_provenance: str | None
    municipality_code: str | None
    municipality_name: str | None
    district: str | None
    stadsdel: str | None
    border_warning: BorderWarning | None
    note: Note | None = None
    """Why the point is outside the county, or was moved onto land (``off_coastline``); None otherwise."""

    @property
    def message(self) -> str | None:
        """:attr:`note` in English (for the CLI and error sentences)."""
        return None if self.note is None else self.note.message

    @property
    def inside(self) -> bool:
        """True when the point is in one of the areas."""
        return self.area_id is not None

    def to_dict(self, lang: str = "en") -> dict:
        """Plain-JSON form (``asih locate --json``), its sentences in ``lang``."""
        d = {k: v for k, v in asdict(self).items() if k != "note"}
        d["message"] = None if self.note is None else self.note.render(lang)
        if self.border_warning is not None:
            d["border_warning"] = {**d["border_warning"], "message": self.border_warning.render(lang)}
        return d


class AreaLocator:
    """Fast point-in-area lookups over a prepared :class:`AreaModel` (STRtree on units and border segments)."""

    def __init__(self, model: AreaModel, border_warning_m: float, borough_margin_m: float | None = None):
        self.model = model
        self.border_warning_m = border_warning_m
        self.borough_margin_m = border_warning_m if borough_margin_m is None else borough_margin_m
        """Margin (m) of the borders drawn by Stockholm's borough map, far from any 1:1M line."""
        self._units = model.units.reset_index(drop=True)
        self._unit_tree = shapely.STRtree(self._units.geometry.values)
        shapely.prepare(self._units.geometry.values)
        self.area_names: dict[int, str] = dict(zip(model.areas["id"], model.areas["name"]))
        """Area id → name."""
        self.area_provenance: dict[int, str] = dict(zip(model.areas["id"], model.areas["provenance"]))
        """Area id → ``confirmed`` or ``hypothesis``."""
        self._districts = model.districts.reset_index(drop=True)
        self._district_tree = shapely.STRtree(self._districts.geometry.values)
        self._segments, self._segment_area = _border_segments(model)
        self._segment_tree = shapely.STRtree(self._segments)
        self._segment_precise = _precise_segments(model, self._segments, border_warning_m)
        """Per border segment: True when Stockholm's borough map drew it (far from every 1:1M line)."""
        self._segment_margin = np.where(self._segment_precise & (self.borough_margin_m < border_warning_m),
                                        self.borough_margin_m, float(border_warning_m))
        """Per border segment: its source's margin (m), ``border_warning_m`` or ``borough_margin_m``."""
        self._land = model.land.geometry.values
        self._land_tree = shapely.STRtree(self._land)
        self._sweden = model.all_municipalities.reset_index(drop=True)
        self._sweden_tree = shapely.STRtree(self._sweden.geometry.values)

    def locate(self, lat: float, lon: float) -> Location:
        """Locate a WGS84 point (degrees). Never raises for a point outside the county; see ``Location.message``."""
        verify_lat_lon(lat, lon)
        x, y = to_metric(lat, lon)
        return self.locate_xy(float(x), float(y), lat=lat, lon=lon)

    def locate_xy(self, x: float, y: float, lat: float = float("nan"), lon: float = float("nan")) -> Location:
        """Locate an EPSG:3006 point (metres)."""
        point = shapely.Point(x, y)
        hits = self._unit_tree.query(point, predicate="intersects")
        note = None
        if hits.size == 0:
            hit, note = self._off_coast(point)
            if hit is None:
                return self._outside(point, lat, lon)
        else:
            hit = int(hits.min())
        unit = self._units.iloc[hit]
        area_id = int(unit["area_id"])
        borough = unit["borough"] if isinstance(unit["borough"], str) else None
        return Location(
            lat=lat,
            lon=lon,
            area_id=area_id,
            area_name=self.area_names[area_id],
            area_provenance=self.area_provenance[area_id],
            municipality_code=unit["municipality_code"],
            municipality_name=unit["municipality_name"],
            district=borough,
            stadsdel=self._stadsdel(point) if borough else None,
            border_warning=self._border_warning(point, area_id),
            note=note,
        )

    def near_areas(self, points: np.ndarray, own: np.ndarray, reach_m=0.0,
                   flat_m: float | None = None) -> list[set[int]]:
        """Per EPSG:3006 point, the other areas whose border lies within the margin of that border's source.

        Parameters
        ----------
        points : (n, 2) array
            EPSG:3006 metres.
        own : (n,) array of int
            Each point's own area id (-1 outside); its own area's borders are not counted.
        reach_m : float or (n,) array
            Per point, how far the patient may be from the nearest point (m; half a street piece), added to the margin of the
            precise (borough map) borders, up to the 1:1M borders' margin.
        flat_m : float or None
            One margin for every border instead (a postcode's points sample a larger area).
        """
        out: list[set[int]] = [set() for _ in range(len(points))]
        widest = flat_m if flat_m is not None else self.border_warning_m
        if widest <= 0 or not len(points):
            return out
        geoms = shapely.points(points)
        src, dst = self._segment_tree.query(geoms, predicate="dwithin", distance=widest)
        if flat_m is None and src.size:
            precise = self._segment_margin[dst] < self.border_warning_m
            # Never wider than the coarse margin: that one was taken for every border before the sources were told
            # apart, and it is no less safe for a precise border.
            reach = np.broadcast_to(np.asarray(reach_m, dtype=float), (len(points),))[src]
            margin = np.where(precise, np.minimum(self._segment_margin[dst] + reach, self.border_warning_m),
                              self._segment_margin[dst])
            keep = shapely.distance(geoms[src], self._segments[dst]) <= margin
            src, dst = src[keep], dst[keep]
        for s_, d in zip(src, dst):
            other = int(self._segment_area[d])
            if other != own[s_]:
                out[s_].add(other)
        return out

    def distance_to_land_m(self, lat: float, lon: float, search_m: float = 5000.0) -> float:
        """Distance (m) from a WGS84 point to the county's land (0 on land; ``inf`` beyond ``search_m``)."""
        verify_lat_lon(lat, lon)
        x, y = to_metric(lat, lon)
        point = shapely.Point(float(x), float(y))
        idx, dist = self._land_tree.query_nearest(point, max_distance=search_m, return_distance=True)
        return float(dist.min()) if idx.size else float("inf")

    def _off_coast(self, point: shapely.Point) -> tuple[int | None, Note | None]:
        if self._sweden_tree.query(point, predicate="intersects").size:
            return None, None  # inside another Swedish municipality: not ours
        idx, dist = self._unit_tree.query_nearest(point, max_distance=COAST_SNAP_M, return_distance=True)
        if idx.size == 0:
            return None, None
        return int(idx[0]), Note("off_coastline", "caution", {"distance_m": float(dist[0])})

    def _outside(self, point: shapely.Point, lat: float, lon: float) -> Location:
        hits = self._sweden_tree.query(point, predicate="intersects")
        if hits.size:
            row = self._sweden.iloc[int(hits[0])]
            text = "outside_point_municipality" if row["county_code"] == COUNTY_CODE else "outside_point_other_county"
            note = Note("outside_county", "decisive", {"municipality": str(row["name"]),
                                                       "county": str(row["county_code"])}, text)
        else:
            note = Note("outside_county", "decisive", text="outside_point_not_sweden")
        return Location(lat, lon, None, None, None, None, None, None, None, None, note)

    def _stadsdel(self, point: shapely.Point) -> str | None:
        hits = self._district_tree.query(point, predicate="intersects")
        if hits.size:
            return str(self._districts.iloc[int(hits.min())]["name"])
        idx = self._district_tree.query_nearest(point, max_distance=self.border_warning_m)
        return str(self._districts.iloc[int(idx[0])]["name"]) if idx.size else None

    def _border_warning(self, point: shapely.Point, area_id: int) -> BorderWarning | None:
        if self.border_warning_m <= 0:
            return None
        near = self._segment_tree.query(point, predicate="dwithin", distance=self.border_warning_m)
        near = near[self._segment_area[near] != area_id]
        if near.size == 0:
            return None
        dists = shapely.distance(point, self._segments[near])
        k = int(np.argmin(dists))
        other = int(self._segment_area[near[k]])
        dist = float(dists[k])
        return BorderWarning(
            distance_m=round(dist, 1),
            neighbour_area_id=other,
            neighbour_area_name=self.area_names[other],
            precise=bool(self._segment_precise[near[k]]),
        )


def _precise_segments(model: AreaModel, segments: np.ndarray, coarse_m: float) -> np.ndarray:
    """Per border segment, True when it lies farther than ``coarse_m`` from every line of the 1:1M municipality map
    (and from the DeSO land added outside it, whose pieces were given to a unit by a rule, not by a border), i.e.
    when Stockholm's borough map drew it."""
    if not len(segments) or coarse_m <= 0:
        return np.zeros(len(segments), dtype=bool)
    sweden = model.all_municipalities
    county = sweden.loc[sweden["county_code"] == COUNTY_CODE].geometry.values
    added = shapely.difference(model.units.geometry.values, shapely.union_all(county))
    lines = shapely.get_parts(shapely.get_parts(np.concatenate([shapely.boundary(county), shapely.boundary(added)])))
    lines = lines[~shapely.is_empty(lines)]
    near, _ = shapely.STRtree(lines).query(segments, predicate="dwithin", distance=coarse_m)
    precise = np.ones(len(segments), dtype=bool)
    precise[near] = False
    return precise


def _border_segments(model: AreaModel) -> tuple[np.ndarray, np.ndarray]:
    """Two-point line segments of every area's boundary, and the area id each belongs to."""
    segments, owners = [], []
    for area_id, geom in zip(model.areas["id"], model.areas.geometry):
        for ring in shapely.get_parts(shapely.get_parts(geom.boundary)):
            coords = shapely.get_coordinates(ring)
            if len(coords) < 2:
                continue
            pairs = np.stack([coords[:-1], coords[1:]], axis=1)
            segments.append(shapely.linestrings(pairs))
            owners.append(np.full(len(pairs), int(area_id)))
    return np.concatenate(segments), np.concatenate(owners)
