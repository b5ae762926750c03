"""Alembic migrations of the registry schema; applied by :func:`registry.db.upgrade` (no ``alembic.ini`` needed)."""
