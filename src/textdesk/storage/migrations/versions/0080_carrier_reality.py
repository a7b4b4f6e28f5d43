"""carrier reality: who answers keywords, messaging services, expiring texts

Revision ID: 0080
Revises: 0070
Create Date: 2026-12-02 01:01:06.584206
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0080"
down_revision: str | None = "0070"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("carrier_keyword", sa.String(length=10), nullable=True))
        batch_op.create_index("ix_messages_expiry", ["status", "expires_at"], unique=False)

    with op.batch_alter_table("sending_numbers", schema=None) as batch_op:
        # Existing numbers are Twilio's default too: the carrier answers their keywords.
        batch_op.add_column(sa.Column("keyword_replies", sa.String(length=10),
                                      server_default="carrier", nullable=False))
        batch_op.add_column(sa.Column("messaging_service_sid", sa.String(length=34),
                                      nullable=True))
        batch_op.create_index(batch_op.f("ix_sending_numbers_messaging_service_sid"),
                              ["messaging_service_sid"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sending_numbers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sending_numbers_messaging_service_sid"))
        batch_op.drop_column("messaging_service_sid")
        batch_op.drop_column("keyword_replies")

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_expiry")
        batch_op.drop_column("carrier_keyword")
        batch_op.drop_column("expires_at")
