"""The inbox's count and live-update stamp from an index: conversations (practice_id, id,
is_blocked) (decision 0189).

Revision ID: 0060
Revises: 0090
Create Date: 2026-12-02 02:30:56.502374
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0060"
down_revision: str | None = "0090"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.create_index("ix_conversations_practice_id", ["practice_id", "id", "is_blocked"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_conversations_practice_id")
