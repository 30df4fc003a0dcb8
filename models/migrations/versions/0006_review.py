"""two-level review and required evidence: which review step holds a reported claim and
since when; whether a task's done claims need photos or files

Revision ID: 0006
Revises: 0004 (to be re-chained onto 0005 at merge)
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("evidence_required", sa.Boolean(), nullable=True))
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_stage", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("review_stage_at", models.base.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.drop_column("review_stage_at")
        batch_op.drop_column("review_stage")
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_column("evidence_required")
