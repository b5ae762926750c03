"""The `asih` command-line contract (in-process with typer's runner, on the real prepared data)."""

from __future__ import annotations

import json

import yaml
from typer.testing import CliRunner

from api.cli import app

runner = CliRunner()


def _json(args):
    result = runner.invoke(app, args)
    return result, (json.loads(result.stdout) if result.stdout.strip().startswith(("[", "{")) else None)


def test_areas_json():
    result, areas = _json(["areas", "--json"])
    assert result.exit_code == 0
    assert [a["id"] for a in areas] == list(range(1, 9))
    assert {"id", "name", "municipalities", "districts", "area_km2", "population", "provenance"} <= set(areas[0])
    assert sum(a["population"] for a in areas) == 2_430_658


def test_areas_check_passes_and_fails(tmp_path, settings):
    ok = runner.invoke(app, ["areas", "--check"])
    assert ok.exit_code == 0 and "Valid" in ok.stdout
    doc = yaml.safe_load(settings.areas_file.read_text(encoding="utf-8"))
    doc["areas"][7]["municipalities"].remove("0186")
    bad = tmp_path / "areas.yaml"
    bad.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    result = runner.invoke(app, ["areas", "--check", "--areas", str(bad)])
    assert result.exit_code != 0 and "Lidingö (0186) is in no area" in result.stderr


def test_locate_json():
    result, loc = _json(["locate", "59.3148", "18.0843", "--json"])
    assert result.exit_code == 0
    assert (loc["area_id"], loc["municipality_code"], loc["district"]) == (4, "0180", "Södermalm")
    assert loc["border_warning"] is None
    result, loc = _json(["locate", "59.8586", "17.6389", "--json"])
    assert result.exit_code != 0 and loc["area_id"] is None and "Outside" in loc["message"]


def test_providers_json():
    result, units = _json(["providers", "--json"])
    assert result.exit_code == 0 and len(units) == 15
    assert {"unit", "organisation", "areas", "bases"} <= set(units[0])
    assert {"lat", "lon", "precision", "source"} <= set(units[0]["bases"][0])


def test_lookup_json_and_errors():
    result, body = _json(["lookup", "Fjällgatan 44, Stockholm", "--json"])
    assert result.exit_code == 0 and body["area"]["id"] == 4
    assert "ASIH Ersta Diakoni" in [e["unit"] for e in body["eligible"]]
    bad = runner.invoke(app, ["lookup", ""])
    assert bad.exit_code != 0 and "Error" in bad.stderr


def test_lookup_json_errors_are_json_on_stdout():
    for query in ("", "Zqxwvgatan 3"):
        result, body = _json(["lookup", query, "--json"])
        assert result.exit_code == 2 and body["error"]


def test_lookup_uncertain_area_exits_3_and_a_choice_settles_it():
    result, body = _json(["lookup", "Stockholm", "--json"])
    assert result.exit_code == 3 and body["area"]["status"] == "uncertain"
    assert "borough:Bromma" in [c["token"] for c in body["area"]["choices"]]
    result, body = _json(["lookup", "Stockholm", "--choice", "borough:Bromma", "--json"])
    assert result.exit_code == 0 and body["area"]["id"] == 6
    result, body = _json(["lookup", "Kungsgatan 5, 753 21 Uppsala", "--json", "--lang", "sv"])
    assert result.exit_code == 1 and body["area"]["status"] == "outside"
    assert body["warnings"][0]["message"].startswith("Utanför Stockholms län")


def test_batch_goes_on_after_a_bad_row(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text('address\n"Fjällgatan 44, Stockholm"\nqqqxxzz\n"59.1955, 17.6253"\n', encoding="utf-8")
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["batch", str(src), str(out)])
    assert result.exit_code == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4 and ",error," in lines[2] and "Ersta" in lines[1]


def test_audit_and_choice_json():
    result, rows = _json(["audit", "--json"])
    assert result.exit_code == 0
    assert {"unit", "area_id", "population_share", "land_share", "road_share", "verdict", "gap_population",
            "base_precision"} <= set(rows[0])
    assert {r["unit"] for r in rows} >= {"ASIH Södertälje sjukhus"}
    result, choice = _json(["choice", "--json"])
    assert result.exit_code == 0 and choice["county"]["population"] == 2_430_658
    assert {"area_id", "population", "pop_0", "pop_1", "pop_2", "pop_3plus"} <= set(choice["by_area"][0])


def test_drive_time_json():
    result, body = _json(["drive-time", "59.1920", "17.6340", "59.1955", "17.6253", "--json"])
    assert result.exit_code == 0 and 0 < body["seconds"] < 900
    assert {"seconds", "from_snap_m", "to_snap_m"} <= set(body)


def test_maps_name_their_day_and_profile(tmp_path):
    """`asih map` draws the approvals of the day asked for, and its title says which day and which traffic."""
    import datetime as dt
    import re

    day = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    out = tmp_path / "choice.html"
    result = runner.invoke(app, ["map", "choice", "--out", str(out), "--date", day])
    assert result.exit_code == 0, result.output
    title = re.search(r"<title>([^<]*)</title>", out.read_text(encoding="utf-8")).group(1)
    assert title.endswith(f"(normal trafik, godkännanden per {day})")
    assert f"Approvals as of {day}" in result.stdout
    png = tmp_path / "unit.png"
    result = runner.invoke(app, ["map", "unit", "syd-aleris", "--out", str(png)])
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:4] == b"\x89PNG"
