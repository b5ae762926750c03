"""The geocoder's index: streets (with house numbers), places and postcodes, and its cache files.

The index is built once at prepare time from the raw sources (:mod:`geo.geocode.prepare`) and saved as plain data —
``index.json`` and one ``index.npz`` of point arrays, never pickle (:func:`index_files`, :func:`index_from_files`).
It holds reference data only, never a query. Coordinates are stored both as WGS84 degrees (``lat``/``lon``, for
answers) and EPSG:3006 metres (``x``/``y``, for distances).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.cache import require
from core.encoding import json_bytes, json_value, npz_arrays, npz_bytes
from geo.geocode.normalize import fold

INDEX_VERSION = 3
"""Bump when the index layout changes, so old indexes are rebuilt."""
COARSE_POSTCODE_SHARED = 3
"""A GeoNames point shared by at least this many postcodes is a town centre, not a postcode area."""


@dataclass(frozen=True, slots=True)
class Street:
    """A street in one municipality (same-named streets farther apart than
    :data:`geo.geocode.prepare.STREET_CLUSTER_M` are separate entries).

    ``lat``/``lon`` (degrees) and ``x``/``y`` (EPSG:3006 m) are a representative point on the street: the piece
    midpoint nearest the mean of all midpoints. ``houses`` maps a normalised number ("44B") to (lat, lon).
    ``context`` holds the folded names (municipality, district, postal towns) an address may give as its town.
    """

    name: str
    label: str
    lat: float
    lon: float
    x: float
    y: float
    municipality_code: str
    municipality: str
    district: str | None
    postcodes: tuple[str, ...]
    context: frozenset[str]
    houses: dict[str, tuple[float, float]]
    xy: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    """Every known point of the street (piece midpoints and address points), (n, 2) EPSG:3006 metres."""
    reach: np.ndarray = field(default_factory=lambda: np.empty(0))
    """Per point of ``xy``: half its piece's length (m), how far the street reaches from that midpoint (0 for an
    address point)."""


@dataclass(frozen=True, slots=True)
class Place:
    """A named place. ``kind``: locality (GeoNames postal town), district (Stockholm stadsdel), borough
    (stadsdelsområde) or municipality; ``size`` is its number of postcodes (0 when unknown)."""

    name: str
    label: str
    kind: str
    lat: float
    lon: float
    x: float
    y: float
    municipality_code: str
    in_county: bool
    size: int


@dataclass(frozen=True, slots=True)
class Postcode:
    """A postcode's point: the mean of the indexed addresses carrying it (``addresses`` > 0), else the GeoNames
    centroid. GeoNames gives many postcodes one shared point (all of Stockholm's inner-city "Stockholm" postcodes sit
    at Sergels torg); ``shared`` counts the postcodes at this very point, so answers can say when it is a town centre
    rather than the postcode area."""

    key: str
    label: str
    lat: float
    lon: float
    x: float
    y: float
    municipality_code: str
    in_county: bool
    shared: int
    addresses: int
    town: str = ""
    """The postal town GeoNames gives the postcode ("Järfälla", "Stockholm")."""
    xy: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    """The register's address points carrying this postcode, (n, 2) EPSG:3006 metres (empty without a register)."""

    @property
    def coarse(self) -> bool:
        """True when the point is a postal town's centre shared by several postcodes, not the postcode area."""
        return self.addresses == 0 and self.shared >= COARSE_POSTCODE_SHARED


@dataclass
class GeocoderIndex:
    """Everything the offline geocoder needs, with name lookups precomputed.

    ``street_names``/``place_names`` are the unique folded names; ``street_ids[i]``/``place_ids[i]`` list the entries
    carrying ``street_names[i]``/``place_names[i]``.
    """

    streets: list[Street]
    places: list[Place]
    postcodes: dict[str, Postcode]
    street_names: list[str] = field(default_factory=list)
    street_ids: list[list[int]] = field(default_factory=list)
    place_names: list[str] = field(default_factory=list)
    place_ids: list[list[int]] = field(default_factory=list)
    postcode_table: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Postcode key → (municipality code, postal town) from the postcode table (``settings.postcode_municipality_file``;
    :func:`geo.geocode.sources.read_postcode_municipalities`); empty without one."""

    def __post_init__(self) -> None:
        if not self.street_names:
            self.street_names, self.street_ids = _lookup([s.name for s in self.streets])
        if not self.place_names:
            self.place_names, self.place_ids = _lookup([p.name for p in self.places])


def _lookup(names: list[str]) -> tuple[list[str], list[list[int]]]:
    ids: dict[str, list[int]] = defaultdict(list)
    for i, name in enumerate(names):
        ids[fold(name)].append(i)
    keys = sorted(ids)
    return keys, [ids[k] for k in keys]


# -- cache files: the index as plain data (JSON + one .npz of point arrays), never pickle ---------------------------

INDEX_JSON = "index.json"
INDEX_NPZ = "index.npz"


def index_files(index: GeocoderIndex) -> dict[str, bytes]:
    """The index as ``index.json`` (every scalar, name and house number) and ``index.npz`` (the point arrays, one
    concatenated (n, 2) array per kind with offsets)."""
    streets = [
        {"name": s.name, "label": s.label, "lat": s.lat, "lon": s.lon, "x": s.x, "y": s.y,
         "municipality_code": s.municipality_code, "municipality": s.municipality, "district": s.district,
         "postcodes": list(s.postcodes), "context": sorted(s.context),
         "houses": {k: list(v) for k, v in s.houses.items()}}
        for s in index.streets
    ]
    places = [[p.name, p.label, p.kind, p.lat, p.lon, p.x, p.y, p.municipality_code, p.in_county, p.size]
              for p in index.places]
    postcodes = [[p.key, p.label, p.lat, p.lon, p.x, p.y, p.municipality_code, p.in_county, p.shared, p.addresses,
                  p.town] for p in index.postcodes.values()]
    arrays = {}
    for kind, entries in (("street", index.streets), ("postcode", list(index.postcodes.values()))):
        xys = [np.asarray(e.xy, dtype=np.float64).reshape(-1, 2) for e in entries]
        arrays[f"{kind}_xy"] = np.concatenate(xys) if xys else np.empty((0, 2))
        arrays[f"{kind}_offsets"] = np.concatenate([[0], np.cumsum([len(xy) for xy in xys], dtype=np.int64)])
    reach = [np.broadcast_to(np.asarray(s.reach, dtype=np.float64), (len(s.xy),)) if len(s.reach) else
             np.zeros(len(s.xy)) for s in index.streets]
    arrays["street_reach"] = np.concatenate(reach) if reach else np.empty(0)
    doc = {"version": INDEX_VERSION, "streets": streets, "places": places, "postcodes": postcodes,
           "postcode_table": {k: list(v) for k, v in index.postcode_table.items()}}
    return {INDEX_JSON: json_bytes(doc), INDEX_NPZ: npz_bytes(arrays)}


def index_from_files(files: dict[str, bytes], entry: Path) -> GeocoderIndex:
    """The index from verified files, checked: finite coordinates, point arrays matching the entries."""
    doc = json_value(files[INDEX_JSON])
    arrays = npz_arrays(files[INDEX_NPZ])
    require(doc.get("version") == INDEX_VERSION, entry / INDEX_JSON, f"index version {doc.get('version')}")
    xy = {}
    for kind, n in (("street", len(doc["streets"])), ("postcode", len(doc["postcodes"]))):
        points, offsets = arrays[f"{kind}_xy"], arrays[f"{kind}_offsets"]
        require(points.ndim == 2 and points.shape[1] == 2 and bool(np.isfinite(points).all()), entry / INDEX_NPZ,
                f"{kind} points not a finite (n, 2) array")
        require(offsets.shape == (n + 1,) and int(offsets[0]) == 0 and int(offsets[-1]) == len(points)
                and bool((np.diff(offsets) >= 0).all()), entry / INDEX_NPZ, f"{kind} offsets do not index the points")
        xy[kind] = [points[offsets[i]:offsets[i + 1]] for i in range(n)]
    reach, offsets = arrays["street_reach"], arrays["street_offsets"]
    require(reach.shape == (int(offsets[-1]),) and bool(np.isfinite(reach).all()), entry / INDEX_NPZ,
            "street reach does not match the street points")
    streets = [
        Street(name=s["name"], label=s["label"], lat=s["lat"], lon=s["lon"], x=s["x"], y=s["y"],
               municipality_code=s["municipality_code"], municipality=s["municipality"], district=s["district"],
               postcodes=tuple(s["postcodes"]), context=frozenset(s["context"]),
               houses={k: (v[0], v[1]) for k, v in s["houses"].items()}, xy=points,
               reach=reach[offsets[i]:offsets[i + 1]])
        for i, (s, points) in enumerate(zip(doc["streets"], xy["street"], strict=True))
    ]
    places = [Place(*p) for p in doc["places"]]
    postcodes = {p[0]: Postcode(*p, xy=points) for p, points in zip(doc["postcodes"], xy["postcode"], strict=True)}
    coords = np.array([(e.lat, e.lon, e.x, e.y) for e in (*streets, *places, *postcodes.values())], dtype=float)
    require(bool(np.isfinite(coords).all()), entry / INDEX_JSON, "coordinates that are not finite numbers")
    table = {str(k): (str(v[0]), str(v[1])) for k, v in doc["postcode_table"].items()}
    return GeocoderIndex(streets=streets, places=places, postcodes=postcodes, postcode_table=table)


__all__ = ["GeocoderIndex", "Place", "Postcode", "Street", "index_files", "index_from_files"]
