"""Static PNG/PDF maps: written, non-trivial, right format."""

from __future__ import annotations

import pytest
from matplotlib.image import imread

from maps import style
from maps.static import render_static

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def inputs(areas, municipalities, boroughs, bases, units, reach, gaps, deso, land):
    unit = next(u for u in units if u["id"] == "sodertalje-sjukhus")
    return {
        "overview": {"areas": areas, "municipalities": municipalities, "boroughs": boroughs, "bases": bases},
        "unit": {"unit": unit, "isochrone": reach, "areas": areas, "gaps": gaps, "minutes": 30},
        "choice": {"deso": deso, "areas": areas, "minutes": 30},
        "land": land,
    }


@pytest.mark.parametrize("kind", ["overview", "unit", "choice"])
def test_png(kind, inputs, tmp_path):
    out = render_static(kind, tmp_path / f"{kind}.png", land=inputs["land"], **inputs[kind])
    data = out.read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert len(data) > 100_000  # a filled map, not an empty canvas
    height, width = imread(out).shape[:2]
    w_in, h_in = style.STATIC_SIZE_IN
    assert (width, height) == (round(w_in * style.STATIC_DPI), round(h_in * style.STATIC_DPI))


@pytest.mark.parametrize("kind", ["overview", "unit", "choice"])
def test_pdf(kind, inputs, tmp_path):
    out = render_static(kind, tmp_path / f"{kind}.pdf", land=inputs["land"], **inputs[kind])
    data = out.read_bytes()
    assert data.startswith(b"%PDF")
    assert len(data) > 20_000
    assert data.rstrip().endswith(b"%%EOF")


def test_unknown_format_and_kind_are_clear_errors(inputs, tmp_path):
    with pytest.raises(ValueError, match=r"\.png or \.pdf"):
        render_static("overview", tmp_path / "x.svg", land=inputs["land"], **inputs["overview"])
    with pytest.raises(ValueError, match="Unknown static map 'heat'"):
        render_static("heat", tmp_path / "x.png")
