"""Alembic environment: runs on the connection :func:`registry.db.upgrade` passes in (or on ``sqlalchemy.url``).

To write a new revision after changing ``registry/models.py``::

    python -c "from registry.db import revision; revision('what changed')"
"""

from __future__ import annotations

from alembic import context

from registry.models import Base


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True,
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("The registry's migrations run online only: use registry.db.upgrade(url).")

_connection = context.config.attributes.get("connection")
if _connection is not None:
    _run(_connection)
else:
    from registry.db import make_engine

    with make_engine(context.config.get_main_option("sqlalchemy.url")).begin() as _conn:
        _run(_conn)
