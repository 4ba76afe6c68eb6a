"""Checklists, attempt limits (counters and locks), processed events, stuck-dossier index.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_dossiers_statut_depuis", "dossiers", ["statut", "statut_depuis"])
    op.create_table(
        "checklists",
        sa.Column("code", sa.String(16), primary_key=True),
        sa.Column("demarche", sa.String(64), nullable=False),
        sa.Column("reponses", sa.JSON(), nullable=False),
        sa.Column("resultat", sa.JSON(), nullable=False),
        sa.Column("cree_le", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "attempt_counters",
        sa.Column("subject", sa.String(80), primary_key=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_ends", sa.Float(), nullable=False),
        sa.Column("locked_until", sa.Float(), nullable=True),
    )
    op.create_table(
        "lookup_locks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("numero", sa.String(32), nullable=False, index=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "processed_events",
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column(
            "numero",
            sa.String(32),
            sa.ForeignKey("dossiers.numero", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("payload_sha256", sa.String(64), nullable=False),
        sa.Column("resultat", sa.JSON(), nullable=False),
        sa.Column("recu_le", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("processed_events")
    op.drop_table("lookup_locks")
    op.drop_table("attempt_counters")
    op.drop_table("checklists")
    op.drop_index("ix_dossiers_statut_depuis", table_name="dossiers")
