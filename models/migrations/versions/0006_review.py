"""two-level review, required evidence, spot checks: which review step holds a reported
claim and since when; whether a task's done claims need photos or files; spot-check drawings
and their results

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("evidence_required", sa.Boolean(), nullable=True))
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_stage", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("review_stage_at", models.base.UTCDateTime(), nullable=True))
    op.create_table(
        "spot_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("drawn_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("drawn_by", sa.String(length=64), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("window_start", sa.Date(), nullable=False),
        sa.Column("window_end", sa.Date(), nullable=False),
        sa.Column("population", sa.JSON(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spot_check")),
    )
    op.create_table(
        "spot_check_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("check_id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("decided_at", models.base.UTCDateTime(), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("unit_points", sa.Double(), nullable=False),
        sa.Column("lead_unit_id", sa.Integer(), nullable=True),
        sa.Column("lead_points", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["assignment.id"],
            name=op.f("fk_spot_check_item_assignment_id_assignment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["check_id"],
            ["spot_check.id"],
            name=op.f("fk_spot_check_item_check_id_spot_check"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["lead_unit_id"], ["unit.id"], name=op.f("fk_spot_check_item_lead_unit_id_unit")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["unit.id"], name=op.f("fk_spot_check_item_unit_id_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spot_check_item")),
    )


def downgrade() -> None:
    op.drop_table("spot_check_item")
    op.drop_table("spot_check")
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.drop_column("review_stage_at")
        batch_op.drop_column("review_stage")
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_column("evidence_required")
