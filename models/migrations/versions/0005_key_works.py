"""recurring duties as ledger rows: one assignment per unit and occurrence (period key), with
the occurrence's own deadline

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("period", sa.String(length=16), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("period_deadline", sa.Date(), nullable=True))
    # The new key first: MariaDB keeps the foreign key on task_id served by an index at all
    # times, and the new unique key starts with task_id too.
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            "uq_assignment_task_unit_period", ["task_id", "unit_id", "period"]
        )
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.drop_constraint("uq_assignment_task_unit", type_="unique")


def downgrade() -> None:
    # Occurrences beyond the first row of each unit have no place in the old schema.
    op.execute(
        "DELETE FROM assignment WHERE period <> '' AND id NOT IN (SELECT keep FROM ("
        "SELECT MIN(id) AS keep FROM assignment GROUP BY task_id, unit_id) AS firsts)"
    )
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_assignment_task_unit", ["task_id", "unit_id"])
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.drop_constraint("uq_assignment_task_unit_period", type_="unique")
        batch_op.drop_column("period_deadline")
        batch_op.drop_column("period")
