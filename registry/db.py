"""Engines, transactions and migrations for the registry database (SQLite by default, PostgreSQL by URL).

Writers serialise per unit, so that concurrent updates lose nothing and each change's "before" is the state the
change replaced:

- **SQLite** has one writer at a time: a write transaction starts with ``BEGIN IMMEDIATE`` (it takes the write lock
  at once, instead of failing at its first write when another writer got there first), readers use WAL and never
  wait, and ``busy_timeout`` makes a second writer wait rather than fail.
- **PostgreSQL** runs at READ COMMITTED; a write locks the unit's row (``SELECT … FOR UPDATE``) before reading the
  state it changes, so a second writer of the same unit waits and then reads the first one's result.

A database that cannot be used right now (the server stopped, the file unreadable or damaged) raises
:class:`registry.errors.Unavailable` from every session, never a driver error: the transaction is rolled back, so a
write is stored whole or not at all, and the next session tries again (``pool_pre_ping`` replaces connections the
server dropped). At start, :func:`check_database_file` refuses a SQLite file that is not a usable registry database
(0 bytes, damaged, or without the registry's tables); a missing file is made whole before anyone sees it
(:func:`create_if_missing`); ``asih registry init`` (:func:`init_database`) sets up an empty one on purpose.

A SQLite file deleted or replaced under a running server would go on being read and written through the open
connections (the deleted file's inode), and every write would be lost at the next start. So each session first
checks that the file at the path is still the one opened (device and inode): a missing file makes the registry
unavailable (no new, empty file is made); a different one is taken up only when it passes the start checks and has
the registry's tables (a backup put back), else unavailable too.
"""

from __future__ import annotations

import os
import sqlite3
import weakref
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, NotSupportedError, ProgrammingError
from sqlalchemy.orm import Session

from core.settings import PROJECT_ROOT
from core.words import render
from registry.errors import Damaged, Unavailable
from registry.schema import (  # noqa: F401 - current_revision, head_revision re-exported
    SCHEMA_TABLE,
    alembic_config,
    current_revision,
    head_revision,
    is_at_head,
)

DEFAULT_SQLITE_PATH = PROJECT_ROOT / "data" / "registry.sqlite3"
"""Where the registry lives when ``ASIH_REGISTRY_URL`` is not set (ignored by git)."""

SQLITE_BUSY_TIMEOUT_S = 30.0
PG_CONNECT_TIMEOUT_S = 5
_PG_MIGRATION_LOCK = 0x41534948  # "ASIH": one process migrates (and imports) at a time


class NotEmpty(RuntimeError):
    """``asih registry init`` refused a database that already holds data (the message names it and the fix)."""


def database_url(url: str | None = None, sqlite_path: Path = DEFAULT_SQLITE_PATH) -> str:
    """The SQLAlchemy URL to use: ``url`` made explicit about its driver, or the default SQLite file.

    ``postgresql://`` and ``postgres://`` URLs get the installed driver (psycopg 3), so the setting can be the URL
    a PostgreSQL administrator hands out.
    """
    if not url:
        return f"sqlite:///{sqlite_path}"
    for scheme in ("postgres://", "postgresql://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme):]
    return url


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (see :func:`database_url`), with SQLite set up for concurrent use.

    A SQLite file's directory is created if missing.
    """
    url = database_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        # A server that does not answer (network down) must not hold a lookup's thread for minutes.
        return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_S})
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    path = Path(parsed.database) if parsed.database and parsed.database != ":memory:" else None
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" event below emits BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.close()
        if path is not None and engine not in _FILE_IDS:
            _FILE_IDS[engine] = _identity(path)  # the file the first connection opened (or made)

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """A session whose transaction may write: committed at the end, rolled back on an exception.

    On SQLite it holds the database's write lock from its first statement; on PostgreSQL callers lock the rows
    they change (``SELECT … FOR UPDATE``, as ``RegistryService`` does with the unit's row).
    """
    bind = engine.execution_options(sqlite_begin="IMMEDIATE") if is_sqlite(engine) else engine
    _verify_file(engine)
    with _unavailable_as_such(engine), Session(bind, expire_on_commit=False) as session, session.begin():
        yield session


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A session for reading (a consistent snapshot in WAL mode and in PostgreSQL)."""
    _verify_file(engine)
    with _unavailable_as_such(engine), Session(engine, expire_on_commit=False) as session, session.begin():
        yield session


RETRY_AFTER_S = 10
"""The Retry-After of a write refused because the database is unavailable (seconds)."""
_NOT_AVAILABILITY = (IntegrityError, DataError, ProgrammingError, NotSupportedError)
"""Driver errors that are about the statement, not about the database being there: they stay errors."""


@contextmanager
def _unavailable_as_such(engine: Engine) -> Iterator[None]:
    """Driver errors that mean "the database cannot be used now" raised as :class:`Unavailable` with a sentence."""
    try:
        yield
    except DBAPIError as exc:
        if isinstance(exc, _NOT_AVAILABILITY):
            raise
        # Fresh connections for the next session: SQLite's, once they saw a damaged file, keep failing after it is
        # restored; PostgreSQL's are dead after a restart.
        engine.dispose()
        raise Unavailable(f"The registry database ({_where(engine)}) cannot be used right now: "
                          f"{_first_line(exc.orig)}.", RETRY_AFTER_S) from exc


_FILE_IDS: weakref.WeakKeyDictionary[Engine, tuple[int, int] | None] = weakref.WeakKeyDictionary()
"""A SQLite engine → (device, inode) of the file it opened."""


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def _verify_file(engine: Engine) -> None:
    """Raise :class:`Unavailable` unless the SQLite file at the engine's path is the one it opened, or a usable
    registry database put in its place (then taken up: the pool's connections to the old file are closed)."""
    known = _FILE_IDS.get(engine)
    if known is None:
        return
    path = Path(engine.url.database)
    now = _identity(path)
    if now == known:
        return
    engine.dispose()  # connections to the old file must not write into it
    if now is None:
        raise Unavailable(f"The registry database {path} was deleted while the server ran; nothing was changed. "
                          "Put the file (or its backup) back; the server takes it up without a restart.",
                          RETRY_AFTER_S)
    try:
        check_database_file(f"sqlite:///{path}")
        with closing(sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_S)) as connection:
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except (Damaged, sqlite3.DatabaseError) as exc:
        raise Unavailable(f"The registry database {path} was replaced while the server ran by a file it cannot "
                          f"use: {exc}", RETRY_AFTER_S) from None
    if not {"units", "approvals", "changes", "alembic_version"} <= tables:
        raise Unavailable(f"The registry database {path} was replaced while the server ran by a file without the "
                          "registry's tables; nothing was changed. Put the right file (or its backup) back.",
                          RETRY_AFTER_S)
    _FILE_IDS[engine] = now


def _where(engine: Engine) -> str:
    url = engine.url
    if url.get_backend_name() == "sqlite":
        return f"SQLite file {url.database}"
    return f"PostgreSQL at {url.host}:{url.port or 5432}/{url.database}"


def _first_line(error: BaseException | None) -> str:
    text = str(error or "unknown error").strip().splitlines()
    return (text[0] if text else "unknown error").rstrip(".")[:200]


def sqlite_path(url: str | None) -> Path | None:
    """The file of a SQLite URL (:func:`database_url`), None for another database or an in-memory one."""
    parsed = make_url(database_url(url))
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def check_database_file(url: str | None) -> None:
    """Refuse, with a sentence naming the file and the fix, a SQLite registry file that is not a usable database.

    Only a missing file is created new (and filled from the providers file). A 0-byte file is refused, not taken for
    a new registry: it is what a failed copy or a full disk leaves, and importing anew would silently drop every
    user, token and report. A truncated, damaged or non-database file fails ``PRAGMA quick_check``; a sound SQLite
    database without the registry's tables (another program's file, a wrong path) is refused too, never migrated
    into. ``asih registry init`` sets up a 0-byte or schema-less file on purpose. Raises
    :class:`registry.errors.Damaged`; other databases (PostgreSQL) are checked by their first query.
    """
    path = sqlite_path(url)
    if path is None or not path.exists():
        return
    _check_sqlite_file(path)
    if SCHEMA_TABLE not in _sqlite_tables(path):
        raise Damaged(render("registry_file_without_schema", {"path": str(path)}))


def _check_sqlite_file(path: Path) -> None:
    """Refuse (:class:`Damaged`) a directory, a 0-byte file, or a file ``PRAGMA quick_check`` does not pass."""
    fix = (f"Restore {path} from a backup, or move it away to start a new registry from the providers file "
           "(its users, tokens and reports would then be lost).")
    if path.is_dir():
        raise Damaged(f"The registry database {path} is a directory, not a file. {fix}")
    if path.stat().st_size == 0:
        raise Damaged(render("registry_file_empty", {"path": str(path)}))
    try:
        with closing(sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_S)) as connection:
            result = [row[0] for row in connection.execute("PRAGMA quick_check")]
    except sqlite3.DatabaseError as exc:
        raise Damaged(f"The registry database {path} cannot be read as a SQLite database "
                      f"({_first_line(exc)}). {fix}") from None
    if result != ["ok"]:
        raise Damaged(f"The registry database {path} is damaged (PRAGMA quick_check: {result[0][:200]}). {fix}")


def _sqlite_tables(path: Path) -> set[str]:
    with closing(sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_S)) as connection:
        return {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def create_if_missing(url: str | None) -> bool:
    """Make a missing SQLite registry file, migrated to the newest schema, in one step; True when this call made it.

    The schema is built in a file beside it and linked into place (an atomic step that fails if the file exists), so
    another process starting at the same moment (``asih serve --workers 2``) never sees a half-made, schema-less
    file, which :func:`check_database_file` would refuse. Other databases: nothing to do (False).
    """
    path = sqlite_path(url)
    if path is None or path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    new = path.with_name(f".{path.name}.{os.getpid()}.new")
    parts = [new, new.with_name(new.name + "-wal"), new.with_name(new.name + "-shm")]
    try:
        for part in parts:
            part.unlink(missing_ok=True)
        engine = make_engine(f"sqlite:///{new}")
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        with closing(sqlite3.connect(new)) as connection:
            connection.execute("PRAGMA journal_mode = DELETE")  # everything in the one file that is linked
        try:
            os.link(new, path)
        except FileExistsError:
            return False  # another process made it first: its file is whole too
        except OSError:  # a file system without hard links: a plain rename (whole, but not exclusive)
            if path.exists():
                return False
            os.replace(new, path)
        return True
    finally:
        for part in parts:
            part.unlink(missing_ok=True)


def init_database(url: str | None) -> str:
    """Set up the registry's schema on purpose (``asih registry init``) in a new or empty database; its name.

    A missing or 0-byte SQLite file is made new; a sound SQLite file or a PostgreSQL database without data gets the
    schema. Refuses a database in which any table holds a row (:class:`NotEmpty`: it never overwrites one) and a
    damaged file (:class:`registry.errors.Damaged`); :class:`registry.errors.Unavailable` when it cannot be reached.
    The providers file is imported afterwards, as at a first start (``RegistryService.from_settings``).
    """
    url = database_url(url)
    path = sqlite_path(url)
    if path is not None:
        if path.is_file() and path.stat().st_size == 0:
            path.unlink()  # a 0-byte file holds nothing to keep
        if create_if_missing(url):
            return f"SQLite file {path}"
        _check_sqlite_file(path)
        # Read-only: opening it through the engine would already switch its journal to WAL, a change to a file
        # that may be another program's.
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as connection:
            full = _tables_with_rows(connection.execute, _sqlite_tables(path))
        if full:
            raise NotEmpty(render("registry_init_has_data", {"where": f"SQLite file {path}", "tables": full}))
    engine = make_engine(url)
    try:
        with _unavailable_as_such(engine), engine.connect() as connection:
            full = _tables_with_rows(lambda sql: connection.execute(text(sql)), inspect(connection).get_table_names())
        if full:
            raise NotEmpty(render("registry_init_has_data", {"where": _where(engine), "tables": full}))
        with _unavailable_as_such(engine):
            upgrade(engine)
        return _where(engine)
    finally:
        engine.dispose()


def _tables_with_rows(execute, tables) -> list[str]:
    """The tables (but the schema's revision) in which a row exists, sorted; ``execute(sql)`` gives a cursor."""
    return [t for t in sorted(tables) if t != SCHEMA_TABLE and not t.startswith("sqlite_")
            and execute(f'SELECT 1 FROM "{_quoted(t)}" LIMIT 1').fetchone() is not None]


def _quoted(name: str) -> str:
    return name.replace('"', '""')


def upgrade(url: str | Engine) -> None:
    """Bring the database at ``url`` (a URL or an engine) to the newest schema; safe to call at every start.

    A database already at the newest revision is recognised by one query (:func:`is_at_head`) and Alembic is not
    even imported: importing and running it cost ≈ 0.2 s of every ``asih lookup`` (bench/bench_cli.py). Two
    processes starting at once do not both migrate: SQLite's write lock or a PostgreSQL advisory lock lets one run
    at a time, and the second finds the schema current.
    """
    engine = url if isinstance(url, Engine) else make_engine(url)
    try:
        if is_at_head(engine):
            return
        from alembic import command

        with engine.execution_options(sqlite_begin="IMMEDIATE").begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        if engine is not url:
            engine.dispose()


def revision(message: str, url: str | None = None) -> None:
    """Write a new migration from the difference between the models and a database at the newest schema."""
    from alembic import command

    config = alembic_config()
    engine = make_engine(url or "sqlite://")
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        command.revision(config, message=message, autogenerate=True)


@contextmanager
def migration_lock(session: Session) -> Iterator[None]:
    """Serialise first-start work (the YAML import) between processes, inside a :func:`write_session`."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
    yield
