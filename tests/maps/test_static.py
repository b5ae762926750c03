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


SECRET = "Hemligagatan 7, Stockholm"
"""A matched address that must never reach the static lookup map."""


@pytest.fixture(scope="module")
def lookup_inputs(lookup_result, bases, areas):
    result = {**lookup_result, "query": {**lookup_result["query"], "precision": "address", "matched": SECRET}}
    return {"result": result, "bases": bases, "areas": areas}


@pytest.mark.parametrize("suffix", [".png", ".pdf"])
def test_lookup_written(suffix, lookup_inputs, land, tmp_path):
    import matplotlib

    with matplotlib.rc_context({"pdf.compression": 0}):  # so the byte search below sees the drawn text
        out = render_static("lookup", tmp_path / f"lookup{suffix}", land=land, **lookup_inputs)
    data = out.read_bytes()
    if suffix == ".png":
        assert data.startswith(PNG_MAGIC) and len(data) > 100_000
        height, width = imread(out).shape[:2]
        assert (width, height) == tuple(round(v * style.STATIC_DPI) for v in style.STATIC_SIZE_IN)
    else:
        assert data.startswith(b"%PDF") and data.rstrip().endswith(b"%%EOF") and len(data) > 20_000
        drawn = _pdf_text(data)
        assert "Uppslag: område" in drawn and "Varningar" in drawn  # the search sees plain text (halo labels are
        # paths, so test_lookup_figure_content checks every text artist too)
        assert "Hemligagatan" not in drawn, "the matched address leaked into the PDF"
        for encoded in (SECRET.encode(), SECRET.encode("utf-16-be"), SECRET.encode("utf-16-be").hex().encode()):
            assert encoded not in data, "the matched address leaked into the PDF metadata"


def _pdf_text(data: bytes) -> str:
    """The text shown by an uncompressed matplotlib PDF: each TJ array's literal strings, joined."""
    import re

    arrays = re.findall(rb"\[((?:[^\]\\]|\\.)*)\]\s*TJ", data)
    return "\n".join(b"".join(re.findall(rb"\(((?:[^)\\]|\\.)*)\)", a)).decode("latin-1") for a in arrays)


def _texts(fig) -> list[str]:
    from matplotlib.text import Text

    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def test_lookup_figure_content(lookup_inputs, land):
    import matplotlib.pyplot as plt

    from maps.static_lookup import lookup_figure

    fig = lookup_figure(**lookup_inputs, land=land)
    try:
        texts = _texts(fig)
        area = lookup_inputs["result"]["area"]
        assert fig.axes[0].get_title(loc="left") == f"Uppslag: område {area['id']} – {area['name']}"
        assert not any("Hemligagatan" in t for t in texts)
        for item in lookup_inputs["result"]["eligible"]:  # every eligible unit labelled with its minutes
            assert f"{item['unit']}: {style.minutes_text(item['drive_time_s'])}" in texts
        warnings = next(t for t in texts if t.startswith(style.LABELS["warnings"]))
        assert 1 < len(warnings.splitlines()) <= 7  # heading + at most six wrapped lines
        assert any(t.startswith(style.ATTRIBUTION_PREFIX) for t in texts)
        assert any(t.endswith(" km") or t.endswith(" m") for t in texts)  # scale bar
        assert "N" in texts  # north arrow
    finally:
        plt.close(fig)


def test_lookup_outside_county(service, bases, areas, land, tmp_path):
    import matplotlib.pyplot as plt

    from maps.static_lookup import lookup_figure

    result = service.lookup_point(59.0, 16.3)  # Katrineholm, Södermanland
    assert result["area"]["id"] is None
    fig = lookup_figure(result, bases, areas, land=land)
    try:
        assert "utanför Stockholms län" in fig.axes[0].get_title(loc="left")
    finally:
        plt.close(fig)
    out = render_static("lookup", tmp_path / "outside.png", result=result, bases=bases, areas=areas, land=land)
    assert out.read_bytes().startswith(PNG_MAGIC)


def test_lookup_uncertain_area_shows_its_choices(service, bases, areas, land):
    import matplotlib.pyplot as plt

    from maps.static_lookup import lookup_figure

    result = service.lookup(address="Storgatan, Stockholm", lang="sv")
    assert result["area"]["status"] == "uncertain"
    fig = lookup_figure(result, bases, areas, land=land)
    try:
        assert fig.axes[0].get_title(loc="left") == "Uppslag: området kan inte avgöras – område 5 eller 6"
        texts = _texts(fig)
        for i, choice in enumerate(result["area"]["choices"], start=1):
            assert f"{i}: {choice['label']} (område {choice['area_id']})" in texts
        assert not any("utanför Stockholms län" in t for t in texts)
    finally:
        plt.close(fig)


@pytest.mark.parametrize("suffix", [".png", ".pdf"])
def test_cli_lookup_static(suffix, tmp_path):
    from typer.testing import CliRunner

    from api.cli import app

    out = tmp_path / f"lookup{suffix}"
    result = CliRunner().invoke(app, ["map", "lookup", "59.3170, 18.0600", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:4] in (PNG_MAGIC[:4], b"%PDF")
