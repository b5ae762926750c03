"""The registry schema's revision: which one a database is at, which one the migrations end at.

Reading the revision takes one query and the migration scripts' ``revision`` lines; Alembic (≈ 0.15 s to import)
is imported only to migrate or to answer for migrations it alone can read (merges, branches).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from sqlalchemy import Engine, inspect, text

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SCHEMA_TABLE = "alembic_version"
"""The table every registry database has from its first migration on: without it, a file is not the registry's."""


def is_at_head(engine: Engine) -> bool:
    """True when the database's schema revision is the newest one in ``registry/migrations``, read with plain SQL.

    False when it is older, has no revision table yet, or when the migrations do not have exactly one head (then
    Alembic decides); a database that cannot be reached raises the driver's error, as a migration would.
    """
    head = _script_head()
    if head is None:
        return False
    with engine.connect() as connection:
        if not inspect(connection).has_table(SCHEMA_TABLE):
            return False
        rows = connection.execute(text(f"SELECT version_num FROM {SCHEMA_TABLE}")).scalars().all()
    return rows == [head]


_REVISION = re.compile(r"""^(down_revision|revision)\s*(?::[^=]*)?=\s*(None|["']([^"']+)["'])\s*$""", re.M)


@cache
def _script_head() -> str | None:
    """The head revision of ``registry/migrations/versions``, from the ``revision`` and ``down_revision`` lines of
    the scripts (not importing Alembic); None when a script names several parents or the scripts have no single
    head (merges and branches are left to Alembic). ``tests/registry`` checks it against Alembic's own head."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        found = {name: value for name, _, value in _REVISION.findall(script.read_text(encoding="utf-8"))}
        if "revision" not in found:
            continue  # __init__.py
        if not found["revision"] or "down_revision" not in found:
            return None
        revisions.add(found["revision"])
        if found["down_revision"]:
            parents.add(found["down_revision"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at (None before the first migration)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest revision in ``registry/migrations`` (by Alembic)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def alembic_config():
    """Alembic's configuration for ``registry/migrations`` (no ``alembic.ini`` needed)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config
