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
