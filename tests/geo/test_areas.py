"""The eight areas built from the real boundary files, and validation of broken area files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import shapely
import yaml

from geo import boundaries
from geo.areas.build import check_area_geometry, verify_area_geometry
from geo.areas.definitions import (
    AreaDataError,
    read_area_definitions,
    validate_definitions,
)
from geo.areas.model import build_area_model


def test_boundaries_are_metric_and_2d(settings):
    munis = boundaries.load_municipalities(settings)
    boroughs = boundaries.load_boroughs(settings)
    districts = boundaries.load_districts(settings)
    assert len(munis) == 26 and len(boroughs) == 13 and len(districts) == 117
    for gdf in (munis, boroughs, districts):
        assert gdf.crs.to_epsg() == 3006
        assert not gdf.geometry.has_z.any()
        assert gdf.geometry.is_valid.all()


def test_every_member_in_exactly_one_area(area_model):
    munis = [c for a in area_model.defs.areas for c in a.municipalities]
    boroughs = [d for a in area_model.defs.areas for d in a.districts]
    assert len(munis) == len(set(munis)) == 25  # 26 minus Stockholm, which is split into boroughs
    assert len(boroughs) == len(set(boroughs)) == 13
    assert len(area_model.areas) == 8


def test_areas_partition_the_land(area_model):
    report = area_model.report
    assert report.max_overlap_km2 < 0.01
    assert report.land_coverage >= 0.999
    assert report.land_km2 == pytest.approx(11547, rel=0.01)


def test_population_adds_up(area_model):
    summary = area_model.summary()
    assert summary["population"].sum() == 2_430_658
    assert (summary["population"] > 50_000).all()
    # Innerstaden is small and dense, Norrtälje large and sparse.
    by_id = summary.set_index("id")
    assert by_id.loc[5, "land_km2"] < 50 < by_id.loc[2, "land_km2"]


def test_every_stadsdel_has_one_borough(area_model):
    districts = area_model.districts
    assert districts["borough"].notna().all()
    assert districts["name"].is_unique
    assert districts.set_index("name").loc["Kista", "borough"] == "Rinkeby-Kista"
    assert area_model.district_table_mismatches == []


def _write(tmp_path: Path, settings, mutate) -> Path:
    doc = yaml.safe_load(settings.areas_file.read_text(encoding="utf-8"))
    mutate(doc["areas"])
    path = tmp_path / "areas.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def _by_id(areas, area_id):
    return next(a for a in areas if a["id"] == area_id)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda a: _by_id(a, 8)["municipalities"].append("0181"), "Södertälje (0181) is in more than one area: [1, 8]"),
        (lambda a: _by_id(a, 8)["municipalities"].remove("0186"), "Lidingö (0186) is in no area"),
        (lambda a: _by_id(a, 2)["municipalities"].append("0999"), "municipality code 0999, which is not in the county"),
        (lambda a: _by_id(a, 4)["districts"].remove("Södermalm"), "Stadsdelsområde Södermalm is in no area"),
        (lambda a: _by_id(a, 5)["districts"].append("Farsta"), "Stadsdelsområde Farsta is in more than one area"),
        (lambda a: _by_id(a, 5)["districts"].append("Gamla stan"), "'Gamla stan', which is not a Stockholm borough"),
        (lambda a: a.append({"id": 9, "name": "Tom", "provenance": "hypothesis"}), "Area 9 (Tom) has no members"),
        (lambda a: _by_id(a, 3).update(id=2), "Area id 2 is defined twice"),
        (lambda a: _by_id(a, 1).update(provenance="maybe"), "provenance must be one of"),
    ],
)
def test_broken_area_file_names_the_problem(tmp_path, settings, mutate, expected):
    path = _write(tmp_path, settings, mutate)
    with pytest.raises(AreaDataError) as err:
        build_area_model(settings, path)
    assert any(expected in p for p in err.value.problems), err.value.problems


def test_unreadable_area_file(tmp_path):
    path = tmp_path / "areas.yaml"
    path.write_text("areas: [unclosed", encoding="utf-8")
    with pytest.raises(AreaDataError, match="not valid YAML"):
        read_area_definitions(path)


def test_geometric_overlap_and_gap_are_reported(area_model):
    deso = area_model.deso
    grown = area_model.areas.copy()
    grown.loc[grown["id"] == 5, "geometry"] = grown.loc[grown["id"] == 5, "geometry"].buffer(300)
    with pytest.raises(AreaDataError, match=r"Areas 4 and 5 overlap|Areas 5 and 6 overlap"):
        verify_area_geometry(check_area_geometry(grown, deso), 0.01, 0.999)

    holed = area_model.areas.copy()
    holed.loc[holed["id"] == 8, "geometry"] = shapely.Polygon()
    with pytest.raises(AreaDataError, match="cover .* of the county's land"):
        verify_area_geometry(check_area_geometry(holed, deso), 0.01, 0.999)


def test_broken_boundary_file_is_a_clear_error(tmp_path, settings):
    for ext in ("shp", "shx", "dbf", "prj", "cpg"):
        src = settings.raw(settings.municipalities_file).with_suffix("." + ext)
        shutil.copy(src, tmp_path / src.name)
    shp = tmp_path / settings.municipalities_file
    shp.write_bytes(shp.read_bytes()[:5000])  # truncated
    broken = settings.model_copy(update={"data_dir": tmp_path})
    with pytest.raises(boundaries.DataFileError):
        boundaries.load_municipalities(broken)


def test_missing_data_dir_is_a_clear_error(tmp_path, settings):
    broken = settings.model_copy(update={"data_dir": tmp_path / "nowhere"})
    with pytest.raises(boundaries.DataFileError, match="ASIH_DATA_DIR"):
        boundaries.load_municipalities(broken)


def test_valid_file_passes(settings):
    defs = read_area_definitions(settings.areas_file)
    munis = boundaries.load_municipalities(settings)
    validate_definitions(defs, dict(zip(munis["code"], munis["name"])), list(boundaries.load_boroughs(settings)["name"]))
