"""OpenStreetMap as an address register: ``addr:*`` nodes and ways, and named streets, of an OSM file.

Reads ``.osm`` XML, ``.osm.pbf``/``.pbf``, ``.osm.gz``/``.osm.bz2`` (and ``.o5m``) with pyosmium; OSM is WGS84 and
every record is projected to EPSG:3006 metres.

- addresses: every node or way with ``addr:housenumber``; a way's point is its building outline's centroid (the
  mean of its nodes when it is open or degenerate). The street is ``addr:street``, else ``addr:place`` (villages
  and islands without street names). ``addr:postcode`` is normalised to five digits ("118 52" → "11852"; None when
  not a Swedish postcode), ``addr:city`` is the city, source_id "n123" (node) or "w456" (way).
- streets: ``highway`` ways with a ``name``, as :class:`StreetLine` pieces.

Skipped: addresses with neither ``addr:street`` nor ``addr:place``, nodes/ways whose locations are not in the file
(an extract cut at its border), and relations (multipolygon buildings carrying an address are rare; none in the
project's samples).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import shapely

from core.crs import to_metric
from geo.geocode.registers.records import AddressPoint, SourceError, StreetLine, clean_postcode

log = logging.getLogger(__name__)

SOURCE = "osm"
OSM_SUFFIXES = (".osm", ".osm.pbf", ".pbf", ".osm.gz", ".osm.bz2", ".o5m")


def read_osm(path: Path) -> tuple[list[StreetLine], list[AddressPoint]]:
    """Named ``highway`` ways and ``addr:*`` nodes/ways of an OSM file, in EPSG:3006.

    Parameters
    ----------
    path : Path
        An OSM file (``.osm``, ``.osm.pbf``, ``.pbf``, ``.osm.gz``, ``.osm.bz2``, ``.o5m``), WGS84 as OSM is.

    Returns
    -------
    streets : list of StreetLine
        One per named highway way, coordinates in EPSG:3006 metres.
    addresses : list of AddressPoint
        ``x``/``y`` in EPSG:3006 metres, ``source`` "osm", ``source_id`` "n<id>" or "w<id>".

    Raises
    ------
    SourceError
        When the file is missing or pyosmium cannot read it.
    """
    import osmium  # only needed at build time

    if not path.exists():
        raise SourceError(f"OSM file not found: {path}.")
    lines: list[tuple[str, list[tuple[float, float]]]] = []
    raw_addresses: list[tuple[str, dict, list[tuple[float, float]], bool]] = []
    try:
        processor = (
            osmium.FileProcessor(str(path))
            .with_locations()
            .with_filter(osmium.filter.KeyFilter("addr:housenumber", "highway"))
        )
        for obj in processor:
            if obj.is_node():
                if "addr:housenumber" in obj.tags and obj.location.valid():
                    location = obj.location
                    raw_addresses.append((f"n{obj.id}", dict(obj.tags), [(location.lon, location.lat)], False))
            elif obj.is_way():
                coords = [(n.lon, n.lat) for n in obj.nodes if n.location.valid()]
                if not coords:
                    continue
                if "addr:housenumber" in obj.tags:
                    raw_addresses.append((f"w{obj.id}", dict(obj.tags), coords, obj.is_closed()))
                if "highway" in obj.tags and "name" in obj.tags and len(coords) >= 2:
                    lines.append((obj.tags["name"], coords))
    except RuntimeError as exc:
        raise SourceError(f"Cannot read the OSM file {path.name}: {exc}") from exc
    streets = []
    for name, coords in lines:
        lon, lat = np.asarray(coords).T
        x, y = to_metric(lat, lon)
        streets.append(StreetLine(name.strip(), np.column_stack([x, y])))
    addresses = []
    unnamed = 0
    for source_id, tags, coords, closed in raw_addresses:
        street = (tags.get("addr:street") or tags.get("addr:place") or "").strip()
        number = tags["addr:housenumber"].strip()
        if not street or not number:
            unnamed += 1
            continue
        lon, lat = _centroid(coords, closed)
        x, y = to_metric(lat, lon)
        city = (tags.get("addr:city") or "").strip() or None
        addresses.append(
            AddressPoint(
                street, number, clean_postcode(tags.get("addr:postcode")), city, float(x), float(y),
                source=SOURCE, source_id=source_id,
            )
        )  # fmt: skip
    log.info("%s: %d street pieces, %d addresses; %d without street or place skipped",
             path.name, len(streets), len(addresses), unnamed)  # fmt: skip
    return streets, addresses


def _centroid(coords: list[tuple[float, float]], closed: bool) -> tuple[float, float]:
    """(lon, lat) of a building outline's centroid, or the mean of an open way's nodes."""
    if closed and len(coords) >= 4:
        polygon = shapely.Polygon(coords)
        if polygon.is_valid and polygon.area > 0:
            return polygon.centroid.x, polygon.centroid.y
    lon, lat = np.mean(np.asarray(coords), axis=0)
    return float(lon), float(lat)
