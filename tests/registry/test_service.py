"""The registry service on SQLite and on PostgreSQL: free places, dated approvals, the change log, users, schema."""

from __future__ import annotations

import os
import threading
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from geo.providers import read_registry
from core.settings import Settings
from registry.db import current_revision, database_url, head_revision, read_session, upgrade
from registry.models import Base, Token
from registry.service import Conflict, Forbidden, Invalid, NotFound, RegistryService, cli_actor, today, with_approvals
from registry.tokens import hash_token
from tests.registry.conftest import PROVIDERS_YAML, SECRET, open_service

YAML = read_registry(PROVIDERS_YAML)


def test_first_start_imports_the_yaml_once(svc):
    assert [u["id"] for u in svc.units()] == [u.id for u in YAML.units]
    assert svc.approvals_on(today()) == {u.id: tuple(sorted(set(u.areas))) for u in YAML.units}
    # The source list is undated: its approvals hold on any past day too, and nothing claims a start date.
    assert svc.approvals_on(today() - timedelta(days=3650))["sodertalje-sjukhus"] == (1,)
    assert all(p["valid_from"] is None and p["valid_to"] is None for p in svc.approval_history())
    assert svc.import_if_empty(PROVIDERS_YAML) is False
    log = svc.changes(limit=1000)
    assert [c["action"] for c in log].count("unit.import") == len(YAML.units)
    assert log[0]["action"] == "registry.import" and log[0]["after"]["version"] == YAML.version


def test_schema_is_at_head_and_matches_the_models(svc):
    assert current_revision(svc.engine) == head_revision() == "0003"
    upgrade(svc.engine)  # again: a no-op at every later start
    with svc.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_free_places_with_age_and_staleness(svc, users, clock):
    provider = users["provider"]["actor"]
    assert svc.availability(["ersta-diakoni"])["ersta-diakoni"]["status"] == "none"
    entry = svc.set_availability(provider, "ersta-diakoni", 3, "  Två   platser från måndag\n")
    assert (entry["free_places"], entry["note"], entry["age_s"], entry["stale"]) == (3, "Två platser från måndag", 0, False)
    clock.advance(hours=2)
    a = svc.availability(["ersta-diakoni", "accesscare", "not-a-unit"])
    assert a["ersta-diakoni"]["age_s"] == 7200 and a["ersta-diakoni"]["status"] == "current"
    assert a["ersta-diakoni"]["reported_at"] == (clock.now - timedelta(hours=2)).isoformat()
    assert a["accesscare"]["free_places"] is None and a["accesscare"]["stale"] is True
    assert a["not-a-unit"]["status"] == "none"
    clock.advance(hours=22, seconds=1)  # 24 h and 1 s after the report
    stale = svc.availability(["ersta-diakoni"])["ersta-diakoni"]
    assert (stale["stale"], stale["status"], stale["free_places"]) == (True, "stale", 3)
    svc.set_availability(provider, "ersta-diakoni", 0)
    full = svc.availability(["ersta-diakoni"])["ersta-diakoni"]
    assert (full["free_places"], full["note"], full["status"]) == (0, None, "current")


def test_a_provider_cannot_change_another_unit(svc, users, admin):
    provider, manager = users["provider"]["actor"], users["manager"]["actor"]
    with pytest.raises(Forbidden, match="ersta-diakoni"):
        svc.set_availability(provider, "accesscare", 2)
    with pytest.raises(Forbidden):
        svc.add_approval(provider, "ersta-diakoni", 3, today())
    with pytest.raises(Forbidden):
        svc.add_user(manager, "admin")
    assert svc.set_availability(manager, "accesscare", 2)["free_places"] == 2  # managers may correct any unit
    with pytest.raises(NotFound, match="Known ids"):
        svc.set_availability(admin, "nowhere", 1)
    for bad in (-1, 1001, 2.5, "3", True):
        with pytest.raises(Invalid):
            svc.set_availability(provider, "ersta-diakoni", bad)
    with pytest.raises(Invalid):
        svc.set_availability(provider, "ersta-diakoni", 1, "x" * 201)


def test_future_approval_is_in_force_tomorrow_not_today(svc, users):
    manager = users["manager"]["actor"]
    tomorrow = today() + timedelta(days=1)
    assert 3 not in svc.approvals_on()["ersta-diakoni"]
    added = svc.add_approval(manager, "ersta-diakoni", 3, tomorrow)
    assert added["valid_from"] == tomorrow.isoformat() and added["valid_to"] is None
    assert svc.approvals_on(today())["ersta-diakoni"] == (4, 5)
    assert svc.approvals_on()["ersta-diakoni"] == (4, 5)
    assert svc.approvals_on(tomorrow)["ersta-diakoni"] == (3, 4, 5)
    with pytest.raises(Conflict, match="already approved"):
        svc.add_approval(manager, "ersta-diakoni", 3, tomorrow + timedelta(days=30))
    with pytest.raises(Invalid, match="does not exist"):
        svc.add_approval(manager, "ersta-diakoni", 9, tomorrow)
    with pytest.raises(Invalid, match="before"):
        svc.add_approval(manager, "ersta-diakoni", 2, tomorrow, today())


def test_ending_an_approval_keeps_its_history(svc, users):
    manager = users["manager"]["actor"]
    d = today()
    ended = svc.end_approval(manager, "ersta-diakoni", 4, d + timedelta(days=10))
    assert [(p["area_id"], p["valid_from"], p["valid_to"]) for p in ended] == [(4, None, str(d + timedelta(days=10)))]
    assert 4 in svc.approvals_on(d + timedelta(days=10))["ersta-diakoni"]
    assert 4 not in svc.approvals_on(d + timedelta(days=11))["ersta-diakoni"]
    # A later approval, withdrawn before it starts: kept, in force on no day.
    svc.add_approval(manager, "ersta-diakoni", 4, d + timedelta(days=100))
    withdrawn = svc.end_approval(manager, "ersta-diakoni", 4, d + timedelta(days=50))
    assert withdrawn[0]["withdrawn"] is True
    assert 4 not in svc.approvals_on(d + timedelta(days=200))["ersta-diakoni"]
    history = [p for p in svc.approval_history("ersta-diakoni") if p["area_id"] == 4]
    assert len(history) == 2
    with pytest.raises(Conflict, match="no approval"):
        svc.end_approval(manager, "ersta-diakoni", 4, d + timedelta(days=60))


def test_the_change_log_records_each_change_with_before_and_after(svc, users, clock):
    provider, manager = users["provider"]["actor"], users["manager"]["actor"]
    svc.set_availability(provider, "ersta-diakoni", 2, "a")
    clock.advance(minutes=5)
    svc.set_availability(provider, "ersta-diakoni", 1)
    svc.add_approval(manager, "ersta-diakoni", 3, today() + timedelta(days=1))
    svc.end_approval(manager, "ersta-diakoni", 5, today())
    log = svc.changes(entity="unit:ersta-diakoni")
    assert [c["action"] for c in log] == ["approval.end", "approval.add", "availability.set", "availability.set",
                                          "unit.import"]
    end, add, second, first = log[:4]
    assert first["actor"] == f"user {provider.id} (Test provider)" and first["actor_id"] == provider.id
    assert first["before"] is None and first["after"]["free_places"] == 2 and first["after"]["note"] == "a"
    assert second["before"] == first["after"] and second["after"]["free_places"] == 1
    assert second["at"] == clock.now.isoformat()
    assert add["before"] is None and add["after"]["area_id"] == 3 and add["actor_id"] == manager.id
    assert (end["before"]["valid_to"], end["after"]["valid_to"]) == (None, today().isoformat())
    users_log = [c for c in svc.changes() if c["entity"].startswith("user:")]
    assert {c["action"] for c in users_log} == {"user.add"} and len(users_log) == 3
    assert all("hash" not in str(c["after"]) and "asih_" not in str(c["after"]) for c in users_log)
    # Paging: older than an id.
    assert [c["id"] for c in svc.changes(before_id=log[1]["id"], limit=2)] == [log[1]["id"] - 1, log[1]["id"] - 2]


def test_the_change_log_and_reports_are_append_only_in_the_database(svc, users):
    svc.set_availability(users["provider"]["actor"], "ersta-diakoni", 2)
    for statement in ("UPDATE changes SET actor = 'someone else'", "DELETE FROM changes",
                      "UPDATE availability_reports SET free_places = 9", "DELETE FROM availability_reports"):
        with pytest.raises(DatabaseError, match="append-only"):
            with svc.engine.begin() as conn:
                conn.execute(text(statement))
    assert svc.availability(["ersta-diakoni"])["ersta-diakoni"]["free_places"] == 2


def test_concurrent_updates_lose_nothing(svc, users):
    provider, manager = users["provider"]["actor"], users["manager"]["actor"]
    threads_n, each = 6, 8
    errors = []
    start = threading.Barrier(threads_n + 2)

    def report(k: int) -> None:
        try:
            start.wait()
            for i in range(each):
                svc.set_availability(provider, "ersta-diakoni", k * 100 + i, f"thread {k}")
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    def approve(areas) -> None:
        try:
            start.wait()
            for a in areas:
                svc.add_approval(manager, "accesscare", a, today())
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    workers = [threading.Thread(target=report, args=(k,)) for k in range(threads_n)]
    workers += [threading.Thread(target=approve, args=((1, 2, 3),)), threading.Thread(target=approve, args=((4, 6, 7),))]
    for t in workers:
        t.start()
    for t in workers:
        t.join(timeout=120)
    assert errors == []
    log = list(reversed([c for c in svc.changes(limit=1000, entity="unit:ersta-diakoni")
                         if c["action"] == "availability.set"]))
    assert len(log) == threads_n * each
    # Serialised: each change's "before" is exactly the previous change's "after", and every value arrived.
    assert log[0]["before"] is None
    assert all(log[i]["before"] == log[i - 1]["after"] for i in range(1, len(log)))
    assert sorted(c["after"]["free_places"] for c in log) == sorted(k * 100 + i for k in range(threads_n) for i in range(each))
    assert svc.availability(["ersta-diakoni"])["ersta-diakoni"]["free_places"] == log[-1]["after"]["free_places"]
    with read_session(svc.engine) as s:
        assert s.scalar(text("SELECT count(*) FROM availability_reports")) == threads_n * each
    assert svc.approvals_on()["accesscare"] == (1, 2, 3, 4, 5, 6, 7)


def test_tokens_are_random_shown_once_and_stored_hashed(svc, users, admin, db_url):
    token = users["provider"]["token"]
    assert token.startswith("asih_") and len(token) == 5 + 8 + 1 + 43
    with read_session(svc.engine) as s:
        stored = s.scalars(select(Token)).all()
    assert len({t.hash for t in stored}) == 3
    row = next(t for t in stored if token.startswith(f"asih_{t.prefix}_"))
    assert row.hash == hash_token(token, SECRET) and token not in row.hash
    assert all(users[k]["token"] not in str(svc.users()) for k in users)
    assert svc.authenticate(token).unit_ids == {"ersta-diakoni"}
    assert svc.authenticate(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert svc.authenticate("not a token") is None
    if db_url.startswith("sqlite"):
        path = db_url.removeprefix("sqlite:///")
        svc.close()  # checkpoint the WAL into the file
        blob = b"".join(open(p, "rb").read() for p in (path, path + "-wal") if os.path.exists(p))
        assert row.hash.encode() in blob
        for k in users:
            secret_part = users[k]["token"].encode()
            assert secret_part not in blob and secret_part[14:] not in blob
    # Revoked: the token stops working at once; the user stays for the log.
    revoked = svc.revoke_user(admin, users["provider"]["user"]["id"])
    assert revoked["revoked_at"] is not None
    assert svc.authenticate(token) is None
    with pytest.raises(NotFound):
        svc.revoke_user(admin, 999)


def test_a_second_service_on_the_same_database_sees_the_same_state(db_url, clock, users, svc):
    svc.set_availability(users["provider"]["actor"], "ersta-diakoni", 4)
    other = open_service(db_url, clock)
    try:
        assert other.availability(["ersta-diakoni"])["ersta-diakoni"]["free_places"] == 4
        assert other.authenticate(users["provider"]["token"]) is not None
        assert len(other.units()) == len(YAML.units)  # not imported twice
    finally:
        other.close()


def test_with_approvals_gives_the_lookup_the_areas_in_force(svc, users):
    tomorrow = today() + timedelta(days=1)
    svc.add_approval(users["manager"]["actor"], "ersta-diakoni", 3, tomorrow)
    dated = with_approvals(YAML, svc.approvals_on(tomorrow))
    assert {u.id for u in dated.approved_for(3)} == {u.id for u in YAML.approved_for(3)} | {"ersta-diakoni"}
    assert "ersta-diakoni" not in {u.id for u in with_approvals(YAML, svc.approvals_on()).approved_for(3)}
    assert [u.bases for u in dated.units] == [u.bases for u in YAML.units]  # the drive-time trees still fit
    assert with_approvals(YAML, {}).units == YAML.units  # units the registry does not know keep their YAML areas


def test_from_settings_takes_the_url_an_administrator_hands_out(db_url, tmp_path):
    plain = db_url.replace("postgresql+psycopg://", "postgresql://")
    settings = Settings(registry_url=plain, registry_secret_file=tmp_path / "secret", availability_stale_hours=2)
    svc = RegistryService.from_settings(settings)
    try:
        assert svc.engine.dialect.name == ("sqlite" if plain.startswith("sqlite") else "postgresql")
        assert len(svc.units()) == len(YAML.units) and svc.stale_after_s == 7200
        assert svc.area_ids == tuple(range(1, 9))
        assert (tmp_path / "secret").stat().st_mode & 0o777 == 0o600
    finally:
        svc.close()


def test_database_url_defaults_and_drivers():
    assert database_url(None).startswith("sqlite:///") and database_url(None).endswith("data/registry.sqlite3")
    assert database_url("postgres://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert database_url("postgresql://h/db") == "postgresql+psycopg://h/db"
    assert database_url("postgresql+psycopg://h/db") == "postgresql+psycopg://h/db"


def test_reads_are_kept_briefly_and_own_writes_show_at_once(db_url, users):
    """Lookups read approvals and free places from memory for ``registry_read_cache_s``: a write through the same
    service shows at once, one through another process (here a second service on the database) once that time has
    passed, never later."""
    server = open_service(db_url, read_cache_s=30.0)
    other = open_service(db_url, read_cache_s=30.0)
    try:
        provider, admin = users["provider"]["actor"], cli_actor()
        assert server.availability(["ersta-diakoni"])["ersta-diakoni"]["status"] == "none"
        assert 6 not in server.approvals_on(today())["ersta-diakoni"]
        other.set_availability(provider, "ersta-diakoni", 4)
        other.add_approval(admin, "ersta-diakoni", 6, today())
        # Kept: the server still shows what it read, for at most read_cache_s.
        assert server.availability(["ersta-diakoni"])["ersta-diakoni"]["status"] == "none"
        assert 6 not in server.approvals_on(today())["ersta-diakoni"]
        # The time passes (the memo's monotonic clock, moved on rather than slept through).
        start = server._reads._clock()
        server._reads._clock = lambda: start + 30.0
        assert server.availability(["ersta-diakoni"])["ersta-diakoni"]["free_places"] == 4
        assert 6 in server.approvals_on(today())["ersta-diakoni"]
        # Its own write shows at once, and a caller changing its copy of an answer changes nothing kept.
        server.set_availability(provider, "ersta-diakoni", 1)
        assert server.availability()["ersta-diakoni"]["free_places"] == 1
        server.approvals_on(today())["ersta-diakoni"] = ()
        assert 6 in server.approvals_on(today())["ersta-diakoni"]
    finally:
        server.close()
        other.close()
