"""Ids are 64-bit: every id column BIGINT on PostgreSQL, and the counters behind them too
(decision 0145). SQLite's INTEGER already holds 64 bits: nothing changes there, no table is
rebuilt and the append-only triggers stay as they are.

Revision ID: 0100
Revises: 0060
Create Date: 2026-12-03 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0100"
down_revision: str | None = "0060"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every column that holds an id at revision 0060, written out: a migration does not read the
# models, which will have moved on.
ID_COLUMNS: dict[str, tuple[str, ...]] = {
    "callback_receipts": ("id",),
    "practices": ("id",),
    "audit_events": ("id", "practice_id", "patient_id"),
    "clinics": ("id", "practice_id"),
    "consent_current": ("practice_id",),
    "external_records": ("id", "practice_id", "local_id"),
    "idempotency_keys": ("id", "practice_id"),
    "link_keys": ("practice_id",),
    "message_templates": ("id", "practice_id"),
    "phone_lookups": ("id", "practice_id"),
    "staff_users": ("id", "practice_id"),
    "sync_cursors": ("practice_id",),
    "webhook_endpoints": ("id", "practice_id"),
    "write_back_items": ("id", "practice_id"),
    "campaigns": ("id", "practice_id", "template_id"),
    "patients": ("id", "practice_id", "clinic_id"),
    "reminder_rules": ("id", "practice_id", "template_id"),
    "sending_numbers": ("id", "practice_id", "clinic_id"),
    "staff_sessions": ("id", "user_id", "practice_id"),
    "system_connections": ("id", "practice_id", "clinic_id"),
    "webhook_deliveries": ("id", "practice_id", "endpoint_id"),
    "campaign_audience": ("campaign_id", "patient_id"),
    "campaign_recipients": ("id", "campaign_id", "patient_id"),
    "leads": ("id", "practice_id", "clinic_id", "patient_id"),
    "number_pacing": ("number_id",),
    "recall_requests": ("id", "practice_id", "patient_id"),
    "appointments": ("id", "practice_id", "clinic_id", "patient_id", "lead_id"),
    "consent_events": ("id", "practice_id", "patient_id", "lead_id", "evidence_message_id"),
    "conversations": ("id", "practice_id", "patient_id", "lead_id"),
    "lead_stage_changes": ("id", "practice_id", "lead_id"),
    "refused_sends": ("id", "practice_id", "clinic_id", "patient_id", "lead_id"),
    "messages": ("id", "practice_id", "clinic_id", "conversation_id", "patient_id", "lead_id",
                 "number_id", "campaign_id"),
    "commlogs": ("id", "practice_id", "patient_id", "message_id"),
    "confirmation_requests": ("id", "practice_id", "appointment_id", "patient_id", "message_id",
                              "answer_message_id"),
    "connector_errors": ("id", "practice_id", "message_id"),
    "media": ("id", "practice_id", "message_id"),
    "message_events": ("id", "message_id"),
    "reminder_sends": ("id", "practice_id", "appointment_id", "rule_id", "message_id"),
    "revocation_flags": ("id", "practice_id", "conversation_id", "message_id", "patient_id",
                         "lead_id"),
}


def _retype(sql_type: str) -> None:
    """One ALTER TABLE per table (one rewrite), then the table's own id counter, if it has one:
    a SERIAL's sequence is `AS integer` and would stop at 2^31-1 under a BIGINT column."""
    if op.get_context().dialect.name != "postgresql":
        return
    for table, names in ID_COLUMNS.items():
        changes = ", ".join(f'ALTER COLUMN "{name}" TYPE {sql_type}' for name in names)
        op.execute(f'ALTER TABLE "{table}" {changes}')
        if "id" in names:
            op.execute(f"""DO $$ DECLARE counter text := pg_get_serial_sequence('"{table}"', 'id');
                BEGIN IF counter IS NOT NULL THEN
                  EXECUTE format('ALTER SEQUENCE %s AS {sql_type}', counter);
                END IF; END $$""")


def upgrade() -> None:
    _retype("BIGINT")


def downgrade() -> None:
    # Refused by PostgreSQL ("integer out of range") while any id is past 2^31-1.
    _retype("INTEGER")
