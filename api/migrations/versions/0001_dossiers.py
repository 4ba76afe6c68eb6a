"""Dossiers, their status history and missing pieces.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dossiers",
        sa.Column("numero", sa.String(32), primary_key=True),
        sa.Column("demarche", sa.String(64), nullable=False),
        sa.Column("titulaire", sa.String(200), nullable=False),
        sa.Column("date_naissance_hmac", sa.String(64), nullable=False),
        sa.Column("statut", sa.String(32), nullable=False),
        sa.Column("statut_depuis", sa.DateTime(timezone=True), nullable=False),
        sa.Column("motif", sa.Text(), nullable=True),
        sa.Column("suivi_courrier", sa.String(32), nullable=True),
    )
    op.create_table(
        "status_changes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "numero",
            sa.String(32),
            sa.ForeignKey("dossiers.numero", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("statut", sa.String(32), nullable=False),
        sa.Column("le", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "missing_pieces",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "numero",
            sa.String(32),
            sa.ForeignKey("dossiers.numero", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("piece", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("missing_pieces")
    op.drop_table("status_changes")
    op.drop_table("dossiers")
