"""Throttling shared by all workers and token expiry: the failed token checks, and when a token expires.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from registry.models import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tokens") as batch:  # SQLite: ADD COLUMN in place (nullable, no default)
        batch.add_column(sa.Column("expires_at", UTCDateTime(), nullable=True))
    op.create_table(
        "auth_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("prefix_key", sa.String(64), nullable=True),
        sa.Column("prefix_known", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_failures")),
    )
    op.create_index(op.f("ix_auth_failures_at"), "auth_failures", ["at"])
    op.create_index("ix_auth_failures_address_at", "auth_failures", ["address", "at"])
    op.create_index("ix_auth_failures_prefix_key_at", "auth_failures", ["prefix_key", "at"])


def downgrade() -> None:
    op.drop_table("auth_failures")  # its indexes go with it
    with op.batch_alter_table("tokens") as batch:
        batch.drop_column("expires_at")
