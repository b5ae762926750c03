"""Inland water for the offline base map (:mod:`maps.basemap`): lakes, rivers and bays from a configured file.

None of the raw sources leaves inland water out (DeSO and the municipality polygons cover Mälaren and Saltsjön), so
the base map draws only the open sea unless ``settings.basemap_water_file`` (``ASIH_BASEMAP_WATER_FILE``) names a
file of water polygons. It is read by its suffix:

- OpenStreetMap ``.osm.pbf``/``.osm`` (GDAL's OSM driver, layer ``multipolygons``): the tags of :data:`OSM_WATER`,
  as a column or inside the ``other_tags`` string (``"natural"=>"water","water"=>"lake"``); never
  ``natural=wetland`` (:data:`NOT_WATER`).
- any other vector file GDAL reads (GeoPackage, shapefile, GeoJSON, a ``.zip`` of shapefiles): with an ``fclass``
  column (Geofabrik's free shapefiles, ``gis_osm_water_a_free_1``) the classes of :data:`FCLASS_WATER`; with OSM
  tag columns the rule above; with neither, every polygon.

Polygons only (points and lines are ignored), 2-D and made valid, reprojected from the file's declared CRS (a file
without one is refused) to EPSG:3006 and clipped to the base map's frame. :func:`merge_water` joins them with the
sea. A missing or unreadable file raises :class:`WaterFileError` (a :class:`~geo.boundaries.DataFileError`) with one
sentence naming the file and the setting; ``asih prepare`` prints it and keeps what it had prepared.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely

from core.settings import METRIC_CRS, Settings
from geo.boundaries import DataFileError

SETTING = "ASIH_BASEMAP_WATER_FILE"
LAYER_SETTING = "ASIH_BASEMAP_WATER_LAYER"

OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm")
OSM_LAYER = "multipolygons"
"""The layer of GDAL's OSM driver that holds closed ways and multipolygon relations."""
OSM_WATER = {"natural": ("water", "bay", "strait"), "waterway": ("riverbank",), "landuse": ("reservoir", "basin")}
"""OSM tags of an area that is water (key → values)."""
NOT_WATER = {"natural": ("wetland",)}
"""OSM tags that make an area not water whatever else it carries: wetland is land on a map."""
FCLASS_WATER = ("water", "reservoir", "river", "dock")
"""Geofabrik ``fclass`` values of ``gis_osm_water_a_free_1`` drawn as water (``wetland`` and ``glacier`` are not)."""
GEOFABRIK_LAYER = "water_a"
"""Part of the name of Geofabrik's water-area layer, chosen in a file of several layers when none is configured."""
FRAME_STEP_M = 1_000.0
"""Points along the frame's edges (metres apart) when it is taken into the file's CRS, so its curved edges are kept."""



class WaterFileError(DataFileError, ValueError):
    """The water file is missing, unreadable, has no CRS or no such layer. A :class:`~geo.boundaries.DataFileError`
    (``asih prepare`` prints its sentence and stops), and a ``ValueError`` so that a map drawn while the base map
    cannot be rebuilt falls back to its land background (``maps/layers.py``, ``maps/geography.py``), not fail."""


_TAG = re.compile(r'"((?:[^"\\]|\\.)*)"=>"((?:[^"\\]|\\.)*)"')


def water_file(settings: Settings) -> Path | None:
    """The configured water file (absolute, or inside ``settings.data_dir`` like the other raw files), or None."""
    name = settings.basemap_water_file
    return settings.raw(name) if name else None


def load_water(settings: Settings, frame: shapely.Geometry | None = None) -> gpd.GeoSeries | None:
    """The configured water polygons (see :func:`read_water`), or None when no water file is configured."""
    path = water_file(settings)
    return None if path is None else read_water(path, settings.basemap_water_layer, frame)


def read_water(path: Path, layer: str | None = None, frame: shapely.Geometry | None = None) -> gpd.GeoSeries:
    """Water polygons of a vector file, in EPSG:3006.

    Parameters
    ----------
    path : Path
        An OSM ``.osm.pbf``/``.osm`` file or any vector file GDAL reads (module docstring: what is kept).
    layer : str, optional
        The layer to read; defaults to ``multipolygons`` for OSM files, else the file's only layer (or its Geofabrik
        ``*water_a*`` layer).
    frame : shapely geometry, optional
        EPSG:3006 metres: only what lies in it is read, clipped to it.

    Returns
    -------
    gpd.GeoSeries
        Polygons (no multi-parts), CRS EPSG:3006; empty when the file holds no water.

    Raises
    ------
    WaterFileError
        One sentence naming the file and ``ASIH_BASEMAP_WATER_FILE``: missing, unreadable, no such layer, no CRS.
    """
    path = Path(path)
    if not path.is_file():
        raise WaterFileError(f"Water file not found: {path} ({SETTING}; a relative name is taken inside "
                             "ASIH_DATA_DIR).")
    is_osm = path.name.lower().endswith(OSM_SUFFIXES)
    layer = layer or (OSM_LAYER if is_osm else _only_layer(path))
    info = _call(path, lambda: pyogrio.read_info(path, layer=layer))
    if info.get("crs") is None:
        raise WaterFileError(f"The water file {path} ({SETTING}) declares no CRS: write it with one (for a "
                             "shapefile, its .prj), so its coordinates can be placed.")
    fields = {str(f).lower(): str(f) for f in info["fields"]}
    keys = [k for k in (*OSM_WATER, *NOT_WATER) if k in fields]
    if "fclass" in fields:
        columns, where = [fields["fclass"]], _in(fields["fclass"], FCLASS_WATER)
    elif keys or "other_tags" in fields:
        columns = [fields[k] for k in dict.fromkeys([*keys, "other_tags"]) if k in fields]
        where = " OR ".join(_osm_where(fields))
    else:
        columns, where = [], None
    with _osm_options(is_osm) as options:
        gdf = _call(path, lambda: pyogrio.read_dataframe(
            path, layer=layer, columns=columns, where=where or None, bbox=_bbox(frame, info["crs"]), **options))
    if "fclass" in fields:
        keep = gdf[fields["fclass"]].isin(FCLASS_WATER).to_numpy()
    elif columns:
        rows = (dict(zip(columns, values)) for values in zip(*(gdf[c] for c in columns)))
        keep = np.array([_is_water(_tags(row, fields)) for row in rows], dtype=bool)
    else:
        keep = np.ones(len(gdf), dtype=bool)
    geoms = gdf.geometry.values[keep & gdf.geometry.notna().to_numpy()]
    geoms = gpd.GeoSeries(shapely.force_2d(np.asarray(geoms, dtype=object)), crs=gdf.crs)
    metric = shapely.make_valid(np.asarray(geoms.to_crs(METRIC_CRS).values, dtype=object))
    if frame is not None:
        metric = shapely.intersection(np.asarray(metric, dtype=object), frame)
    return gpd.GeoSeries(list(polygons(metric)), crs=METRIC_CRS)


def merge_water(sea: Iterable[shapely.Geometry], water: Iterable[shapely.Geometry], frame: shapely.Geometry,
                tolerance_m: float, min_area_m2: float) -> list[shapely.Polygon]:
    """The sea and the inland water as one set of polygons (EPSG:3006 metres).

    ``water`` is clipped to ``frame`` and joined with ``sea``; the union is simplified by ``tolerance_m`` (metres,
    topology kept) and its parts smaller than ``min_area_m2`` (square metres: below what the layer resolves) are
    dropped. Largest part first.
    """
    inland = shapely.intersection(np.asarray(list(water), dtype=object), frame)
    union = shapely.union_all([*sea, *polygons(inland)])
    union = union.simplify(tolerance_m, preserve_topology=True)
    return sorted((p for p in polygons([union]) if p.area >= min_area_m2), key=lambda p: -p.area)


def polygons(geoms: Iterable[shapely.Geometry | None]) -> Iterable[shapely.Polygon]:
    """The non-empty polygons in ``geoms``, multi-parts and collections taken apart; anything else left out."""
    for geom in geoms:
        if geom is None or geom.is_empty:
            continue
        if isinstance(geom, shapely.Polygon):
            yield geom
        elif isinstance(geom, (shapely.MultiPolygon, shapely.GeometryCollection)):
            yield from polygons(geom.geoms)


def _only_layer(path: Path) -> str:
    names = [str(n) for n, _ in _call(path, lambda: pyogrio.list_layers(path))]
    if len(names) == 1:
        return names[0]
    geofabrik = [n for n in names if GEOFABRIK_LAYER in n.lower()]
    if len(geofabrik) == 1:
        return geofabrik[0]
    raise WaterFileError(f"The water file {path} ({SETTING}) has {len(names)} layers ({', '.join(names[:8])}): "
                         f"name the one to read with {LAYER_SETTING}.")


def _call(path: Path, read):
    """``read()``, with GDAL's errors (several types) turned into one sentence naming the file and the setting."""
    try:
        return read()
    except WaterFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - pyogrio raises several types for broken files and missing layers
        # GDAL's first clause says what is wrong; its hints after ';' name GDAL's options, not ours.
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0].split(";")[0].strip().rstrip(".")
        raise WaterFileError(f"Cannot read the water file {path} ({SETTING}): {detail}.") from exc


@contextmanager
def _osm_options(is_osm: bool) -> Iterator[dict[str, str]]:
    """Open options of GDAL's OSM driver: its configuration with closed ``waterway=riverbank`` ways read as areas
    (the default reads them as lines: ``waterway`` is not in its ``closed_ways_are_polygons``). No options for other
    files, or when GDAL's configuration file cannot be found (riverbank relations are areas either way)."""
    base = Path(os.environ.get("OSM_CONFIG_FILE") or Path(pyogrio.get_gdal_data_path() or ".") / "osmconf.ini")
    if not is_osm or not base.is_file():
        yield {}
        return
    text = re.sub(r"(?m)^(closed_ways_are_polygons=.*)$", lambda m: m.group(1) + ",waterway=riverbank",
                  base.read_text(encoding="utf-8"), count=1)
    with tempfile.TemporaryDirectory(prefix="asih-osmconf-") as folder:
        config = Path(folder) / "osmconf.ini"
        config.write_text(text, encoding="utf-8")
        yield {"CONFIG_FILE": str(config)}


def _bbox(frame: shapely.Geometry | None, crs) -> tuple[float, float, float, float] | None:
    """The frame's bounds in the file's CRS (edges densified first, as they bend in another projection)."""
    if frame is None:
        return None
    edge = shapely.segmentize(shapely.box(*frame.bounds).exterior, FRAME_STEP_M)
    return tuple(float(v) for v in gpd.GeoSeries([edge], crs=METRIC_CRS).to_crs(crs).total_bounds)


def _in(column: str, values: Iterable[str]) -> str:
    return f'"{column}" IN ({", ".join(repr(v) for v in values)})'


def _osm_where(fields: dict[str, str]) -> list[str]:
    """An attribute filter that lets through every candidate (exactly decided by :func:`_is_water`), so GDAL hands
    over the county's few thousand water areas, not its hundreds of thousands of buildings."""
    out = [_in(fields[k], values) for k, values in OSM_WATER.items() if k in fields]
    if "other_tags" in fields:
        out += [f"\"{fields['other_tags']}\" LIKE '%\"{k}\"=>\"{v}\"%'" for k, values in OSM_WATER.items()
                for v in values]
    return out


def _tags(named: dict, fields: dict[str, str]) -> dict[str, str]:
    """OSM tags of one feature (``named``: column → value): its tag columns, and the ``other_tags`` string's pairs
    where no column has the key."""
    named = dict(named)
    tags = {}
    other = named.pop(fields.get("other_tags", "other_tags"), None)
    if isinstance(other, str):
        tags.update((k.replace('\\"', '"'), v.replace('\\"', '"')) for k, v in _TAG.findall(other))
    for lower, original in fields.items():
        value = named.get(original)
        if isinstance(value, str) and value:
            tags[lower] = value
    return tags


def _is_water(tags: dict[str, str]) -> bool:
    if any(tags.get(k) in values for k, values in NOT_WATER.items()):
        return False
    return any(tags.get(k) in values for k, values in OSM_WATER.items())


__all__ = [
    "FCLASS_WATER", "OSM_WATER", "WaterFileError", "load_water", "merge_water", "polygons", "read_water", "water_file",
]
