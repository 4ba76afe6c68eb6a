"""Attempt counters per asker, under keyed hashes, that expire.

The old counters were keyed by the number and the client address in clear and were never
deleted: they are dropped, not converted (they only held the last minutes of attempts).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("attempt_counters")
    op.create_table(
        "attempt_counters",
        sa.Column("subject", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_ends", sa.Float(), nullable=False),
        sa.Column("pending", sa.Integer(), nullable=False),
        sa.Column("pending_until", sa.Float(), nullable=False),
        sa.Column("blocked_until", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_attempt_counters_expires_at", "attempt_counters", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_attempt_counters_expires_at", table_name="attempt_counters")
    op.drop_table("attempt_counters")
    op.create_table(
        "attempt_counters",
        sa.Column("subject", sa.String(80), primary_key=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_ends", sa.Float(), nullable=False),
        sa.Column("locked_until", sa.Float(), nullable=True),
    )
