"""One-page PDF coverage reports: one A4 page, read back (text) and rendered (pixels) with PDFium; their figures are
the audit's; the CLI and the HTTP route make them."""

from __future__ import annotations

import numpy as np
import pypdfium2 as pdfium
import pytest
from typer.testing import CliRunner

from api.cli import app as cli
from maps.report import ReportError, _pct, county_report, unit_report
from routing.audit import profile_auditors
from routing.audit_table import audit_profiles
from routing.choice import choice_summary

A4_PT = (595.3, 841.9)


@pytest.fixture(scope="module")
def auditors(service):
    return profile_auditors(service.auditor())


@pytest.fixture(scope="module")
def unit_pdf(auditors, tmp_path_factory):
    return unit_report(auditors, "syd-aleris", tmp_path_factory.mktemp("report") / "syd-aleris.pdf")


@pytest.fixture(scope="module")
def county_pdf(auditors, tmp_path_factory):
    return county_report(auditors, tmp_path_factory.mktemp("report") / "county.pdf")


def _read(path):
    """(number of pages, page size in points, the first page's text, the first page rendered at 100 dpi as RGB)."""
    pdf = pdfium.PdfDocument(str(path))
    try:
        page = pdf[0]
        text = page.get_textpage().get_text_range()
        pixels = np.asarray(page.render(scale=100 / 72).to_pil().convert("RGB"))
        return len(pdf), page.get_size(), " ".join(text.split()), pixels  # any space (thin ones too) as " "
    finally:
        pdf.close()


def test_unit_report_is_one_a4_page_with_the_audits_figures(unit_pdf, auditors):
    pages, size, text, pixels = _read(unit_pdf)
    assert pages == 1 and size == pytest.approx(A4_PT, abs=1.0)
    assert "Täckningsrapport: ASIH Syd Aleris" in text and "Underlag och förbehåll" in text
    for heading in ("fritt flöde", "normal trafik", "rusning", "Ej nådda"):
        assert heading in text
    # Every approved area's share and verdict under each profile, as the audit gives them (floored, Swedish).
    words = {"supported": "stöds", "at risk": "i riskzonen", "unsupported": "stöds inte"}
    for row in audit_profiles(auditors, ["syd-aleris"]):
        if row.first.approved:
            for audit in row.rows.values():
                assert f"{_pct(audit.population_share)} {words[audit.verdict]}" in text
    # Caveats: hypothesis areas, thresholds, data versions.
    assert "hypotes" in text and "95 %" in text and "kontrollsumma" in text
    # The map is drawn: the page's upper half is far from blank.
    upper = pixels[: pixels.shape[0] // 2]
    assert (upper.std(axis=2) > 20).mean() > 0.05  # coloured (not grey/white) pixels: areas, reach, gaps


def test_county_report_totals_match_the_choice_summary(county_pdf, auditors):
    pages, size, text, pixels = _read(county_pdf)
    assert pages == 1 and size == pytest.approx(A4_PT, abs=1.0)
    typical = choice_summary(auditors["typical"])
    population = f"{typical['county']['population']:,}".replace(",", " ")  # thousands apart (a thin space)
    unreached = f"{typical['county']['pop_0']:,}".replace(",", " ")
    assert f"Hela länet {population}" in text and f"{unreached} invånare har ingen godkänd enhet" in text
    assert all(u.unit in text for u in auditors["typical"].registry.units)  # every unit has its row
    assert "Täckningsrapport: hela länet" in text
    assert (pixels[: pixels.shape[0] // 2].std(axis=2) > 20).mean() > 0.05


def test_report_refuses_bad_requests(auditors, tmp_path):
    with pytest.raises(ReportError, match=".pdf"):
        unit_report(auditors, "syd-aleris", tmp_path / "r.docx")
    with pytest.raises(ReportError, match="map profile"):
        county_report({"free_flow": auditors["free_flow"]}, tmp_path / "r.pdf")
    assert not list(tmp_path.iterdir())


def test_cli_writes_a_report_and_refuses_unknown_units(tmp_path):
    runner = CliRunner()
    out = tmp_path / "lan.png"
    result = runner.invoke(cli, ["report", "county", "--out", str(out), "--map-profile", "peak"])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"\x89PNG")
    bad = runner.invoke(cli, ["report", "nobody", "--out", str(tmp_path / "x.pdf")])
    assert bad.exit_code != 0 and "Unknown provider unit" in bad.output
    assert not (tmp_path / "x.pdf").exists()


def test_http_report(settings, service):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.executor import HeavyExecutor

    heavy = HeavyExecutor(workers=1, processes=False)
    with TestClient(create_app(settings, service=service, heavy=heavy)) as client:
        pdf = client.get("/v1/reports/stockholms-sjukhem")
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF") and "tackningsrapport-stockholms-sjukhem.pdf" in \
            pdf.headers["content-disposition"]
        assert client.get("/v1/reports/nobody").status_code == 404
        assert client.get("/v1/reports/county", params={"map_profile": "rush"}).status_code == 422


def _text_sizes(path):
    """Every printed character's font size (points) on the first page, spaces and generated line ends left out."""
    import pypdfium2.raw as raw

    pdf = pdfium.PdfDocument(str(path))
    try:
        textpage = pdf[0].get_textpage()
        return [(textpage.get_text_range(i, 1), raw.FPDFText_GetFontSize(textpage, i))
                for i in range(textpage.count_chars()) if textpage.get_text_range(i, 1).strip()]
    finally:
        pdf.close()


def _map_ppi(path):
    """Pixels per inch of paper of the page's map image(s)."""
    import pypdfium2.raw as raw

    pdf = pdfium.PdfDocument(str(path))
    try:
        out = []
        for obj in pdf[0].get_objects():
            if obj.type == raw.FPDF_PAGEOBJ_IMAGE:
                left, bottom, right, top = obj.get_bounds()
                width_px, height_px = obj.get_px_size()
                out.append(min(width_px / ((right - left) / 72), height_px / ((top - bottom) / 72)))
        return out
    finally:
        pdf.close()


@pytest.mark.parametrize("which", ["unit_pdf", "county_pdf"])
def test_every_text_is_legible_and_the_map_sharp(which, request):
    """Issue 23: the report maps were 100 ppi images with ~5 pt caveats. Every vector character is at least 7 pt,
    the map image at least 300 pixels per inch of paper (the map's own text enlarged for it: tested below)."""
    path = request.getfixturevalue(which)
    sizes = _text_sizes(path)
    assert len(sizes) > 1000
    small = sorted({c for c, s in sizes if s < 7.0 - 0.01})
    assert small == [], small
    ppi = _map_ppi(path)
    assert len(ppi) == 1 and ppi[0] >= 300, ppi


def test_map_text_as_printed_is_at_least_7_pt(auditors):
    """The map's own text (legend, names, area numbers, scale) as printed on the page: enlarged to ≥ 7 pt, and
    the place names that then collide give way."""
    import matplotlib.pyplot as plt
    from matplotlib.text import Text

    from maps.geography import PLACE_NAME_GID
    from maps.report import MIN_TEXT_PT, print_ready, unit_reach
    from maps.static import unit_figure

    chosen = auditors["typical"]
    unit = chosen.registry.get("syd-aleris")
    fig = unit_figure(unit.to_dict(), unit_reach(chosen, unit.id), chosen.model.areas,
                      unreached=chosen.unreached_by_deso(unit.id), minutes=30, profile="typical",
                      settings=chosen.settings)
    try:
        before = min(t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip())
        scale = print_ready(fig, max_map_height=0.5)
        assert 0.3 < scale < 1.0 and before * scale < MIN_TEXT_PT  # it was too small as printed
        texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
        assert min(t.get_fontsize() for t in texts) * scale >= MIN_TEXT_PT
        renderer = fig.canvas.get_renderer()
        names = [t.get_window_extent(renderer) for t in fig.axes[0].texts if t.get_gid() == PLACE_NAME_GID]
        assert names and not [(a, b) for i, a in enumerate(names) for b in names[i + 1:] if a.overlaps(b)]
    finally:
        plt.close(fig)
