"""Saved what-if scenarios: one unit's base changes, the approvals' day and the traffic profile; immutable.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-09
"""

import sqlalchemy as sa
from alembic import op

from registry.models import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scenarios",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("unit_id", sa.String(80), nullable=False),
        sa.Column("approvals_date", sa.Date(), nullable=False),
        sa.Column("profile", sa.String(16), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("saved_at", UTCDateTime(), nullable=False),
        sa.Column("saved_by", sa.Integer(), nullable=True),
        sa.Column("saved_by_name", sa.String(200), nullable=False),
        sa.ForeignKeyConstraint(["saved_by"], ["users.id"], name=op.f("fk_scenarios_saved_by_users")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_scenarios_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scenarios")),
    )
    op.create_index(op.f("ix_scenarios_unit_id"), "scenarios", ["unit_id"])
    op.create_index(op.f("ix_scenarios_saved_at"), "scenarios", ["saved_at"])
    _immutable()


def _immutable() -> None:
    """Refuse UPDATE and DELETE (and TRUNCATE in PostgreSQL) on scenarios, as on the append-only tables of 0001
    (whose PostgreSQL function ``registry_append_only`` this reuses)."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER scenarios_no_{event.lower()} BEFORE {event} ON scenarios "
                       "BEGIN SELECT RAISE(ABORT, 'scenarios is append-only'); END")
    elif dialect == "postgresql":
        op.execute("CREATE TRIGGER scenarios_append_only BEFORE UPDATE OR DELETE ON scenarios "
                   "FOR EACH ROW EXECUTE FUNCTION registry_append_only()")
        op.execute("CREATE TRIGGER scenarios_no_truncate BEFORE TRUNCATE ON scenarios "
                   "FOR EACH STATEMENT EXECUTE FUNCTION registry_append_only()")


def downgrade() -> None:
    # Dropping the table drops its triggers on both backends.
    op.drop_index(op.f("ix_scenarios_saved_at"), table_name="scenarios")
    op.drop_index(op.f("ix_scenarios_unit_id"), table_name="scenarios")
    op.drop_table("scenarios")
