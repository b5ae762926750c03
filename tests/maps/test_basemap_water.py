"""Inland water on the offline base map from a configured file (``maps/water.py``, ``ASIH_BASEMAP_WATER_FILE``).

The real OSM samples of the raw data (a PBF with one pond, an OSM XML with none), files written here in Geofabrik's
``gis_osm_water_a_free_1`` schema and in OSM XML, broken files, and the base map's water with and without the
setting. Every geometry is in EPSG:3006 unless a fixture says EPSG:4326.
"""

from __future__ import annotations

import json
import os

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from shapely.geometry import shape

from core.cache import read_entry, write_entry
from core.crs import geometry_to_wgs84, to_metric
from core.settings import METRIC_CRS, WGS84, Settings
from geo import boundaries
from geo.boundaries import DataFileError
from maps import basemap
from maps.water import load_water, merge_water, read_water, water_file

SODERMALM = "stockholm-sodermalm-sample-2020.osm.pbf"
OSTERMALM = "stockholm-ostermalm-sample-2020.osm"
LAKE = (59.33, 17.75)
"""lat, lon in Mälaren between Ekerö and Färingsö: land in every raw source, so not water without a water file."""


def square(lat: float, lon: float, side_m: float) -> shapely.Polygon:
    """A square of ``side_m`` metres centred on a WGS84 point, in EPSG:3006."""
    x, y = to_metric(lat, lon)
    return shapely.box(x - side_m / 2, y - side_m / 2, x + side_m / 2, y + side_m / 2)


def point(lat: float, lon: float) -> shapely.Point:
    return shapely.Point(*to_metric(lat, lon))


def geofabrik(path, rows: list[tuple[str, tuple[float, float]]], side_m: float = 300.0) -> None:
    """A GeoPackage in the schema of Geofabrik's ``gis_osm_water_a_free_1`` (EPSG:4326): ``(fclass, (lat, lon))``
    rows, each a square of ``side_m`` metres."""
    codes = {"water": 8200, "reservoir": 8201, "river": 8202, "dock": 8203, "glacier": 8211, "wetland": 8221}
    gpd.GeoDataFrame(
        {"osm_id": [str(i) for i in range(len(rows))], "code": [codes[c] for c, _ in rows],
         "fclass": [c for c, _ in rows], "name": [f"{c} {i}" for i, (c, _) in enumerate(rows)]},
        geometry=[geometry_to_wgs84(square(*at, side_m)) for _, at in rows], crs=WGS84,
    ).to_file(path, layer="gis_osm_water_a_free_1", engine="pyogrio")


def with_water(settings: Settings, name, cache_dir=None) -> Settings:
    update = {"basemap_water_file": None if name is None else str(name)}
    if cache_dir is not None:
        update["cache_dir"] = cache_dir
    return settings.model_copy(update=update)


# -- the reader ----------------------------------------------------------------------------------------------------


def test_the_pbf_sample_gives_its_one_pond_and_nothing_else(settings):
    path = settings.raw(SODERMALM)
    water = read_water(path)
    assert water.crs == METRIC_CRS and len(water) == 1
    (pond,) = water
    assert pond.geom_type == "Polygon" and pond.area == pytest.approx(45.2, abs=0.5)  # m²: a pond in a park

    every = pyogrio.read_dataframe(path, layer="multipolygons").to_crs(METRIC_CRS)
    assert len(every) == 165
    assert shapely.box(*every.total_bounds).contains(pond)
    tagged = every.geometry[every["natural"] == "water"].union_all()
    assert pond.symmetric_difference(tagged).area < 0.01
    buildings = every.geometry[every["building"].notna()].values
    assert len(buildings) > 100
    assert not shapely.equals(buildings, pond).any()


def test_the_osm_xml_sample_has_no_water(settings):
    water = read_water(settings.raw(OSTERMALM))
    assert water.crs == METRIC_CRS and len(water) == 0


def test_osm_water_tags_in_columns_and_other_tags_never_wetland(tmp_path):
    # Closed ways 300 m apart along lon 17.75: a lake (natural=water, water=lake in other_tags), a riverbank (only in
    # other_tags; GDAL reads it as a line unless told), a wetland, a reservoir and a building.
    kinds = [("lake", {"natural": "water", "water": "lake"}), ("riverbank", {"waterway": "riverbank"}),
             ("wetland", {"natural": "wetland", "wetland": "marsh"}), ("reservoir", {"landuse": "reservoir"}),
             ("building", {"building": "yes"})]
    nodes, ways = [], []
    for i, (_, tags) in enumerate(kinds):
        lat = 59.33 + 0.004 * i
        corners = [(lat, 17.75), (lat, 17.753), (lat + 0.002, 17.753), (lat + 0.002, 17.75)]
        ids = [10 * i + k + 1 for k in range(4)]
        nodes += [f'<node id="{n}" lat="{a}" lon="{o}"/>' for n, (a, o) in zip(ids, corners)]
        refs = "".join(f'<nd ref="{n}"/>' for n in [*ids, ids[0]])
        ways.append(f'<way id="{100 + i}">{refs}' + "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
                    + "</way>")
    path = tmp_path / "water.osm"
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">' + "".join(nodes + ways) + "</osm>",
                    encoding="utf-8")
    water = read_water(path)
    inside = {name: point(59.331 + 0.004 * i, 17.7515) for i, (name, _) in enumerate(kinds)}
    found = {name for name, p in inside.items() if water.contains(p).any()}
    assert found == {"lake", "riverbank", "reservoir"} and len(water) == 3


def test_geofabrik_water_areas_keep_water_and_river_not_wetland(tmp_path):
    path = tmp_path / "gis_osm_water_a_free_1.gpkg"
    places = {"water": (59.33, 17.75), "wetland": (59.34, 17.75), "river": (59.35, 17.75)}
    geofabrik(path, list(places.items()))
    water = read_water(path)
    assert water.crs == METRIC_CRS and len(water) == 2
    found = {fclass for fclass, at in places.items() if water.contains(point(*at)).any()}
    assert found == {"water", "river"}
    assert water.area.sum() == pytest.approx(2 * 300.0**2, rel=0.01)


def test_a_file_without_tags_is_all_water_polygons_only(tmp_path):
    path = tmp_path / "lakes.geojson"
    gpd.GeoDataFrame({"name": ["a", "b", "c"]}, crs=METRIC_CRS, geometry=[
        square(59.33, 17.75, 200.0), square(59.34, 17.75, 200.0), point(59.35, 17.75)]).to_file(path)
    water = read_water(path)
    assert len(water) == 2 and set(water.geom_type) == {"Polygon"}


def test_a_file_without_crs_is_refused_naming_it(tmp_path):
    path = tmp_path / "lakes.shp"
    with pytest.warns(UserWarning, match="crs"):
        gpd.GeoDataFrame({"name": ["a"]}, geometry=[square(59.33, 17.75, 200.0)]).to_file(path, engine="pyogrio")
    with pytest.raises(DataFileError, match=r"lakes\.shp \(ASIH_BASEMAP_WATER_FILE\) declares no CRS"):
        read_water(path)


def test_a_file_that_is_no_vector_file_is_refused_naming_it(tmp_path):
    path = tmp_path / "water.gpkg"
    path.write_bytes(np.random.default_rng(3006).bytes(4096))
    with pytest.raises(DataFileError, match=r"Cannot read the water file .*water\.gpkg \(ASIH_BASEMAP_WATER_FILE\)"):
        read_water(path)


def test_a_missing_file_is_named_with_its_setting_inside_the_data_dir(settings):
    configured = with_water(settings, "no-such-water.osm.pbf")
    assert water_file(configured) == settings.data_dir / "no-such-water.osm.pbf"
    with pytest.raises(DataFileError, match="not found: .*no-such-water.osm.pbf \\(ASIH_BASEMAP_WATER_FILE"):
        load_water(configured)
    assert water_file(with_water(settings, "/data/county.osm.pbf")).as_posix() == "/data/county.osm.pbf"
    assert water_file(settings.model_copy(update={"basemap_water_file": None})) is None
    assert load_water(settings.model_copy(update={"basemap_water_file": None})) is None


def test_the_setting_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("ASIH_BASEMAP_WATER_FILE", "stockholm-county.osm.pbf")
    monkeypatch.setenv("ASIH_BASEMAP_WATER_LAYER", "multipolygons")
    s = Settings()
    assert s.basemap_water_file == "stockholm-county.osm.pbf" and s.basemap_water_layer == "multipolygons"


# -- merging with the sea ------------------------------------------------------------------------------------------


def test_merge_clips_to_the_frame_joins_the_sea_and_drops_only_invisible_ponds():
    frame = shapely.box(0, 0, 10_000, 10_000)
    sea = [shapely.box(8_000, 0, 10_000, 10_000)]
    lake = shapely.box(1_000, 1_000, 2_000, 2_000)  # 1 km²
    bay = shapely.box(7_000, 5_000, 8_500, 6_000)  # touches the sea: one part with it
    outside = shapely.box(9_000, 9_000, 12_000, 12_000)  # reaches out of the frame: clipped
    pond = shapely.box(5_000, 5_000, 5_040, 5_040)  # 1 600 m², under a 60 m square
    small_lake = shapely.box(3_000, 1_000, 3_070, 5_070)  # 70 m wide: drawn
    parts = merge_water(sea, [lake, bay, outside, pond, small_lake], frame, 60.0, 60.0**2)
    merged = shapely.union_all(parts)
    assert len(parts) == 3 and frame.contains(merged)
    assert merged.contains(shapely.Point(1_500, 1_500)) and merged.contains(shapely.Point(7_500, 5_500))
    assert not merged.intersects(shapely.Point(5_020, 5_020))
    assert merged.area == pytest.approx(2_000 * 10_000 + 1_000**2 + 1_000 * 1_000 + 70 * 4_070, rel=0.001)


# -- the base map --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lake_file(tmp_path_factory):
    """A 1 km² lake in Mälaren (EPSG:4326), as Geofabrik would deliver it."""
    path = tmp_path_factory.mktemp("water") / "gis_osm_water_a_free_1.gpkg"
    geofabrik(path, [("water", LAKE)], side_m=1000.0)
    return path


@pytest.fixture(scope="module")
def land(settings):
    return boundaries.load_deso(settings), boundaries.load_all_municipalities(settings)


def _water_of(features: list[dict]) -> shapely.Geometry:
    (water,) = [f for f in features if f["properties"]["kind"] == "water"]
    geometry = water["geometry"]  # a built layer's dict, or _water's GeoJSON text (a str)
    geometry = json.loads(geometry) if isinstance(geometry, str) else geometry
    return shapely.transform(shape(geometry),
                             lambda xy: np.column_stack(to_metric(xy[:, 1], xy[:, 0])))


def test_without_the_setting_the_lake_is_land_with_it_water(settings, land, lake_file):
    without = _water_of(basemap._water(*land, with_water(settings, None)))
    with_lake = _water_of(basemap._water(*land, with_water(settings, lake_file)))
    assert not without.contains(point(*LAKE))
    assert with_lake.contains(point(*LAKE))
    # The sea is still all there: the lake adds its own square kilometre (±60 m simplification), nothing else.
    assert with_lake.area - without.area == pytest.approx(1e6, rel=0.05)


def test_the_built_layer_draws_the_lake(settings, lake_file):
    layer = json.loads(basemap.build_basemap(with_water(settings, lake_file)))
    assert _water_of(layer["features"]).contains(point(*LAKE))
    assert "place" in {f["properties"]["kind"] for f in layer["features"]}


def test_the_cache_checksum_follows_the_water_file(settings, tmp_path):
    path = tmp_path / "lakes.gpkg"
    geofabrik(path, [("water", LAKE)])
    without = basemap._checksum(with_water(settings, None))
    first = basemap._checksum(with_water(settings, path))
    assert first != without
    assert basemap._checksum(with_water(settings, path)) == first
    geofabrik(path, [("water", LAKE), ("river", (59.34, 17.75))])
    assert basemap._checksum(with_water(settings, path)) != first


def test_a_broken_water_file_keeps_the_prepared_layer(settings, tmp_path):
    entry = tmp_path / basemap.ENTRY_NAME
    prepared = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"kind": k}, "geometry": None} for k in ("road", "place")]}).encode()
    write_entry(entry, basemap._checksum(with_water(settings, None, tmp_path)), {basemap.FILE: prepared})
    broken = tmp_path / "county.osm.pbf"
    broken.write_bytes(os.urandom(2048))
    with pytest.raises(DataFileError, match=r"county\.osm\.pbf \(ASIH_BASEMAP_WATER_FILE\)") as raised:
        basemap.load_basemap(with_water(settings, broken, tmp_path))
    assert isinstance(raised.value, ValueError)  # the maps drawn meanwhile fall back to their land background
    assert read_entry(entry, [basemap.FILE])[basemap.FILE] == prepared
    assert basemap.load_basemap(with_water(settings, None, tmp_path), rebuild=False).text == prepared
