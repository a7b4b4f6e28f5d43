"""A message's history names the lifecycle step each event took, and a note for staff
("attempt 2 of 8 after the carrier answered 500").

Revision ID: 0010
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("message_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("step", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("note", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("message_events", schema=None) as batch_op:
        batch_op.drop_column("note")
        batch_op.drop_column("step")
