"""Throttling that stops attackers, not users (issue 22, item 5), on SQLite and PostgreSQL, and live.

Two apps on one database stand for two workers in the backend tests; the last test runs the real
``asih serve --workers 2`` on a SQLite registry and sends failures through connections that ``/proc`` shows are held
by different worker processes.
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from api.app import create_app
from api.auth import FailureLimiter
from core.settings import Settings
from core.words import render
from registry.db import read_session
from registry.models import AuthFailure
from registry.service import RegistryService, cli_actor
from registry.tokens import lifetime
from tests.registry.conftest import open_service
from tests.reliability.conftest import serve_workers, stop, wait_healthy

IP_LIMIT, PREFIX_LIMIT = 4, 3


def _client(svc, ip: int = IP_LIMIT, prefix: int = PREFIX_LIMIT) -> TestClient:
    """The real app on ``svc``'s database (one "worker")."""
    app = create_app(Settings(), service=SimpleNamespace())  # the lookup service is not needed here
    app.state.registry = svc
    app.state.registry_limiter = FailureLimiter({"ip": ip, "token": prefix}, window_s=600)
    return TestClient(app)


def bearer(token: str, lang: str | None = None) -> dict:
    return {"Authorization": f"Bearer {token}", **({"Accept-Language": lang} if lang else {})}


def unknown() -> str:
    """A well-formed token whose prefix no one holds (8 random hex digits; the registry has three)."""
    return f"asih_{secrets.token_hex(4)}_" + "A" * 43


def guess(token: str) -> str:
    """``token`` with a wrong secret (the same, known prefix)."""
    return token[:14] + ("B" if token[14] != "B" else "C") + token[15:]


def _failures(svc) -> list[dict]:
    return [c for c in svc.changes(limit=1000) if c["action"] == "auth.fail"]


@pytest.fixture
def second(db_url, svc, clock):
    """A second service on the same database (another worker's)."""
    other = open_service(db_url, clock)
    yield other
    other.close()


def test_address_counts_are_shared_and_never_refuse_a_valid_token(svc, second, users):
    one, two = _client(svc), _client(second)
    codes = [(one if i % 2 else two).get("/v1/me", headers=bearer(unknown() if i % 3 else "garbage")).status_code
             for i in range(IP_LIMIT)]
    assert codes == [401] * IP_LIMIT
    for client in (one, two):  # the limit is the sum over both workers, not per worker
        r = client.get("/v1/me", headers=bearer(unknown()))
        assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 600
        # Every failed check from the locked address is 429, whether its prefix exists or not (nothing leaks) …
        assert client.get("/v1/me", headers=bearer(guess(users["manager"]["token"]))).status_code == 429
        # … and every valid token from it passes.
        for who in ("provider", "manager", "admin"):
            assert client.get("/v1/me", headers=bearer(users[who]["token"])).status_code == 200
    assert len(_failures(svc)) == IP_LIMIT  # refused checks are not counted (no write at an attacker's will)


def test_guesses_at_a_known_prefix_lock_the_prefix_not_the_address_nor_the_right_secret(svc, second, users):
    one, two = _client(svc, ip=2), _client(second, ip=2)
    real = users["manager"]["token"]
    assert [(one, two)[i % 2].get("/v1/me", headers=bearer(guess(real))).status_code
            for i in range(PREFIX_LIMIT)] == [401] * PREFIX_LIMIT
    for client in (one, two):
        assert client.get("/v1/me", headers=bearer(guess(real))).status_code == 429
        assert [client.get("/v1/me", headers=bearer(real)).status_code for _ in range(10)] == [200] * 10
    # Failures naming a known prefix did not count against the address (limit 2): an unknown prefix still gets 401.
    assert one.get("/v1/me", headers=bearer(unknown())).status_code == 401
    assert two.get("/v1/me", headers=bearer(users["admin"]["token"])).status_code == 200


def test_an_unknown_prefix_locks_after_as_many_guesses_as_a_known_one(svc, users):
    client = _client(svc, ip=100)
    for token in (guess(users["admin"]["token"]), unknown()):
        codes = [client.get("/v1/me", headers=bearer(token)).status_code for _ in range(PREFIX_LIMIT + 2)]
        assert codes == [401] * PREFIX_LIMIT + [429, 429], token[:13]


def test_rejecting_runs_the_same_statements_whether_or_not_the_prefix_exists(svc, users):
    """The same queries, and a keyed hash compared in both cases (with a stand-in for an unknown prefix), so the
    time to refuse does not depend on the prefix existing (the times are measured by bench/bench_auth.py)."""
    client = _client(svc, ip=100, prefix=100)
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(" ".join(statement.split()[:4]))

    event.listen(svc.engine, "before_cursor_execute", seen)
    try:
        traces = []
        for token in (guess(users["admin"]["token"]), unknown(), guess(users["provider"]["token"]), unknown()):
            statements.clear()
            assert client.get("/v1/me", headers=bearer(token)).status_code == 401
            traces.append([s for s in statements if not s.startswith("DELETE")])  # pruning: once a window
    finally:
        event.remove(svc.engine, "before_cursor_execute", seen)
    assert traces[0] == traces[1] == traces[2] == traces[3] and len(traces[0]) >= 3
    assert svc.check_token(unknown()).prefix_key is not None  # an unknown prefix is hashed and counted too


def test_failures_are_in_the_change_log_without_token_material(svc, users):
    client = _client(svc, ip=100)
    real = users["provider"]["token"]
    sent = [guess(real), unknown(), "garbage"]
    for token in sent:
        assert client.get("/v1/me", headers=bearer(token)).status_code == 401
    logged = _failures(svc)
    assert [(c["actor"], c["entity"], c["after"]) for c in reversed(logged)] == [
        ("anonymous", "address:testclient", {"address": "testclient", "prefix_known": True}),
        ("anonymous", "address:testclient", {"address": "testclient", "prefix_known": False}),
        ("anonymous", "address:testclient", {"address": "testclient", "prefix_known": False}),
    ]
    text = json.dumps(logged)  # (user.add entries name a user's token prefixes, as `asih users list` does)
    with read_session(svc.engine) as s:
        text += json.dumps([list(map(str, r)) for r in s.execute(select(AuthFailure.__table__))])
    for token in sent + [real]:
        assert token not in text
        assert token == "garbage" or token[5:13] not in text


def test_an_expired_token_is_refused_with_a_sentence_and_not_counted(svc, users, admin, clock):
    _, token = svc.add_user(admin, "contract_manager", [], "Vikarie", expires_after=timedelta(days=90))
    listed = {u["name"]: u for u in svc.users()}
    assert listed["Vikarie"]["token_expires_at"] == (clock.now + timedelta(days=90)).isoformat(timespec="seconds")
    assert listed["Test admin"]["token_expires_at"] is None
    client = _client(svc, prefix=1)
    assert client.get("/v1/me", headers=bearer(token)).status_code == 200
    clock.advance(days=90)
    expired = (clock.now).isoformat(timespec="seconds")
    for lang in ("en", "sv"):
        r = client.get("/v1/me", headers=bearer(token, "sv-SE,sv;q=0.9" if lang == "sv" else "en"))
        assert r.status_code == 401 and r.json()["detail"] == render("auth_token_expired", {"date": expired}, lang)
    assert "gick ut" in render("auth_token_expired", {"date": expired}, "sv")
    assert _failures(svc) == [] and svc.authenticate(token) is None
    assert client.get("/v1/me", headers=bearer(users["admin"]["token"])).status_code == 200


def test_token_lifetimes():
    assert (lifetime("90d"), lifetime("12w"), lifetime(" 36h ")) == (
        timedelta(days=90), timedelta(weeks=12), timedelta(hours=36))
    for bad in ("0d", "90", "d", "-3d", "1.5d", "90 days", "99999w", ""):
        with pytest.raises(ValueError, match="is not valid: give a whole number of days"):
            lifetime(bad)


def test_users_add_expires_on_the_command_line(tmp_path, monkeypatch):
    import typer
    from typer.testing import CliRunner

    from api.cli.output import console
    from api.cli.registry import register
    from core.settings import get_settings

    monkeypatch.setenv("ASIH_REGISTRY_URL", f"sqlite:///{tmp_path / 'registry.sqlite3'}")
    monkeypatch.setenv("ASIH_REGISTRY_SECRET_FILE", str(tmp_path / "registry.secret"))
    get_settings.cache_clear()
    app = typer.Typer()
    register(app)
    run = CliRunner().invoke
    try:
        r = run(app, ["users", "add", "--role", "admin", "--name", "Tillfällig", "--expires", "90d", "--json"])
        assert r.exit_code == 0, r.output
        added = json.loads(r.output)
        r = run(app, ["users", "list", "--json"])
        assert json.loads(r.output)[0]["token_expires_at"] == added["token_expires_at"] is not None
        monkeypatch.setattr(console, "width", 200)  # made at first import, its width fixed then: no wrapping here
        r = run(app, ["users", "list"])
        assert r.exit_code == 0 and "expires" in r.output and added["token_expires_at"] in r.output
        r = run(app, ["users", "add", "--role", "admin", "--expires", "soon"])
        assert r.exit_code != 0 and "'soon' is not valid" in r.output
        assert len(json.loads(run(app, ["users", "list", "--json"]).output)) == 1  # nothing made
    finally:
        get_settings.cache_clear()


def test_when_the_database_cannot_be_written_valid_tokens_pass_and_failures_count_in_the_process(db_url, users):
    """A real read-only database (SQLite ``query_only``, PostgreSQL ``default_transaction_read_only``)."""
    ro = open_service(db_url)
    statement = ("PRAGMA query_only = ON" if ro.engine.dialect.name == "sqlite"
                 else "SET default_transaction_read_only = on")

    @event.listens_for(ro.engine, "connect")
    def _read_only(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute(statement)
        cursor.close()
        if ro.engine.dialect.name == "postgresql":
            dbapi_connection.commit()

    ro.engine.dispose()
    try:
        client = _client(ro)
        codes = [client.get("/v1/me", headers=bearer(unknown())).status_code for _ in range(IP_LIMIT + 1)]
        assert codes == [401] * IP_LIMIT + [429]
        assert client.app.state.auth_throttle.shared is False
        assert client.get("/v1/me", headers=bearer(users["admin"]["token"])).status_code == 200
        assert client.get("/v1/units/ersta-diakoni/availability").status_code == 200
        with read_session(ro.engine) as s:
            assert s.scalar(select(func.count()).select_from(AuthFailure)) == 0
    finally:
        ro.close()


# -- live: asih serve --workers 2 ------------------------------------------------------------------------------------
def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            found += children
            todo += children
    return found


def _socket_owners(pids: list[int], port: int) -> dict[int, int]:
    """Client port → the pid holding the server side of that connection to 127.0.0.1:``port``."""
    inodes: dict[str, int] = {}
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").glob("*"):
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes[target[8:-1]] = pid
    owners = {}
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, inode = fields[1], fields[2], fields[9]
        if int(local.split(":")[1], 16) == port and inode in inodes:
            owners[int(remote.split(":")[1], 16)] = inodes[inode]
    return owners


def test_two_workers_share_the_counts_live(tmp_path):
    env = {"ASIH_REGISTRY_URL": f"sqlite:///{tmp_path / 'registry.sqlite3'}",
           "ASIH_REGISTRY_SECRET_FILE": str(tmp_path / "registry.secret"),
           "ASIH_AUTH_FAILURES_PER_IP": "5", "ASIH_AUTH_FAILURES_PER_TOKEN": "3", "ASIH_AUTH_FAILURE_WINDOW_S": "600"}
    settings = Settings(registry_url=env["ASIH_REGISTRY_URL"], registry_secret_file=Path(env["ASIH_REGISTRY_SECRET_FILE"]))
    live = RegistryService.from_settings(settings)
    _, valid = live.add_user(cli_actor(), "contract_manager", [], "Ward")
    _, lapsed = live.add_user(cli_actor(), "admin", [], "Gone", expires_after=timedelta(seconds=1))
    live.close()

    proc, base, log_path = serve_workers(env, tmp_path)
    port = int(base.rsplit(":", 1)[1])
    clients: list[httpx.Client] = []
    try:
        wait_healthy(base, proc, log_path, 300)
        by_worker: dict[int, httpx.Client] = {}
        local_ports: dict[int, httpx.Client] = {}
        for _ in range(60):  # keep-alive connections until two are held by different workers
            client = httpx.Client(base_url=base, timeout=30)
            clients.append(client)
            r = client.get("/health")
            assert r.status_code == 200
            local_ports[r.extensions["network_stream"].get_extra_info("client_addr")[1]] = client
            owners = _socket_owners(_descendants(proc.pid), port)
            by_worker = {owners[p]: c for p, c in local_ports.items() if p in owners}
            if len(by_worker) >= 2:
                break
        assert len(by_worker) >= 2, "every connection went to one worker"
        a, b = list(by_worker.values())[:2]

        # Guesses at a known prefix, alternating workers: locked after 3 in all, for both; the right secret passes.
        assert [(a, b)[i % 2].get("/v1/me", headers=bearer(guess(valid))).status_code for i in range(3)] == [401] * 3
        assert {c.get("/v1/me", headers=bearer(guess(valid))).status_code for c in (a, b)} == {429}
        assert [c.get("/v1/me", headers=bearer(valid)).status_code for c in (a, b) * 5] == [200] * 10
        # Unknown prefixes, alternating workers: the address is locked after 5 in all (not 5 per worker) …
        assert [(a, b)[i % 2].get("/v1/me", headers=bearer(unknown())).status_code for i in range(5)] == [401] * 5
        for c in (a, b):
            r = c.get("/v1/me", headers=bearer(unknown()))
            assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
            # … and a valid token from the locked address passes on both workers.
            assert c.get("/v1/me", headers=bearer(valid)).status_code == 200
            # An expired token: refused with the sentence, in Swedish when asked.
            r = c.get("/v1/me", headers=bearer(lapsed, "sv"))
            assert r.status_code == 401 and r.json()["detail"].startswith("Nyckeln gick ut den ")
        log_text = log_path.read_text(errors="replace")
        assert valid not in log_text and valid[5:13] not in log_text and "Traceback" not in log_text
    finally:
        for c in clients:
            c.close()
        stop(proc)
    reopened = RegistryService.from_settings(settings)
    try:
        logged = [c for c in reopened.changes(limit=1000) if c["action"] == "auth.fail"]
        assert [c["after"]["prefix_known"] for c in reversed(logged)] == [True] * 3 + [False] * 5
        assert valid[5:13] not in json.dumps(logged)
    finally:
        reopened.close()
