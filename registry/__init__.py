"""The live registry: units, dated approvals, free places, users and tokens, and an append-only change log.

One database (SQLite by default at ``data/registry.sqlite3``, PostgreSQL by ``ASIH_REGISTRY_URL``), one schema
with Alembic migrations (``registry/migrations``), applied at start by :func:`registry.db.upgrade`. The YAML file
``data/providers.yaml`` is the import/export format: the first start imports it into an empty database, and
``asih registry export`` writes the database back in the same format (``geo/providers.py`` reads and writes it).

Modules: ``models`` (tables), ``db`` (engines, transactions, migrations), ``tokens`` (random tokens, keyed
hashes), ``actors`` and ``errors`` (who acts; the refusals), ``service`` (what the routes and the CLI call),
``yamlio`` (import/export), ``auth`` (HTTP: bearer tokens, roles, rate-limited failures).
"""
