"""The prepared base map on the real data: water where the sea is, the main roads by class, the county's names."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from core.cache import CacheError
from core.crs import to_metric
from maps.basemap import PLACE_RANK, ROAD_CLASSES, load_basemap


@pytest.fixture(scope="module")
def layer(settings):
    return load_basemap(settings)


def geometry_to_metric(geom):
    return shapely.transform(geom, lambda xy: np.column_stack(to_metric(xy[:, 1], xy[:, 0])))


def _by_kind(layer, kind):
    return layer.features(kind)


def test_water_is_the_sea_not_the_land(layer):
    (water,) = _by_kind(layer, "water")
    sea = shape(water["geometry"])
    assert sea.geom_type == "MultiPolygon" and len(sea.geoms) >= 1
    # lon, lat: the open sea south of Utö and east of Sandhamn; Sergels torg, Södertälje, Norrtälje on land.
    for lon, lat in [(18.70, 59.00), (19.10, 59.25)]:
        assert sea.contains(shapely.Point(lon, lat)), (lat, lon)
    for lon, lat in [(18.0649, 59.3326), (17.6253, 59.1955), (18.7020, 59.7580), (18.3420, 59.3830)]:
        assert not sea.contains(shapely.Point(lon, lat)), (lat, lon)


def test_main_roads_by_class_from_the_network(layer):
    roads = {f["properties"]["class"]: shape(f["geometry"]) for f in _by_kind(layer, "road")}
    assert set(roads) == set(ROAD_CLASSES)
    metric = {cls: geometry_to_metric(geom) for cls, geom in roads.items()}
    km = {cls: geom.length / 1000 for cls, geom in metric.items()}
    assert km["motorway"] > 150 and km["secondary"] > km["primary"] > km["trunk"] > 5, km
    # E4 through Sollentuna (at Häggvik) is a motorway: the line passes within 500 m.
    x, y = to_metric(59.4440, 17.9300)
    assert metric["motorway"].distance(shapely.Point(x, y)) < 500


def test_place_names_of_every_kind_in_placing_order(layer):
    places = [f["properties"] for f in _by_kind(layer, "place")]
    kinds = {p["place"] for p in places}
    assert kinds == set(PLACE_RANK)
    municipalities = {p["name"] for p in places if p["place"] == "municipality"}
    assert len(municipalities) == 26 and {"Stockholm", "Södertälje", "Norrtälje", "Upplands-Bro"} <= municipalities
    localities = {p["name"] for p in places if p["place"] == "locality"}
    assert {"Märsta", "Åkersberga", "Gustavsberg", "Tumba", "Kungsängen"} <= localities
    boroughs = {p["name"] for p in places if p["place"] == "borough"}
    assert {"Södermalm", "Bromma", "Rinkeby-Kista"} <= boroughs
    names = [p["name"].casefold() for p in places]
    assert len(names) == len(set(names))  # one name once: "Täby" the municipality, not again as a town
    ranks = [p["rank"] for p in places]
    assert ranks == sorted(ranks)
    assert all(p["minzoom"] <= 12 for p in places)
    # A town GeoNames places outside its own municipality is left out, never drawn in the wrong place.
    stockholm = next(f for f in _by_kind(layer, "place") if f["properties"]["name"] == "Stockholm")
    lon, lat = stockholm["geometry"]["coordinates"]
    assert 59.2 < lat < 59.45 and 17.8 < lon < 18.2


def test_layer_is_compact_and_carries_its_colours(layer):
    assert len(layer.text) < 400_000
    decimals = {len(m) for m in re.findall(rb"\.(\d+)", layer.text[:200_000])}
    assert max(decimals) <= 5
    data = json.loads(layer.text)
    assert set(data["style"]) >= {"land", "water", "road", "place", "halo", "road_widths"}
    assert "Lantmäteriet" in data["attribution"]


def test_prepared_once_and_read_back_the_same(settings, layer):
    again = load_basemap(settings, rebuild=False)
    assert again.text == layer.text and again.etag == layer.etag


def test_a_server_never_builds_it(settings, tmp_path):
    empty = settings.model_copy(update={"cache_dir": tmp_path})
    with pytest.raises(CacheError, match="asih prepare"):
        load_basemap(empty, rebuild=False)
