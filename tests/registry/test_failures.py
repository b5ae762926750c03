"""The live registry never takes the referrer service down, and never loses a write (issue 22).

Against the real thing: a PostgreSQL server of this module's own (Debian's binaries, in a temporary directory),
stopped and started again in the middle of a test; SQLite files damaged under a running service, and 0-byte,
truncated and non-database files at start. Lookups answer through every fault (approvals from the last good read,
free places "unavailable"), writes get 503 with Retry-After and store nothing, and the first write after the
database returns succeeds.
"""

from __future__ import annotations

import copy
import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from core.settings import Settings, UnknownSetting, get_settings, verify_environment
from registry.db import check_database_file, make_engine
from registry.errors import Damaged, Unavailable
from registry.service import RegistryService, cli_actor
from tests.registry.conftest import (
    AREA_IDS,
    SECRET,
    Clock,
    _as_user,
    _free_port,
    _has_user,
    _pg_bindir,
    open_service,
)
from tests.conftest import missing

SODERMALM = (59.3148, 18.0843)
"""Fjällgatan 44, Södermalm: area 4, where ersta-diakoni is approved and eligible."""
UNIT = "ersta-diakoni"


class PgServer:
    """A PostgreSQL server of one test module's own, so a test may stop and start it."""

    def __init__(self):
        self.bindir = _pg_bindir()
        if self.bindir is None:
            missing("PostgreSQL server binaries missing (/usr/lib/postgresql/*/bin/initdb): apt-get install postgresql")
        self.user = None
        if os.geteuid() == 0:
            self.user = "postgres" if _has_user("postgres") else "nobody"
        self.base = Path(tempfile.mkdtemp(prefix="asih-pg-fail-"))
        if self.user is not None:
            shutil.chown(self.base, user=self.user)
            self.base.chmod(0o700)
        self.data = self.base / "data"
        self.port = _free_port()
        self._pg([str(self.bindir / "initdb"), "-D", str(self.data), "-U", "asih", "--auth=trust", "-E", "UTF8",
                  "--no-sync", "--locale=C"])
        self.start()

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://asih@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c shared_buffers=16MB -c max_connections=30")
        self._pg([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.base / "server.log"), "-w",
                  "-t", "60", "-o", options, "start"])

    def stop(self) -> None:
        self._pg([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])

    def close(self) -> None:
        subprocess.run(_as_user([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"],
                                self.user), capture_output=True, timeout=60)
        shutil.rmtree(self.base, ignore_errors=True)

    def _pg(self, cmd: list[str]) -> None:
        subprocess.run(_as_user(cmd, self.user), check=True, capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def own_pg():
    server = PgServer()
    yield server
    server.close()


def _client(service, live: RegistryService) -> TestClient:
    from api.app import create_app

    svc = copy.copy(service)
    svc.live = live
    app = create_app(svc.settings, svc)
    app.state.registry = live
    return TestClient(app)


def _lookup(client: TestClient, lang: str = "en") -> dict:
    r = client.get("/v1/lookup", params={"lat": SODERMALM[0], "lon": SODERMALM[1], "lang": lang})
    assert r.status_code == 200, r.text
    return r.json()


def _codes(answer: dict) -> list[str]:
    return [w["code"] for w in answer["warnings"]]


def _put(client: TestClient, token: str, free: int):
    return client.put(f"/v1/units/{UNIT}/availability", json={"free_places": free},
                      headers={"Authorization": f"Bearer {token}"})


def test_postgresql_stopped_and_started_mid_run(own_pg, service):
    clock = Clock()
    live = open_service(own_pg.url, clock, read_cache_s=0.0)
    _, token = live.add_user(cli_actor(), "provider", [UNIT], "Ward")
    try:
        with _client(service, live) as client:
            before = _lookup(client)
            assert UNIT in [u["id"] for u in before["eligible"]]
            assert not {"approvals_stale", "approvals_unconfirmed", "free_places_unavailable"} & set(_codes(before))
            assert client.get("/health").json()["registry"] == "ok"
            assert _put(client, token, 3).status_code == 200
            changes = len(live.changes(limit=1000))

            own_pg.stop()
            clock.advance(minutes=10)  # past registry_stale_read_s (300 s) since the last good read

            # Lookups answer, from the last good read, and say so with its time; free places are not shown.
            during = _lookup(client)
            assert [u["id"] for u in during["eligible"]] == [u["id"] for u in before["eligible"]]
            stale = next(w for w in during["warnings"] if w["code"] == "approvals_stale")
            assert stale["severity"] == "caution" and stale["params"]["minutes"] == 10
            assert stale["params"]["time"] in stale["message"]
            entry = next(u for u in during["eligible"] if u["id"] == UNIT)["availability"]
            assert entry["status"] == "unavailable" and entry["free_places"] is None
            assert "free_places_unavailable" in _codes(during)
            sv = _lookup(client, "sv")
            assert "senaste lyckade läsningen" in next(w for w in sv["warnings"]
                                                        if w["code"] == "approvals_stale")["message"]

            # /health: still 200 (a load balancer keeps sending lookups), degraded, with the last read's age.
            health = client.get("/health")
            assert health.status_code == 200
            assert health.json()["status"] == "degraded" and health.json()["registry"] == "unavailable"
            assert health.json()["registry_last_good_read_age_s"] == 600

            # Writes: 503 with Retry-After and a sentence; nothing stored.
            refused = _put(client, token, 7)
            assert refused.status_code == 503, refused.text
            assert int(refused.headers["Retry-After"]) > 0
            assert "nothing was changed" in refused.json()["detail"]
            assert client.get(f"/v1/units/{UNIT}/availability").status_code == 503

            # A service that never read the registry since its start answers from the providers file, and says so.
            fresh = RegistryService(make_engine(own_pg.url), SECRET, area_ids=AREA_IDS, read_cache_s=0.0)
            unread = copy.copy(service)
            unread.live = fresh
            answer = unread.lookup(lat=SODERMALM[0], lon=SODERMALM[1])
            unconfirmed = [w for w in answer["warnings"] if w["code"] == "approvals_unconfirmed"]
            assert unconfirmed and unconfirmed[0]["severity"] == "decisive"
            assert unread.approvals_on().source == "file"
            with pytest.raises(Unavailable):
                fresh.approvals_on()
            fresh.close()

            own_pg.start()

            # The first write after the database returns succeeds; the refused one was never stored.
            assert _put(client, token, 5).status_code == 200
            assert client.get(f"/v1/units/{UNIT}/availability").json()["free_places"] == 5
            log = live.changes(limit=1000)
            assert len(log) == changes + 1 and log[0]["after"]["free_places"] == 5
            after = _lookup(client)
            assert not {"approvals_stale", "free_places_unavailable"} & set(_codes(after))
            assert client.get("/health").json() | {"registry_last_good_read_age_s": 0} == \
                client.get("/health").json() | {"registry_last_good_read_age_s": 0}
            assert client.get("/health").json()["status"] == "ok"
    finally:
        live.close()


def _damage(path: Path) -> bytes:
    """Overwrite a SQLite file (checkpointed, so its pages are all in the file) with noise; returns its bytes."""
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    original = path.read_bytes()
    path.write_bytes(b"\x5a" * len(original))
    return original


def test_sqlite_damaged_under_a_running_service(tmp_path, service):
    path = tmp_path / "registry.sqlite3"
    live = open_service(f"sqlite:///{path}", read_cache_s=0.0)
    _, token = live.add_user(cli_actor(), "provider", [UNIT], "Ward")
    try:
        with _client(service, live) as client:
            assert _put(client, token, 2).status_code == 200
            before = _lookup(client)
            original = _damage(path)

            during = _lookup(client)
            assert [u["id"] for u in during["eligible"]] == [u["id"] for u in before["eligible"]]
            assert "free_places_unavailable" in _codes(during)
            assert client.get("/health").json()["registry"] == "unavailable"
            refused = _put(client, token, 9)
            assert refused.status_code == 503 and "Retry-After" in refused.headers

            path.write_bytes(original)  # restored from the backup: recovery without a restart
            assert _put(client, token, 4).status_code == 200
            assert client.get(f"/v1/units/{UNIT}/availability").json()["free_places"] == 4
            assert client.get("/health").json()["registry"] == "ok"
            assert [c["after"]["free_places"] for c in live.changes(entity=f"unit:{UNIT}")
                    if c["action"] == "availability.set"][:2] == [4, 2]
    finally:
        live.close()


# -- a damaged database at start -----------------------------------------------------------------------------------
def _settings(tmp_path, path: Path) -> Settings:
    return Settings(registry_url=f"sqlite:///{path}", registry_secret_file=tmp_path / "registry.secret")


def _good_file(tmp_path) -> Path:
    path = tmp_path / "good.sqlite3"
    open_service(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def test_a_zero_byte_file_is_refused_not_taken_for_a_new_registry(tmp_path):
    path = tmp_path / "registry.sqlite3"
    path.touch()
    with pytest.raises(Damaged) as refused:
        RegistryService.from_settings(_settings(tmp_path, path))
    message = str(refused.value)
    assert str(path) in message and "0 bytes" in message and "backup" in message and "\n" not in message
    assert path.stat().st_size == 0  # nothing imported into it


@pytest.mark.parametrize("damage", ["truncated", "not a database"])
def test_a_truncated_or_foreign_file_is_refused_with_a_sentence(tmp_path, damage):
    path = tmp_path / "registry.sqlite3"
    good = _good_file(tmp_path).read_bytes()
    path.write_bytes(good[: len(good) // 3] if damage == "truncated" else b"name,areas\nersta,4\n" * 200)
    with pytest.raises(Damaged) as refused:
        check_database_file(f"sqlite:///{path}")
    assert str(path) in str(refused.value) and "Restore" in str(refused.value)


def test_a_missing_file_is_created_new(tmp_path):
    path = tmp_path / "new" / "registry.sqlite3"
    live = RegistryService.from_settings(_settings(tmp_path, path))
    try:
        assert path.stat().st_size > 0 and UNIT in live.approvals_on()
    finally:
        live.close()


def test_the_app_refuses_a_damaged_registry_at_start_with_a_sentence(tmp_path):
    from api.app import StartupRefused, create_app

    path = tmp_path / "registry.sqlite3"
    path.touch()
    app = create_app(_settings(tmp_path, path), service=SimpleNamespace())
    with pytest.raises(StartupRefused, match="0 bytes"):
        with TestClient(app):
            pass


def test_serve_refuses_a_damaged_registry_and_an_unknown_setting(tmp_path, monkeypatch):
    from api.cli import app as cli

    path = tmp_path / "registry.sqlite3"
    path.touch()
    monkeypatch.setenv("ASIH_REGISTRY_URL", f"sqlite:///{path}")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["serve"])
        assert result.exit_code == 2 and "0 bytes" in result.output and "Traceback" not in result.output
        monkeypatch.delenv("ASIH_REGISTRY_URL")
        monkeypatch.setenv("ASIH_DATABASE_URL", f"sqlite:///{path}")
        get_settings.cache_clear()
        result = CliRunner().invoke(cli, ["serve"])
        assert result.exit_code == 2
        assert "ASIH_DATABASE_URL is not a setting; did you mean ASIH_REGISTRY_URL?" in " ".join(result.output.split())
    finally:
        get_settings.cache_clear()


def test_unknown_settings_name_the_closest_one():
    with pytest.raises(UnknownSetting, match="did you mean ASIH_LIMIT_MINUTES"):
        verify_environment({"ASIH_LIMIT_MINUTE": "45"})
    verify_environment({"ASIH_LIMIT_MINUTES": "45", "ASIH_SERVE_BODY_TIMEOUT_S": "30", "ASIH_TEST_X": "1",
                        "PATH": "/bin"})


def test_sqlite_file_deleted_and_put_back_under_a_running_service(tmp_path, service):
    path = tmp_path / "registry.sqlite3"
    live = open_service(f"sqlite:///{path}", read_cache_s=0.0)
    _, token = live.add_user(cli_actor(), "provider", [UNIT], "Ward")
    try:
        with _client(service, live) as client:
            assert _put(client, token, 1).status_code == 200
            with sqlite3.connect(path) as connection:
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            backup = tmp_path / "backup.sqlite3"
            shutil.copyfile(path, backup)
            path.unlink()

            # No write is acknowledged into the deleted file, and no new empty file is made in its place.
            refused = _put(client, token, 8)
            assert refused.status_code == 503 and "Retry-After" in refused.headers
            assert not path.exists()
            assert _lookup(client)["eligible"]
            assert client.get("/health").json()["registry"] == "unavailable"

            # A file that is no registry put in its place is not taken up.
            path.write_bytes(b"not a database" * 100)
            assert _put(client, token, 8).status_code == 503

            # The backup put back (a new file at the path) is taken up without a restart; the write lands in it.
            path.unlink()
            shutil.copyfile(backup, path)
            assert _put(client, token, 6).status_code == 200
            assert client.get("/health").json()["registry"] == "ok"
    finally:
        live.close()
    reopened = open_service(f"sqlite:///{path}")
    try:
        assert reopened.availability([UNIT])[UNIT]["free_places"] == 6  # stored in the file that stays
    finally:
        reopened.close()


def test_registry_check_names_a_damaged_file(tmp_path, monkeypatch):
    from api.cli import app as cli

    path = tmp_path / "registry.sqlite3"
    monkeypatch.setenv("ASIH_REGISTRY_URL", f"sqlite:///{path}")
    get_settings.cache_clear()
    try:
        assert CliRunner().invoke(cli, ["registry", "check"]).exit_code == 0 and not path.exists()
        shutil.copyfile(_good_file(tmp_path), path)
        result = CliRunner().invoke(cli, ["registry", "check"])
        assert result.exit_code == 0 and "OK" in result.output
        path.write_bytes(path.read_bytes()[:5000])
        result = CliRunner().invoke(cli, ["registry", "check"])
        assert result.exit_code == 2 and "Restore" in result.output and "Traceback" not in result.output
    finally:
        get_settings.cache_clear()


def test_an_unknown_setting_in_the_env_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("ASIH_LIMIT_MINUTES=30\nASIH_DATABASE_URL=postgresql://asih@db/asih\n")
    with pytest.raises(UnknownSetting, match="ASIH_DATABASE_URL is not a setting; did you mean ASIH_REGISTRY_URL"):
        verify_environment()
