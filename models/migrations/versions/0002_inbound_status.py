"""inbound messages: processing status, reply route, smart-robot response URL, media id

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=16), nullable=False, server_default="processed")
        )
        batch_op.add_column(
            sa.Column("reply_via", sa.String(length=16), nullable=False, server_default="passive")
        )
        batch_op.add_column(sa.Column("response_url", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("media_id", sa.String(length=255), nullable=True))
        batch_op.create_index("ix_inbound_status", ["status", "received_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_status")
        batch_op.drop_column("media_id")
        batch_op.drop_column("response_url")
        batch_op.drop_column("reply_via")
        batch_op.drop_column("status")
