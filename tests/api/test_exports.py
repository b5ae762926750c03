"""Exports for Swedish Excel (CSV with ';', BOM, decimal comma; real .xlsx) and the audit CLI's filters, what-if
exports and snapshots, on the real prepared data."""

from __future__ import annotations

import csv
import io
import json

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from api.exports import Column, floor_share, write_table
from api.snapshots import load_snapshot

runner = CliRunner()
COLUMNS = [Column("unit", "Enhet", "Unit", width=20), Column("area_id", "Område", "Area", "int", 8),
           Column("share", "Andel nådd", "Reached", "share", 12), Column("people", "Personer", "People", "int")]
ROWS = [{"unit": "ASIH Södertälje sjukhus", "area_id": 1, "share": 0.94997, "people": 132077.4},
        {"unit": "ASIH Ersta Diakoni; Södermalm", "area_id": 4, "share": 1.0, "people": None}]


@pytest.fixture()
def cli(service, monkeypatch):
    """The `asih` app answering from the session's service (no reload per command)."""
    from api.cli import app
    from api.cli import audit as audit_cli
    from api.cli import choice as choice_cli

    for module in (audit_cli, choice_cli):
        monkeypatch.setattr(module, "load_service", lambda: service)
    return app


def _run(app, args):
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return result


def test_swedish_csv_opens_as_columns_in_excel(tmp_path):
    raw = write_table(tmp_path / "t.csv", COLUMNS, ROWS).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads å/ä/ö
    text = raw.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0] == ["Enhet", "Område", "Andel nådd (%)", "Personer"]
    assert rows[1] == ["ASIH Södertälje sjukhus", "1", "94,99", "132077"]  # floored, decimal comma
    assert rows[2] == ["ASIH Ersta Diakoni; Södermalm", "4", "100,00", ""]  # a ';' in a name is quoted
    assert '"ASIH Ersta Diakoni; Södermalm"' in text


def test_english_csv_uses_commas_and_points(tmp_path):
    text = write_table(tmp_path / "t.csv", COLUMNS, ROWS, lang="en").read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Unit", "Area", "Reached (%)", "People"] and rows[1][2] == "94.99"


def test_xlsx_has_header_formats_widths_and_about_sheet(tmp_path):
    path = write_table(tmp_path / "t.xlsx", COLUMNS, ROWS, title="Granskning",
                       about=[("Tidsgräns", "30 min"), ("Förbehåll", "Områdena 2–8 är vår hypotes.")])
    wb = load_workbook(path)
    ws = wb["Granskning"]
    assert [c.value for c in ws[1]] == ["Enhet", "Område", "Andel nådd", "Personer"]
    assert all(c.font.bold for c in ws[1]) and ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:D3"
    assert ws["C2"].value == pytest.approx(0.9499) and ws["C2"].number_format == "0.00%"  # never shows 95,00 %
    assert ws["D2"].value == 132077 and ws["D2"].number_format == "#,##0" and ws["D3"].value is None
    assert ws.column_dimensions["A"].width == 20
    assert [r[0].value for r in wb["Om underlaget"].iter_rows()] == ["Tidsgräns", "Förbehåll"]


@pytest.mark.parametrize(("share", "pct"), [(0.94997, 94.99), (0.95, 95.0), (0.123456, 12.34), (None, None)])
def test_floor_share(share, pct):
    assert floor_share(share) == pct


def test_bad_format_and_language_are_clear(tmp_path):
    with pytest.raises(ValueError, match=r"\.csv or \.xlsx"):
        write_table(tmp_path / "t.ods", COLUMNS, ROWS)
    with pytest.raises(ValueError, match="'sv' or 'en'"):
        write_table(tmp_path / "t.csv", COLUMNS, ROWS, lang="de")


def test_audit_exports_are_swedish_with_names_and_every_profile(cli, tmp_path):
    out_csv, out_xlsx = tmp_path / "audit.csv", tmp_path / "audit.xlsx"
    _run(cli, ["audit", "sodertalje-sjukhus", "--csv", str(out_csv), "--xlsx", str(out_xlsx)])
    rows = list(csv.DictReader(io.StringIO(out_csv.read_text(encoding="utf-8-sig")), delimiter=";"))
    assert [r["Områdesnamn"] for r in rows] == ["Södertälje"]
    row = rows[0]
    assert row["Bedömning, fritt flöde"] == "stöds" and row["Bedömning, rusning"] == "i riskzonen"
    assert row["Andel befolkning nådd, rusning (%)"] == "94,01" and row["Befolkning"] == "132077"
    assert row["Sammanfattning"] == "stöds vid fritt flöde och i normal trafik, i riskzonen vid rusning"
    assert row["Basens precision"] == "adress"
    wb = load_workbook(out_xlsx)
    ws = wb["Granskning"]
    header = [c.value for c in ws[1]]
    peak = header.index("Andel befolkning nådd, rusning")
    assert ws.cell(2, peak + 1).value == pytest.approx(0.9401) and ws.cell(2, peak + 1).number_format == "0.00%"
    about = {r[0].value: r[1].value for r in wb["Om underlaget"].iter_rows()}
    assert about["Tidsgräns"] == "30 min" and "rusning" in about["Trafiklägen"]


def test_audit_filters_and_sort(cli):
    rows = json.loads(_run(cli, ["audit", "--json", "--area", "Nordväst", "--verdict", "at-risk", "--sort", "share"]).stdout)
    assert rows and all(r["area_id"] == 7 and r["area_name"] == "Nordväst" for r in rows)
    assert all("at risk" in {p["verdict"] for p in r["profiles"].values()} for r in rows)
    worst = [min(p["population_share"] for p in r["profiles"].values()) for r in rows if r["approved"]]
    assert worst == sorted(worst)
    bad = runner.invoke(cli, ["audit", "--area", "Atlantis"])
    assert bad.exit_code == 2 and "1 Södertälje" in bad.stderr


def test_audit_table_fits_80_columns_and_floors(cli):
    out = _run(cli, ["audit", "sodertalje-sjukhus"]).stdout
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "94.0 %" in out and "at risk" in out and "99.7 %" in out  # 0.99774 floors to 99.7, not 99.8


def test_what_if_writes_its_csv_and_takes_a_street(cli, tmp_path):
    out = tmp_path / "whatif.csv"
    _run(cli, ["audit", "syd-aleris", "--move-base", "syd-aleris=Sveavägen 1, Stockholm", "--profile", "peak",
               "--csv", str(out)])
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig")), delimiter=";"))
    area4 = next(r for r in rows if r["Område"] == "4")
    assert area4["Trafikläge"] == "rusning" and area4["Områdesnamn"] == "Södermalm / Nacka–Värmdö"
    assert float(area4["Andel nådd efter (%)"].replace(",", ".")) > float(area4["Andel nådd före (%)"].replace(",", "."))
    assert "Sveavägen" in area4["Baser efter ändringen"]
    refused = runner.invoke(cli, ["audit", "syd-aleris", "--move-base", "syd-aleris=Norrtälje"])
    assert refused.exit_code == 2 and "known only to within" in refused.stderr


def test_snapshot_and_compare(cli, service, tmp_path, monkeypatch):
    monkeypatch.setattr(service.settings, "cache_dir", tmp_path)
    _run(cli, ["audit", "accesscare", "--save"])
    meta, rows = load_snapshot(service.settings, "last")
    assert meta["limit_minutes"] == 30 and meta["profiles"] == ["free_flow", "typical", "peak"]
    assert meta["date"] and meta["profile"] == service.settings.profile and meta["approved"]["accesscare"] == [5]
    assert meta["versions"]["providers"] and rows[0]["unit_id"] == "accesscare"
    assert "No change since" in _run(cli, ["audit", "accesscare", "--compare", "last"]).stdout
    rows[0]["profiles"]["peak"]["verdict"] = "at risk"
    edited = tmp_path / "old.json"
    edited.write_text(json.dumps({"meta": meta, "rows": rows}), encoding="utf-8")
    doc = json.loads(_run(cli, ["audit", "accesscare", "--compare", str(edited), "--json"]).stdout)
    assert [(c["area_id"], c["profile"], c["verdict_before"], c["verdict_after"]) for c in doc["changes"]] == [
        (5, "peak", "at risk", "supported")]
    assert doc["inputs_changed"] == []  # the same approvals, bases, profile and data: only the edited verdict
    missing = runner.invoke(cli, ["audit", "--compare", str(tmp_path / "none.json")])
    assert missing.exit_code == 2 and "No audit snapshot" in missing.stderr

    # A snapshot made on other inputs: the comparison says which input changed.
    meta["approved"]["accesscare"] = [4, 5]
    meta["base_points"]["accesscare"] = [[59.3, 18.0]]
    meta["profile"] = "peak"
    meta["versions"]["speeds"] = "old"
    edited.write_text(json.dumps({"meta": meta, "rows": rows}), encoding="utf-8")
    doc = json.loads(_run(cli, ["audit", "accesscare", "--compare", str(edited), "--json"]).stdout)
    assert [(i["input"], i["what"]) for i in doc["inputs_changed"]] == [
        ("approval", "accesscare area 4"), ("base", "accesscare"), ("profile", "profile"), ("data", "speeds version")]
    text = _run(cli, ["audit", "accesscare", "--compare", str(edited)]).stdout
    assert "approval: accesscare area 4 (True → False)" in text


def test_choice_xlsx_and_names(cli, tmp_path):
    out = tmp_path / "choice.xlsx"
    text = _run(cli, ["choice", "--xlsx", str(out)]).stdout
    assert "1 Södertälje" in text and "8 Nordost" in text
    ws = load_workbook(out)["Valmöjlighet"]
    assert [c.value for c in ws[1]][:3] == ["Område", "Områdesnamn", "Befolkning"]
    county = [c.value for c in ws[ws.max_row]]
    assert county[:3] == ["län", "Stockholms län", 2_430_658]


def test_areas_lists_municipality_names(cli):
    out = _run(cli, ["areas"]).stdout
    assert "Södertälje, Nykvarn, Salem" in out and "0181" not in out
    rows = json.loads(_run(cli, ["areas", "--json"]).stdout)
    assert rows[0]["municipality_names"] == ["Södertälje", "Nykvarn", "Salem"]
    assert rows[0]["municipalities"] == ["0181", "0140", "0128"]
