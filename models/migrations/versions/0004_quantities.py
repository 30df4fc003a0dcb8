"""quantified targets and recurring duties: a task's target and recurrence, and the values
and counts units report

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("target_value", sa.Double(), nullable=True))
        batch_op.add_column(
            sa.Column("target_unit", sa.String(length=16), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("recurrence", sa.JSON(), nullable=True))
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("value", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("count", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("progress", schema=None) as batch_op:
        batch_op.add_column(sa.Column("value", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("count", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("progress", schema=None) as batch_op:
        batch_op.drop_column("count")
        batch_op.drop_column("value")
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.drop_column("count")
        batch_op.drop_column("value")
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_column("recurrence")
        batch_op.drop_column("target_unit")
        batch_op.drop_column("target_value")
