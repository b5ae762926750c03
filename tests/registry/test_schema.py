"""The schema revision read without Alembic: a registry at the newest schema opens without importing it, an older
one is still migrated (issue 24: ``asih lookup`` paid ≈ 0.2 s to import and run Alembic at every open).

Real databases on both backends (``db_url``: a SQLite file and a PostgreSQL database).
"""

from __future__ import annotations

import subprocess
import sys

from alembic import command

from core.settings import PROJECT_ROOT
from registry.db import current_revision, head_revision, make_engine, upgrade
from registry.schema import _script_head, alembic_config, is_at_head


def test_the_scripts_head_is_alembics_head():
    assert _script_head() == head_revision() == "0003"


def test_an_older_schema_is_not_at_head_and_is_migrated(db_url):
    engine = make_engine(db_url)
    try:
        assert is_at_head(engine) is False  # no revision table yet
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "0002")
        assert current_revision(engine) == "0002"
        assert is_at_head(engine) is False
        upgrade(engine)
        assert current_revision(engine) == "0003"
        assert is_at_head(engine) is True
    finally:
        engine.dispose()


def test_opening_a_registry_at_head_does_not_import_alembic(db_url):
    engine = make_engine(db_url)
    upgrade(engine)
    engine.dispose()
    probe = ("import sys\n"
             "from registry.db import make_engine, upgrade\n"
             f"engine = make_engine({db_url!r})\n"
             "upgrade(engine)\n"
             "engine.dispose()\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))\n")
    out = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
