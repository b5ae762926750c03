"""A schema-less registry file is refused at start, and ``asih registry init`` sets up a new one on purpose (issue 22).

Real SQLite files (0-byte, another program's, damaged) and a real PostgreSQL database: each refusal is one sentence
naming the file and the fix, and nothing is changed in a file that is refused; a missing file is made whole before a
process starting beside can see it.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.settings import get_settings
from registry.db import check_database_file, create_if_missing, make_engine
from registry.errors import Damaged
from registry.service import RegistryService, cli_actor
from tests.registry.conftest import open_service
from tests.registry.test_failures import UNIT, _good_file, _settings


def _foreign_file(path: Path, rows: int) -> bytes:
    """A sound SQLite database of another program: one table, ``rows`` rows."""
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
        connection.executemany("INSERT INTO notes (text) VALUES (?)", [(f"note {i}",) for i in range(rows)])
    return path.read_bytes()


def _cli(monkeypatch, path: Path, *args: str):
    from api.cli import app as cli
    from api.cli.output import console

    monkeypatch.setattr(console, "width", 400)  # made at first import: COLUMNS then decided its width; no wrapping
    monkeypatch.setenv("ASIH_REGISTRY_URL", f"sqlite:///{path}")
    monkeypatch.setenv("ASIH_REGISTRY_SECRET_FILE", str(path.parent / "registry.secret"))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, list(args))
    finally:
        get_settings.cache_clear()
    result.said = " ".join(result.output.split())  # as one line
    return result


@pytest.mark.parametrize("rows", [0, 3])
def test_a_sqlite_file_without_the_schema_is_refused_at_start_untouched(tmp_path, rows):
    path = tmp_path / "registry.sqlite3"
    before = _foreign_file(path, rows)
    with pytest.raises(Damaged) as refused:
        RegistryService.from_settings(_settings(tmp_path, path))
    message = str(refused.value)
    assert str(path) in message and "without the registry's tables" in message and "asih registry init" in message
    assert "\n" not in message
    assert path.read_bytes() == before  # neither migrated into nor imported


def test_registry_init_sets_up_a_zero_byte_file_on_purpose_and_never_overwrites(tmp_path, monkeypatch):
    path = tmp_path / "registry.sqlite3"
    path.touch()
    with pytest.raises(Damaged, match="0 bytes.*run `asih registry init`"):
        RegistryService.from_settings(_settings(tmp_path, path))  # never without being asked
    result = _cli(monkeypatch, path, "registry", "init")
    assert result.exit_code == 0, result.output
    assert "registry.sqlite3 (schema" in result.said and "units imported from" in result.said
    live = RegistryService.from_settings(_settings(tmp_path, path))
    try:
        assert UNIT in live.approvals_on()
        live.add_user(cli_actor(), "admin", [], "kept")
        users = len(live.users())
    finally:
        live.close()
    before = path.read_bytes()
    result = _cli(monkeypatch, path, "registry", "init")
    assert result.exit_code == 2 and "already holds data" in result.said and "Traceback" not in result.output
    assert path.read_bytes() == before
    reopened = RegistryService.from_settings(_settings(tmp_path, path))
    try:
        assert len(reopened.users()) == users
    finally:
        reopened.close()


def test_registry_init_sets_up_an_empty_sqlite_database_but_refuses_another_programs_data(tmp_path, monkeypatch):
    empty = tmp_path / "empty" / "registry.sqlite3"
    empty.parent.mkdir()
    _foreign_file(empty, 0)
    result = _cli(monkeypatch, empty, "registry", "init")
    assert result.exit_code == 0, result.output
    check_database_file(f"sqlite:///{empty}")  # has the schema now

    full = tmp_path / "full" / "registry.sqlite3"
    full.parent.mkdir()
    before = _foreign_file(full, 2)
    result = _cli(monkeypatch, full, "registry", "init")
    assert result.exit_code == 2 and "tables notes)" in result.said and "already holds data" in result.said
    assert full.read_bytes() == before


def test_registry_init_refuses_a_damaged_file(tmp_path, monkeypatch):
    path = tmp_path / "registry.sqlite3"
    good = _good_file(tmp_path).read_bytes()
    path.write_bytes(good[: len(good) // 3])
    result = _cli(monkeypatch, path, "registry", "init")
    assert result.exit_code == 2 and "Restore" in result.output and "Traceback" not in result.output
    assert path.read_bytes() == good[: len(good) // 3]


def _start_beside(url: str, barrier, results) -> None:
    """What a worker does at start, 20 times over: check the file, make it if missing."""
    barrier.wait()
    try:
        made = []
        for _ in range(20):
            check_database_file(url)
            made.append(create_if_missing(url))
        results.put(made.count(True))
    except Damaged as exc:
        results.put(str(exc))


def test_a_new_file_is_never_seen_without_its_schema_by_a_process_starting_beside(tmp_path):
    # Workers starting at once on a fresh install: each must find no file or a whole one, never the schema-less file
    # it would refuse.
    path = tmp_path / "registry.sqlite3"
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(3), context.Queue()
    workers = [context.Process(target=_start_beside, args=(f"sqlite:///{path}", barrier, results)) for _ in range(3)]
    for w in workers:
        w.start()
    outcomes = [results.get(timeout=120) for _ in workers]
    for w in workers:
        w.join(timeout=30)
    assert sorted(outcomes) == [0, 0, 1]  # one made it, no process refused it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["registry.sqlite3"]  # no temporary file left
    check_database_file(f"sqlite:///{path}")


def test_init_database_sets_up_a_new_database_and_refuses_one_with_data(db_url):
    from registry.db import NotEmpty, current_revision, head_revision, init_database

    init_database(db_url)  # a missing SQLite file, or an empty PostgreSQL database
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()
    open_service(db_url).close()  # imports the providers file
    with pytest.raises(NotEmpty, match="already holds data"):
        init_database(db_url)
