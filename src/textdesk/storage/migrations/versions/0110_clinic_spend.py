"""Each clinic's spend per calendar month, kept as texts are sent (decision 0196), filled from
the texts already sent; the index the month's sum was read from goes.

Revision ID: 0110
Revises: 0100
Create Date: 2026-12-03 13:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0110"
down_revision: str | None = "0100"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# `sent_at` holds naive UTC on both databases; the month is its first seven characters.
MONTH_OF_SENT = {"sqlite": "substr(sent_at, 1, 7)", "postgresql": "to_char(sent_at, 'YYYY-MM')"}


def upgrade() -> None:
    id_type = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "clinic_spend",
        sa.Column("clinic_id", id_type, nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("practice_id", id_type, nullable=False),
        sa.Column("cost_usd", sa.Numeric(precision=12, scale=4), nullable=False),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinics.id"]),
        sa.ForeignKeyConstraint(["practice_id"], ["practices.id"]),
        sa.PrimaryKeyConstraint("clinic_id", "month"),
    )
    month = MONTH_OF_SENT[op.get_context().dialect.name]
    op.execute(
        f"INSERT INTO clinic_spend (clinic_id, month, practice_id, cost_usd) "
        f"SELECT clinic_id, {month}, min(practice_id), sum(cost_usd) FROM messages "
        f"WHERE direction = 'outbound' AND sent_at IS NOT NULL AND clinic_id IS NOT NULL "
        f"GROUP BY clinic_id, {month}")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_clinic_sent")


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_clinic_sent", ["clinic_id", "sent_at"], unique=False)
    op.drop_table("clinic_spend")
