"""GIS exports round-trip through pyogrio with the promised CRS."""

from __future__ import annotations

import pyogrio
import pytest

from maps.export import export_layer


def test_geojson_is_wgs84_and_round_trips(areas, tmp_path):
    out = export_layer(areas, tmp_path / "areas.geojson")
    info = pyogrio.read_info(out)
    assert info["crs"] == "EPSG:4326"
    back = pyogrio.read_dataframe(out)
    assert sorted(back["id"]) == list(range(1, 9))
    assert back.loc[back["id"] == 4, "name"].item() == "Södermalm / Nacka–Värmdö"
    # Same shapes: areas agree within 0.1 % after the WGS84 round trip.
    ratio = back.to_crs(areas.crs).area.to_numpy() / areas.area.to_numpy()
    assert ratio == pytest.approx(1.0, abs=1e-3)
    export_layer(areas.head(2), out)  # replaced, not appended
    assert pyogrio.read_info(out)["features"] == 2


def test_geopackage_is_sweref_with_named_layers(areas, deso, tmp_path):
    out = tmp_path / "asih.gpkg"
    export_layer(areas, out, layer="areas")
    export_layer(deso, out, layer="deso")
    export_layer(areas, out, layer="areas")  # rewriting one layer keeps the other
    layers = {name for name, _ in pyogrio.list_layers(out)}
    assert layers == {"areas", "deso"}
    info = pyogrio.read_info(out, layer="areas")
    assert info["crs"] == "EPSG:3006" and info["features"] == 8
    back = pyogrio.read_dataframe(out, layer="deso")
    assert len(back) == len(deso)
    assert back["population"].sum() == pytest.approx(deso["population"].sum())
    assert pyogrio.read_dataframe(out, layer="areas").area.sum() == pytest.approx(areas.area.sum(), rel=1e-9)


def test_default_layer_name_is_the_file_stem(areas, tmp_path):
    out = export_layer(areas, tmp_path / "asih-areas.gpkg")
    assert [name for name, _ in pyogrio.list_layers(out)] == ["asih_areas"]


def test_unknown_extension_and_missing_crs_are_clear_errors(areas, tmp_path):
    with pytest.raises(ValueError, match=r"\.geojson, \.gpkg"):
        export_layer(areas, tmp_path / "areas.shp")
    with pytest.raises(ValueError, match="no CRS"):
        export_layer(areas.set_crs(None, allow_override=True), tmp_path / "areas.gpkg")
