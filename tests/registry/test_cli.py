"""``asih users …`` and ``asih registry …`` on a temporary SQLite registry (configured by environment, as deployed)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import typer
from typer.testing import CliRunner

from api.cli.registry import register
from geo.providers import read_registry
from core.settings import get_settings
from registry.service import RegistryService, today
from tests.registry.conftest import PROVIDERS_YAML

runner = CliRunner()


@pytest.fixture
def asih(tmp_path, monkeypatch):
    """Run ``asih <args>`` (the registry's commands) against a fresh registry in ``tmp_path``."""
    monkeypatch.setenv("ASIH_REGISTRY_URL", f"sqlite:///{tmp_path / 'registry.sqlite3'}")
    monkeypatch.setenv("ASIH_REGISTRY_SECRET_FILE", str(tmp_path / "registry.secret"))
    get_settings.cache_clear()
    app = typer.Typer()
    register(app)

    def run(*args: str):
        return runner.invoke(app, list(args))

    yield run
    get_settings.cache_clear()


def test_users_add_prints_a_token_once_and_revoke_stops_it(asih, tmp_path):
    r = asih("users", "add", "--role", "provider", "--unit", "ersta-diakoni", "--name", "Anna, Ersta")
    assert r.exit_code == 0, r.output
    token = r.output.strip().splitlines()[-1]
    assert token.startswith("asih_") and "User 1 (Anna, Ersta, provider, units ersta-diakoni)" in r.output
    assert (tmp_path / "registry.secret").stat().st_mode & 0o777 == 0o600

    listed = asih("users", "list", "--json")
    assert listed.exit_code == 0
    users = json.loads(listed.output)
    assert [(u["id"], u["role"], u["units"], u["revoked_at"]) for u in users] == [(1, "provider", ["ersta-diakoni"], None)]
    assert token not in listed.output and users[0]["token_prefixes"] == [token[5:13]]

    svc = RegistryService.from_settings(get_settings())
    try:
        assert svc.authenticate(token).unit_ids == {"ersta-diakoni"}
        assert asih("users", "revoke", "1").exit_code == 0
        assert svc.authenticate(token) is None
        assert svc.changes(limit=1)[0]["action"] == "user.revoke"
        assert svc.changes(limit=1)[0]["actor"].startswith("cli:")
    finally:
        svc.close()

    bad = asih("users", "add", "--role", "provider")
    assert bad.exit_code == 2 and "at least one unit" in bad.output
    assert asih("users", "add", "--role", "boss").exit_code == 2
    assert asih("users", "add", "--role", "provider", "--unit", "nowhere").exit_code == 2


def test_registry_export_import_and_approvals(asih, tmp_path):
    out = tmp_path / "export.yaml"
    r = asih("registry", "export", "--out", str(out))
    assert r.exit_code == 0, r.output
    assert out.read_text(encoding="utf-8") == PROVIDERS_YAML.read_text(encoding="utf-8")

    tomorrow = today() + timedelta(days=1)
    r = asih("registry", "approvals", "--add", "ersta-diakoni:3", "--from", str(tomorrow), "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)[0]["valid_from"] == str(tomorrow)
    on_today = json.loads(asih("registry", "approvals", "--json").output)
    on_tomorrow = json.loads(asih("registry", "approvals", "--date", str(tomorrow), "--json").output)
    assert on_today["approvals"]["ersta-diakoni"] == [4, 5]
    assert on_tomorrow["approvals"]["ersta-diakoni"] == [3, 4, 5]
    assert asih("registry", "approvals", "--add", "ersta-diakoni:3", "--from", str(tomorrow)).exit_code == 2
    assert asih("registry", "approvals", "--end", "ersta-diakoni:3").exit_code == 2

    exported = asih("registry", "export").output
    assert "approvals_on:" in exported and f"{{area: 3, valid_from: {tomorrow}, valid_to: null}}" in exported

    r = asih("registry", "import", str(PROVIDERS_YAML))
    assert r.exit_code == 2 and "already has units" in r.output
    r = asih("registry", "import", str(PROVIDERS_YAML), "--update")
    assert r.exit_code == 0 and "0 units added, 0 updated" in r.output

    changes = json.loads(asih("registry", "changes", "--unit", "ersta-diakoni", "--json").output)
    assert changes[0]["action"] == "approval.add"
    free = json.loads(asih("registry", "availability", "--json").output)
    assert free["ersta-diakoni"]["status"] == "none"


def test_import_into_an_empty_registry(asih, tmp_path):
    r = asih("registry", "import", str(PROVIDERS_YAML))
    assert r.exit_code == 0, r.output
    n = len(read_registry(PROVIDERS_YAML).units)
    assert f"{n} units added, 0 updated" in r.output
    assert asih("registry", "import", str(PROVIDERS_YAML)).exit_code == 2  # only once
