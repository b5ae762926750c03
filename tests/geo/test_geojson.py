"""GeoJSON out (issue 24): GEOS-written geometries carry the same content as shapely's dicts, at 6 decimals."""

from __future__ import annotations

import json
import math

import pytest
import shapely

from core.crs import to_metric
from core.geojson import COORD_DECIMALS, GeoJSONText, dumps, geometry_dict, geometry_text

# A triangle by Slussen, EPSG:3006 (metres), and the same with a hole.
X, Y = to_metric([59.3195, 59.3210, 59.3230], [18.0710, 18.0760, 18.0700])
TRIANGLE = shapely.Polygon(list(zip(X, Y)))
HOLED = TRIANGLE.buffer(0).difference(TRIANGLE.centroid.buffer(20))


@pytest.mark.parametrize("geom", [TRIANGLE, HOLED, shapely.MultiPolygon([TRIANGLE, shapely.affinity.translate(
    TRIANGLE, 1000, 0)]), shapely.Polygon()])
def test_text_and_dict_have_the_same_content(geom):
    text = geometry_text(geom)
    assert isinstance(text, GeoJSONText)
    assert json.loads(text) == json.loads(json.dumps(geometry_dict(geom)))


def test_coordinates_are_lon_lat_at_six_decimals():
    assert COORD_DECIMALS == 6
    coords = json.loads(geometry_text(TRIANGLE))["coordinates"][0]
    assert coords[0] == pytest.approx([18.0710, 59.3195], abs=1e-6)
    assert all(round(v, 6) == v for xy in coords for v in xy)


def test_dumps_embeds_geometries_and_writes_the_rest_as_json():
    text = geometry_text(TRIANGLE)
    content = {"type": "Feature", "properties": {"name": "Slussen – Söder", "forged": "\x00geojson-0\x00", "n": 2},
               "geometry": text, "more": [text, {"coordinates": ((1, 2), (3, 4))}]}
    out = dumps(content)
    back = json.loads(out)
    assert back["geometry"] == back["more"][0] == json.loads(text)
    assert back["properties"] == {"name": "Slussen – Söder", "forged": "\x00geojson-0\x00", "n": 2}
    assert back["more"][1] == {"coordinates": [[1, 2], [3, 4]]}
    assert "Söder" in out and ", " not in out  # UTF-8 and compact, as the app's JSON answers


def test_dumps_refuses_nan_and_uses_default():
    with pytest.raises(ValueError):
        dumps({"x": math.nan})
    with pytest.raises(TypeError):
        dumps({"s": {1, 2}})
    assert dumps({"s": {1, 2}}, default=sorted) == '{"s":[1,2]}'
