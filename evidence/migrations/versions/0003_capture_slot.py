"""capture idempotency key

One sealed capture per finding and time slot when several workers capture at once: a capture
row may carry an idempotency key (e.g. ``finding:42:slot:2026-12-01T00``) that is unique in the
case file. NULL keys (captures made without one) are never in conflict.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 23:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("capture") as batch:
        batch.add_column(sa.Column("idempotency_key", sa.String(length=200), nullable=True))
    op.create_index("ix_capture_idempotency_key", "capture", ["idempotency_key"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_capture_idempotency_key", table_name="capture")
    with op.batch_alter_table("capture") as batch:
        batch.drop_column("idempotency_key")
