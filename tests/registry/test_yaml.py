"""YAML import → export round trips (data/providers.yaml is the registry's exchange format)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from geo.providers import ProviderDataError, read_registry
from registry.db import write_session
from registry.service import today
from registry.yamlio import export_text, import_units
from tests.registry.conftest import PROVIDERS_YAML, open_service


def _sqlite(tmp_path, name: str) -> str:
    return f"sqlite:///{tmp_path / name}"


def test_import_then_export_gives_the_same_file(svc):
    assert export_text(svc) == PROVIDERS_YAML.read_text(encoding="utf-8")


def test_dated_approvals_round_trip(svc, users, tmp_path, clock):
    manager = users["manager"]["actor"]
    d = today()
    svc.add_approval(manager, "ersta-diakoni", 3, d + timedelta(days=1))
    svc.end_approval(manager, "accesscare", 5, d + timedelta(days=30))
    svc.add_approval(manager, "accesscare", 4, d - timedelta(days=10), d + timedelta(days=5))
    exported = tmp_path / "export.yaml"
    exported.write_text(export_text(svc), encoding="utf-8")

    back = read_registry(exported)  # what `asih prepare` and the lookup read: the areas in force today
    assert {u.id: tuple(sorted(u.areas)) for u in back.units} == svc.approvals_on(d)
    original = read_registry(PROVIDERS_YAML)
    assert [(u.id, u.unit, u.organisation, u.bases, u.contact, u.capacity_note) for u in back.units] == [
        (u.id, u.unit, u.organisation, u.bases, u.contact, u.capacity_note) for u in original.units]
    assert back.version == original.version
    assert exported.read_text(encoding="utf-8").startswith("# ASIH provider units")

    again = open_service(_sqlite(tmp_path, "again.sqlite3"), clock, providers=exported)
    try:
        def periods(s):
            return [(p["unit_id"], p["area_id"], p["valid_from"], p["valid_to"]) for p in s.approval_history()]

        assert periods(again) == periods(svc)
        for day in (d - timedelta(days=20), d, d + timedelta(days=1), d + timedelta(days=31)):
            assert again.approvals_on(day) == svc.approvals_on(day)
        assert export_text(again) == export_text(svc)
    finally:
        again.close()


def test_a_dated_list_imports_from_its_date(tmp_path, clock):
    text = PROVIDERS_YAML.read_text(encoding="utf-8").replace("units:\n", "approvals_valid_from: 2026-06-01\nunits:\n", 1)
    path = tmp_path / "dated.yaml"
    path.write_text(text, encoding="utf-8")
    svc = open_service(_sqlite(tmp_path, "dated.sqlite3"), clock, providers=path)
    try:
        assert svc.approvals_on(date(2026, 5, 31))["ersta-diakoni"] == ()
        assert svc.approvals_on(date(2026, 6, 1))["ersta-diakoni"] == (4, 5)
        assert export_text(svc, date(2026, 6, 1)) == text
    finally:
        svc.close()


def test_update_import_changes_descriptions_and_logs_them(svc, tmp_path, admin):
    text = PROVIDERS_YAML.read_text(encoding="utf-8").replace("lat: 59.3150", "lat: 59.3151", 1)
    text = text.replace("areas: [4, 5]", "areas: [4]", 1)  # ersta-diakoni: approvals are not changed by import
    path = tmp_path / "changed.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="already has units"):
        with write_session(svc.engine) as s:
            import_units(s, path, admin, svc.clock())
    with write_session(svc.engine) as s:
        summary = import_units(s, path, admin, svc.clock(), update=True)
    assert summary["added"] == [] and summary["updated"] == ["ersta-diakoni"]
    assert any("ersta-diakoni" in w and "[4]" in w for w in summary["warnings"])
    change = svc.changes(entity="unit:ersta-diakoni")[0]
    assert change["action"] == "unit.update"
    assert (change["before"]["bases"][0]["lat"], change["after"]["bases"][0]["lat"]) == (59.315, 59.3151)
    assert svc.approvals_on()["ersta-diakoni"] == (4, 5)


def test_a_broken_file_is_refused_with_its_problems(tmp_path, clock):
    path = tmp_path / "broken.yaml"
    path.write_text(PROVIDERS_YAML.read_text(encoding="utf-8").replace("    areas: [1]\n",
                    "    areas: [1]\n    approvals:\n      - {area: 1, valid_from: someday, valid_to: null}\n", 1),
                    encoding="utf-8")
    with pytest.raises(ProviderDataError, match="someday"):
        open_service(_sqlite(tmp_path, "broken.sqlite3"), clock, providers=path)
