"""Every lead_id names a lead: foreign keys on the five tables that carried a bare integer.

Revision ID: 0035
Revises: 0030
Create Date: 2026-12-02

On SQLite, batch mode rebuilds each table; the consent history's append-only triggers go
with the old table, so they are made again on the new one, as revision 0001 made them. The
rebuild reflects the live tables, so `migrate --sql` (a script for a PostgreSQL DBA) prints a
comment for this step on SQLite instead.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from alembic import op

revision: str = "0035"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("consent_events", "conversations", "messages", "refused_sends", "revocation_flags")
_first = importlib.import_module("textdesk.storage.migrations.versions.0001_release_0_1_0")


def _name(table: str) -> str:
    return f"fk_{table}_lead_id"


def _rebuilds_tables() -> bool:
    return op.get_context().dialect.name == "sqlite"


def _printed_for_sqlite() -> bool:
    """`migrate --sql` on SQLite: a rebuild needs the live tables, so the script says so."""
    context = op.get_context()
    if context.as_sql and _rebuilds_tables():
        op.execute(
            "-- 0035 adds lead foreign keys by rebuilding tables: on SQLite run "
            "`textdesk migrate` itself for this step"
        )
        return True
    return False


def upgrade() -> None:
    if _printed_for_sqlite():
        return
    if _rebuilds_tables():
        _first._drop_append_only_triggers()
    for table in _TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.create_foreign_key(_name(table), "leads", ["lead_id"], ["id"])
    if _rebuilds_tables():
        _first._create_append_only_triggers()


def downgrade() -> None:
    if _printed_for_sqlite():
        return
    if _rebuilds_tables():
        _first._drop_append_only_triggers()
    for table in reversed(_TABLES):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(_name(table), type_="foreignkey")
    if _rebuilds_tables():
        _first._create_append_only_triggers()
