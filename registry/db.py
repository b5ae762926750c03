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
server dropped). At start, :func:`check_database_file` refuses a SQLite file that is not a usable database.

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

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, NotSupportedError, ProgrammingError
from sqlalchemy.orm import Session

from core.settings import PROJECT_ROOT
from registry.errors import Damaged, Unavailable

DEFAULT_SQLITE_PATH = PROJECT_ROOT / "data" / "registry.sqlite3"
"""Where the registry lives when ``ASIH_REGISTRY_URL`` is not set (ignored by git)."""

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_S = 30.0
PG_CONNECT_TIMEOUT_S = 5
_PG_MIGRATION_LOCK = 0x41534948  # "ASIH": one process migrates (and imports) at a time


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
    user, token and report. A truncated, damaged or non-database file fails ``PRAGMA quick_check``. Raises
    :class:`registry.errors.Damaged`; other databases (PostgreSQL) are checked by their first query.
    """
    path = sqlite_path(url)
    if path is None or not path.exists():
        return
    fix = (f"Restore {path} from a backup, or move it away to start a new registry from the providers file "
           "(its users, tokens and reports would then be lost).")
    if path.is_dir():
        raise Damaged(f"The registry database {path} is a directory, not a file. {fix}")
    if path.stat().st_size == 0:
        raise Damaged(f"The registry database {path} is empty (0 bytes): not a database, and not taken for a new "
                      f"one. {fix}")
    try:
        with closing(sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_S)) as connection:
            result = [row[0] for row in connection.execute("PRAGMA quick_check")]
    except sqlite3.DatabaseError as exc:
        raise Damaged(f"The registry database {path} cannot be read as a SQLite database "
                      f"({_first_line(exc)}). {fix}") from None
    if result != ["ok"]:
        raise Damaged(f"The registry database {path} is damaged (PRAGMA quick_check: {result[0][:200]}). {fix}")


def upgrade(url: str | Engine) -> None:
    """Bring the database at ``url`` (a URL or an engine) to the newest schema; safe to call at every start.

    Two processes starting at once do not both migrate: SQLite's write lock or a PostgreSQL advisory lock lets
    one run at a time, and the second finds the schema current.
    """
    engine = url if isinstance(url, Engine) else make_engine(url)
    try:
        with engine.execution_options(sqlite_begin="IMMEDIATE").begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            config = _alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        if engine is not url:
            engine.dispose()


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at (None before the first migration)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest revision in ``registry/migrations``."""
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def revision(message: str, url: str | None = None) -> None:
    """Write a new migration from the difference between the models and a database at the newest schema."""
    config = _alembic_config()
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


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config
