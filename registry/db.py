"""Engines, transactions and migrations for the registry database (SQLite by default, PostgreSQL by URL).

Writers serialise per unit, so that concurrent updates lose nothing and each change's "before" is the state the
change replaced:

- **SQLite** has one writer at a time: a write transaction starts with ``BEGIN IMMEDIATE`` (it takes the write lock
  at once, instead of failing at its first write when another writer got there first), readers use WAL and never
  wait, and ``busy_timeout`` makes a second writer wait rather than fail.
- **PostgreSQL** runs at READ COMMITTED; a write locks the unit's row (``SELECT … FOR UPDATE``) before reading the
  state it changes, so a second writer of the same unit waits and then reads the first one's result.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from geo.settings import PROJECT_ROOT

DEFAULT_SQLITE_PATH = PROJECT_ROOT / "data" / "registry.sqlite3"
"""Where the registry lives when ``ASIH_REGISTRY_URL`` is not set (ignored by git)."""

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_S = 30.0
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
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" event below emits BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.close()

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
    with Session(bind, expire_on_commit=False) as session, session.begin():
        yield session


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A session for reading (a consistent snapshot in WAL mode and in PostgreSQL)."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session


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
