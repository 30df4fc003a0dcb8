"""failed-attempt counters (login guesses, WeChat bind codes) in the database, shared by
every process and kept across restarts; a key work's scoring mode from the sheet (计分方式)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attempt_counter",
        sa.Column("name", sa.String(length=191), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("ends_at", models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_attempt_counter")),
    )
    with op.batch_alter_table("attempt_counter", schema=None) as batch_op:
        batch_op.create_index("ix_attempt_counter_ends_at", ["ends_at"], unique=False)
    with op.batch_alter_table("key_work", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scoring", sa.String(length=16), nullable=True))
    # The bind-code counters used to live in `setting` rows; they expire within a day and
    # are simply dropped (a guesser gains at most one fresh window).
    setting = sa.table("setting", sa.column("key", sa.String))
    op.execute(setting.delete().where(setting.c.key.like("bindfail:%")))


def downgrade() -> None:
    with op.batch_alter_table("key_work", schema=None) as batch_op:
        batch_op.drop_column("scoring")
    with op.batch_alter_table("attempt_counter", schema=None) as batch_op:
        batch_op.drop_index("ix_attempt_counter_ends_at")
    op.drop_table("attempt_counter")
