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


@pytest.fixture(scope="module")
def pdf_of(inputs, tmp_path_factory):
    """``pdf_of(kind)``: the PDF map of ``kind``, rendered once for the module (``test_pdf`` checks the file,
    ``test_pdf_text_is_at_least_7_pt`` its text; neither changes it)."""
    folder, made = tmp_path_factory.mktemp("pdf"), {}

    def pdf(kind: str):
        if kind not in made:
            made[kind] = render_static(kind, folder / f"{kind}.pdf", land=inputs["land"], **inputs[kind])
        return made[kind]

    return pdf


@pytest.mark.parametrize("kind", ["overview", "unit", "choice"])
def test_pdf(kind, pdf_of):
    out = pdf_of(kind)
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


# -- meeting-ready maps: gaps by people, caveats, labelled bases ------------------------------------------------------


@pytest.fixture(scope="module")
def syd_aleris(units, auditor, service):
    unit = next(u for u in units if u["id"] == "syd-aleris")
    return {"unit": unit, "isochrone": service.isochrone("syd-aleris", 1800.0), "gaps": auditor.gap_polygons("syd-aleris"),
            "unreached": auditor.unreached_by_deso("syd-aleris"), "minutes": 30}


def test_unreached_people_add_up_to_the_audit(auditor, syd_aleris):
    frame = syd_aleris["unreached"]
    assert frame.crs.to_epsg() == 3006 and set(frame["area_id"]) <= {1, 3, 4}
    for row in auditor.audit_unit("syd-aleris").approvals:
        got = frame.loc[frame["area_id"] == row.area_id, "unreached"].sum()
        assert got == pytest.approx(row.gap_population, abs=len(frame) / 2 + 1)
    # Area 3 is 86.7 % reached in typical traffic (the default profile): the people out of reach, 13.3 % of 767 325,
    # however much forest is out of reach.
    assert auditor.net.profile == "typical"
    assert 0.13 * 767_325 < frame.loc[frame["area_id"] == 3, "unreached"].sum() < 0.134 * 767_325
    assert (frame["unreached"] >= 1).all() and frame["unreached"].is_monotonic_decreasing


def test_unit_map_hatches_people_not_land(syd_aleris, areas, land):
    import matplotlib.pyplot as plt

    from maps.static import unit_figure

    fig = unit_figure(syd_aleris["unit"], syd_aleris["isochrone"], areas, syd_aleris["gaps"], 30,
                      unreached=syd_aleris["unreached"], profile="peak", land=land)
    try:
        texts = _texts(fig)
        assert fig.axes[0].get_title(loc="left") == "ASIH Syd Aleris: nås inom 30 min (rusning)"
        labels = [t for t in texts if t.startswith("Ej nådda i DeSO: ")]
        assert labels == ["Ej nådda i DeSO: 1–99", "Ej nådda i DeSO: 100–999", "Ej nådda i DeSO: 1 000 eller fler"]
        assert "Handen, Haninge" in texts  # the base is labelled
        caveats = next(t for t in texts if t.startswith(style.LABELS["caveats"]))
        assert "rusningstrafik" in caveats and "hypotes" in caveats and "1 på ort" in caveats
        hatched = [c for c in fig.axes[0].collections if c.get_hatch() and c.get_gid() != "water"]  # water: lined
        assert sum(len(c.get_paths()) for c in hatched) == len(syd_aleris["unreached"])
    finally:
        plt.close(fig)


def test_a_map_has_roads_and_place_names_that_give_way_to_area_numbers(syd_aleris, areas, land, settings):
    """Geography to find one's way by (issue: maps with geography): the main roads of the network the times are
    computed on, and the municipalities' names — never on top of an area's number."""
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    from maps.basemap import load_basemap
    from maps.geography import MIN_NAME_PT, PLACE_NAME_GID, ROAD_CLASSES, main_roads, metric_layer
    from maps.static import unit_figure

    roads = main_roads(settings)
    assert set(roads) == set(ROAD_CLASSES) and all(len(v) > 50 for v in roads.values())
    layer = metric_layer(load_basemap(settings))
    fig = unit_figure(syd_aleris["unit"], syd_aleris["isochrone"], areas, syd_aleris["gaps"], 30,
                      unreached=syd_aleris["unreached"], land=land)
    try:
        ax = fig.axes[0]
        # The sea lined as on the pages; every road class of the base map, each the same lines the pages draw.
        (water,) = [c for c in ax.collections if c.get_gid() == "water"]
        assert water.get_hatch() and len(water.get_paths()) == len(layer["water"])
        drawn = {c.get_gid(): c for c in ax.collections if isinstance(c, LineCollection)}
        for cls in ROAD_CLASSES:
            assert len(drawn[f"road-{cls}"].get_segments()) == len(layer["roads"][cls])
        names = {t.get_text(): t.get_position() for t in ax.texts if t.get_gid() == PLACE_NAME_GID}
        assert {"Huddinge", "Botkyrka", "Nynäshamn"} <= set(names)
        assert min(t.get_fontsize() for t in ax.texts if t.get_gid() == PLACE_NAME_GID) >= MIN_NAME_PT
        # No two names overlap on paper.
        renderer = fig.canvas.get_renderer()
        boxes = [t.get_window_extent(renderer) for t in ax.texts if t.get_gid() == PLACE_NAME_GID]
        assert not [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:] if a.overlaps(b)]
        numbers = [t.get_position() for t in ax.texts if t.get_text().isdigit() and t.get_fontsize() == 13]
        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
        clear = 0.04 * max(x1 - x0, y1 - y0)
        assert not [n for n, (x, y) in names.items()
                    if any(abs(x - a) < 2 * clear and abs(y - b) < clear for a, b in numbers)]
    finally:
        plt.close(fig)


def test_land_gaps_without_people_are_not_drawn(syd_aleris):
    from maps.gaps import people_gaps

    gaps = syd_aleris["gaps"]
    drawn = people_gaps(None, gaps)
    assert len(drawn) == (gaps["population"] >= 1).sum() < len(gaps)  # empty forest and archipelago are left out


def test_overview_labels_every_base_and_states_caveats(inputs, land):
    import matplotlib.pyplot as plt

    from maps.static import overview_figure

    fig = overview_figure(**inputs["overview"], land=land)
    try:
        texts = _texts(fig)
        n = len(inputs["overview"]["bases"])
        assert {str(k) for k in range(1, n + 1)} <= set(texts)  # each base numbered, on the map or the inset
        listing = next(t for t in texts if t.startswith(style.LABELS["bases"] + "\n"))
        assert "16 Södertälje sjukhus – Rosenborgsgatan 6-10, Södertälje" in listing
        assert "Innerstaden med omnejd" in texts  # the crowded inner city gets an inset
        caveats = next(t for t in texts if t.startswith(style.LABELS["caveats"]))
        assert "Baser: 3 kända på adress, 7 på ort, 6 gissade." in caveats
    finally:
        plt.close(fig)


def test_choice_map_states_profile(inputs, land):
    import matplotlib.pyplot as plt

    from maps.static import choice_figure

    fig = choice_figure(**inputs["choice"], profile="typical", land=land)
    try:
        assert fig.axes[0].get_title(loc="left").endswith("(normal trafik)")
        assert any("normal trafik" in t and t.startswith(style.LABELS["caveats"]) for t in _texts(fig))
    finally:
        plt.close(fig)


@pytest.mark.parametrize("kind", ["overview", "unit", "choice"])
def test_pdf_text_is_at_least_7_pt(kind, pdf_of):
    """Issue 23: every text on a printed map legible. PDF maps are vector; each character read back with PDFium is
    at least 7 pt (text with a white halo is written as outlines: its size is checked on the figure, above)."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    out = pdf_of(kind)
    pdf = pdfium.PdfDocument(str(out))
    try:
        page = pdf[0]
        textpage = page.get_textpage()
        sizes = [(textpage.get_text_range(i, 1), raw.FPDFText_GetFontSize(textpage, i))
                 for i in range(textpage.count_chars()) if textpage.get_text_range(i, 1).strip()]
        images = [o for o in page.get_objects() if o.type == raw.FPDF_PAGEOBJ_IMAGE]
    finally:
        pdf.close()
    assert len(sizes) > 100
    assert sorted({c for c, s in sizes if s < 7.0 - 0.01}) == []
    assert images == []  # all vector: nothing rasterised
