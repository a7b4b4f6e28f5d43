"""The schema of release 0.1.0: every table and index, and the append-only consent history.

A database made by that release's `create_all` is exactly this revision and is adopted as it.

Revision ID: 0001
Revises: (none)
Create Date: 2026-12-01 21:36:52.560950
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The paced queue's partial index, with the kinds paced in release 0.1.0 written out.
_PACED_QUEUE = "status = 'pending' AND kind IN ('campaign')"

_PG_APPEND_ONLY = """
CREATE OR REPLACE FUNCTION textdesk_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'consent history is append-only' USING ERRCODE = 'insufficient_privilege';
END $$ LANGUAGE plpgsql;
CREATE TRIGGER consent_events_append_only BEFORE UPDATE OR DELETE ON consent_events
  FOR EACH ROW EXECUTE FUNCTION textdesk_append_only();
"""

_SQLITE_APPEND_ONLY = [
    """CREATE TRIGGER consent_events_no_update BEFORE UPDATE ON consent_events
       BEGIN SELECT RAISE(ABORT, 'consent history is append-only'); END""",
    """CREATE TRIGGER consent_events_no_delete BEFORE DELETE ON consent_events
       BEGIN SELECT RAISE(ABORT, 'consent history is append-only'); END""",
]


def _create_append_only_triggers() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(_PG_APPEND_ONLY)
    else:
        for statement in _SQLITE_APPEND_ONLY:
            op.execute(statement)


def _drop_append_only_triggers() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER consent_events_append_only ON consent_events")
        op.execute("DROP FUNCTION textdesk_append_only()")
    else:
        op.execute("DROP TRIGGER consent_events_no_update")
        op.execute("DROP TRIGGER consent_events_no_delete")


def upgrade() -> None:
    op.create_table(
        "callback_receipts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("carrier", sa.String(length=20), nullable=False),
        sa.Column("carrier_sid", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("times_seen", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("carrier", "carrier_sid", "status"),
    )
    op.create_table(
        "connector_heartbeats",
        sa.Column("connector_id", sa.String(length=100), nullable=False),
        sa.Column("host", sa.String(length=200), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("last_heartbeat_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("connector_id"),
    )
    op.create_table(
        "practices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("api_token_hash", sa.String(length=64), nullable=False),
        sa.Column("sms_enabled", sa.Boolean(), nullable=False),
        sa.Column("default_country", sa.String(length=2), nullable=False),
        sa.Column("allowed_countries", sa.JSON(), nullable=False),
        sa.Column("url_policy", sa.String(length=10), nullable=False),
        sa.Column("quiet_start", sa.String(length=5), nullable=False),
        sa.Column("quiet_end", sa.String(length=5), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("office_phone", sa.String(length=20), nullable=True),
        sa.Column("link_domain", sa.String(length=200), nullable=True),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("api_token_hash"),
    )
    op.create_table(
        "signin_throttles",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(), nullable=True),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "clinics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("monthly_limit_usd", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practices.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("clinics", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_clinics_practice_id"), ["practice_id"], unique=False)

    op.create_table(
        "consent_current",
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("phone_e164", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("marketing", sa.Boolean(), nullable=False),
        sa.Column("last_source", sa.String(length=30), nullable=True),
        sa.Column("last_change_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practices.id"],
        ),
        sa.PrimaryKeyConstraint("practice_id", "phone_e164"),
    )
    op.create_table(
        "link_keys",
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("secret", sa.LargeBinary(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practices.id"],
        ),
        sa.PrimaryKeyConstraint("practice_id"),
    )
    op.create_table(
        "message_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practices.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("practice_id", "name"),
    )
    op.create_table(
        "staff_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("is_manager", sa.Boolean(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("last_sign_in_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practices.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_staff_users_practice_id"), ["practice_id"], unique=False
        )

    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("start_at", sa.DateTime(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("queued", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practices.id"],
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["message_templates.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_campaigns_practice_id"), ["practice_id"], unique=False)

    op.create_table(
        "patients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column("phone_raw", sa.String(length=40), nullable=True),
        sa.Column("phone_e164", sa.String(length=20), nullable=True),
        sa.Column("phone_finding", sa.String(length=20), nullable=True),
        sa.Column("phone_check", sa.String(length=30), nullable=True),
        sa.Column("phone_region", sa.String(length=2), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.id"],
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practices.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_patients_practice_id"), ["practice_id"], unique=False)
        batch_op.create_index(
            "ix_patients_practice_phone", ["practice_id", "phone_e164"], unique=False
        )

    op.create_table(
        "reminder_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("lead_minutes", sa.Integer(), nullable=False),
        sa.Column("send_time", sa.String(length=5), nullable=True),
        sa.Column("excluded_weekdays", sa.JSON(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practices.id"],
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["message_templates.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("reminder_rules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reminder_rules_practice_id"), ["practice_id"], unique=False
        )

    op.create_table(
        "sending_numbers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("e164", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("registration_status", sa.String(length=20), nullable=False),
        sa.Column("takes_replies", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.id"],
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practices.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("e164"),
    )
    with op.batch_alter_table("sending_numbers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sending_numbers_clinic_id"), ["clinic_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sending_numbers_practice_id"), ["practice_id"], unique=False
        )

    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practices.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["staff_users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("staff_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_sessions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "campaign_audience",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
        ),
        sa.PrimaryKeyConstraint("campaign_id", "patient_id"),
    )
    op.create_table(
        "campaign_recipients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("skip_reason", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("campaign_id", "patient_id"),
    )
    with op.batch_alter_table("campaign_recipients", schema=None) as batch_op:
        batch_op.create_index(
            "ix_campaign_recipients_reason", ["campaign_id", "skip_reason"], unique=False
        )

    op.create_table(
        "consent_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("phone_e164", sa.String(length=20), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("source", sa.String(length=30), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("evidence_message_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practices.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("consent_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_consent_practice_phone", ["practice_id", "phone_e164", "id"], unique=False
        )

    op.create_table(
        "conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("phone_e164", sa.String(length=20), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("is_shared_phone", sa.Boolean(), nullable=False),
        sa.Column("unread_count", sa.Integer(), nullable=False),
        sa.Column("needs_review", sa.Boolean(), nullable=False),
        sa.Column("is_blocked", sa.Boolean(), nullable=False),
        sa.Column("last_message_at", sa.DateTime(), nullable=False),
        sa.Column("last_preview", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practices.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("practice_id", "phone_e164"),
    )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_conversations_inbox", ["practice_id", "last_message_at"], unique=False
        )
        batch_op.create_index(
            "ix_conversations_practice_unread", ["practice_id", "unread_count"], unique=False
        )

    op.create_table(
        "leads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column("phone_raw", sa.String(length=40), nullable=False),
        sa.Column("phone_e164", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("inquiry_count", sa.Integer(), nullable=False),
        sa.Column("last_activity_at", sa.DateTime(), nullable=False),
        sa.Column("last_redirect_at", sa.DateTime(), nullable=True),
        sa.Column("stage_changed_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.id"],
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practices.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.create_index(
            "ix_leads_practice_phone", ["practice_id", "phone_e164"], unique=False
        )
        batch_op.create_index(
            "ix_leads_practice_stage", ["practice_id", "stage", "last_activity_at"], unique=False
        )
        batch_op.create_index(
            "uq_leads_open_phone",
            ["practice_id", "phone_e164"],
            unique=True,
            postgresql_where=sa.text("stage IN ('contacted', 'engaged', 'new', 'scheduled')"),
            sqlite_where=sa.text("stage IN ('contacted', 'engaged', 'new', 'scheduled')"),
        )

    op.create_table(
        "number_pacing",
        sa.Column("number_id", sa.Integer(), nullable=False),
        sa.Column("next_at", sa.DateTime(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("day_segments", sa.Integer(), nullable=False),
        sa.Column("segments_per_second", sa.Float(), nullable=True),
        sa.Column("daily_cap", sa.Integer(), nullable=True),
        sa.Column("burst_segments", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["number_id"],
            ["sending_numbers.id"],
        ),
        sa.PrimaryKeyConstraint("number_id"),
    )
    op.create_table(
        "recall_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("preferred_day", sa.Date(), nullable=False),
        sa.Column("part_of_day", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("handled_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practices.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("recall_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recall_requests_practice_id"), ["practice_id"], unique=False
        )

    op.create_table(
        "refused_sends",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=True),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("codes", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.id"],
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practices.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("refused_sends", schema=None) as batch_op:
        batch_op.create_index("ix_refused_sends_practice_at", ["practice_id", "at"], unique=False)

    op.create_table(
        "appointments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("start_at", sa.DateTime(), nullable=False),
        sa.Column("provider", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.id"],
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["leads.id"],
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practices.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_appointments_lead_id"), ["lead_id"], unique=False)
        batch_op.create_index(
            "ix_appointments_patient", ["practice_id", "patient_id"], unique=False
        )
        batch_op.create_index(
            "ix_appointments_practice_start", ["practice_id", "start_at"], unique=False
        )
        batch_op.create_index(
            "uq_appointments_external", ["practice_id", "external_id"], unique=True
        )

    op.create_table(
        "lead_stage_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("from_stage", sa.String(length=20), nullable=True),
        sa.Column("to_stage", sa.String(length=20), nullable=False),
        sa.Column("changed_by", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["leads.id"],
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practices.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("lead_stage_changes", schema=None) as batch_op:
        batch_op.create_index("ix_lead_stage_changes_lead", ["lead_id", "id"], unique=False)

    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=True),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("number_id", sa.Integer(), nullable=True),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("to_e164", sa.String(length=20), nullable=False),
        sa.Column("from_e164", sa.String(length=20), nullable=False),
        sa.Column("carrier", sa.String(length=20), nullable=False),
        sa.Column("carrier_sid", sa.String(length=64), nullable=True),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.Column("encoding", sa.String(length=10), nullable=False),
        sa.Column("cost_usd", sa.Numeric(precision=12, scale=4), nullable=False),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("failure_cause", sa.String(length=40), nullable=True),
        sa.Column("cancel_reason", sa.String(length=40), nullable=True),
        sa.Column("wait_reason", sa.String(length=40), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("is_read", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.id"],
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["number_id"],
            ["sending_numbers.id"],
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practices.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("carrier", "carrier_sid"),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_messages_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_index("ix_messages_clinic_sent", ["clinic_id", "sent_at"], unique=False)
        batch_op.create_index("ix_messages_conversation", ["conversation_id", "id"], unique=False)
        batch_op.create_index("ix_messages_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_messages_lead_id"), ["lead_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_messages_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_messages_practice_id"), ["practice_id"], unique=False)
        batch_op.create_index(
            "ix_messages_practice_to", ["practice_id", "to_e164", "status"], unique=False
        )
        batch_op.create_index(
            "ix_messages_paced_queue",
            ["next_attempt_at", "number_id"],
            unique=False,
            sqlite_where=sa.text(_PACED_QUEUE),
            postgresql_where=sa.text(_PACED_QUEUE),
        )

    op.create_table(
        "commlogs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practices.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("commlogs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_commlogs_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "confirmation_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("phone_e164", sa.String(length=20), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.Column("answered_via", sa.String(length=20), nullable=True),
        sa.Column("answer_message_id", sa.Integer(), nullable=True),
        sa.Column("answered_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practices.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("confirmation_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_confirmation_requests_appointment_id"), ["appointment_id"], unique=False
        )
        batch_op.create_index(
            "ix_confirmations_phone", ["practice_id", "phone_e164", "status"], unique=False
        )

    op.create_table(
        "connector_errors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practices.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("connector_errors", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_connector_errors_practice_id"), ["practice_id"], unique=False
        )

    op.create_table(
        "message_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("carrier_sid", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("applied", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("message_events", schema=None) as batch_op:
        batch_op.create_index("ix_message_events_message", ["message_id", "id"], unique=False)
        batch_op.create_index("ix_message_events_sid", ["carrier_sid"], unique=False)

    op.create_table(
        "reminder_sends",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("skip_reason", sa.String(length=40), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("appointment_start", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practices.id"],
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["reminder_rules.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("appointment_id", "rule_id"),
    )
    with op.batch_alter_table("reminder_sends", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reminder_sends_practice_id"), ["practice_id"], unique=False
        )

    op.create_table(
        "revocation_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("phone_e164", sa.String(length=20), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practices.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
    )
    with op.batch_alter_table("revocation_flags", schema=None) as batch_op:
        batch_op.create_index(
            "ix_revocation_flags_open", ["practice_id", "status", "due_at"], unique=False
        )
    _create_append_only_triggers()


def downgrade() -> None:
    _drop_append_only_triggers()
    with op.batch_alter_table("revocation_flags", schema=None) as batch_op:
        batch_op.drop_index("ix_revocation_flags_open")

    op.drop_table("revocation_flags")
    with op.batch_alter_table("reminder_sends", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reminder_sends_practice_id"))

    op.drop_table("reminder_sends")
    with op.batch_alter_table("message_events", schema=None) as batch_op:
        batch_op.drop_index("ix_message_events_sid")
        batch_op.drop_index("ix_message_events_message")

    op.drop_table("message_events")
    with op.batch_alter_table("connector_errors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_connector_errors_practice_id"))

    op.drop_table("connector_errors")
    with op.batch_alter_table("confirmation_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_confirmations_phone")
        batch_op.drop_index(batch_op.f("ix_confirmation_requests_appointment_id"))

    op.drop_table("confirmation_requests")
    with op.batch_alter_table("commlogs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commlogs_patient_id"))

    op.drop_table("commlogs")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_paced_queue")
        batch_op.drop_index("ix_messages_practice_to")
        batch_op.drop_index(batch_op.f("ix_messages_practice_id"))
        batch_op.drop_index(batch_op.f("ix_messages_patient_id"))
        batch_op.drop_index(batch_op.f("ix_messages_lead_id"))
        batch_op.drop_index("ix_messages_due")
        batch_op.drop_index("ix_messages_conversation")
        batch_op.drop_index("ix_messages_clinic_sent")
        batch_op.drop_index(batch_op.f("ix_messages_campaign_id"))

    op.drop_table("messages")
    with op.batch_alter_table("lead_stage_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_lead_stage_changes_lead")

    op.drop_table("lead_stage_changes")
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index("uq_appointments_external")
        batch_op.drop_index("ix_appointments_practice_start")
        batch_op.drop_index("ix_appointments_patient")
        batch_op.drop_index(batch_op.f("ix_appointments_lead_id"))

    op.drop_table("appointments")
    with op.batch_alter_table("refused_sends", schema=None) as batch_op:
        batch_op.drop_index("ix_refused_sends_practice_at")

    op.drop_table("refused_sends")
    with op.batch_alter_table("recall_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recall_requests_practice_id"))

    op.drop_table("recall_requests")
    op.drop_table("number_pacing")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_leads_open_phone",
            postgresql_where=sa.text("stage IN ('contacted', 'engaged', 'new', 'scheduled')"),
            sqlite_where=sa.text("stage IN ('contacted', 'engaged', 'new', 'scheduled')"),
        )
        batch_op.drop_index("ix_leads_practice_stage")
        batch_op.drop_index("ix_leads_practice_phone")

    op.drop_table("leads")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_conversations_practice_unread")
        batch_op.drop_index("ix_conversations_inbox")

    op.drop_table("conversations")
    with op.batch_alter_table("consent_events", schema=None) as batch_op:
        batch_op.drop_index("ix_consent_practice_phone")

    op.drop_table("consent_events")
    with op.batch_alter_table("campaign_recipients", schema=None) as batch_op:
        batch_op.drop_index("ix_campaign_recipients_reason")

    op.drop_table("campaign_recipients")
    op.drop_table("campaign_audience")
    with op.batch_alter_table("staff_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_sessions_user_id"))

    op.drop_table("staff_sessions")
    with op.batch_alter_table("sending_numbers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sending_numbers_practice_id"))
        batch_op.drop_index(batch_op.f("ix_sending_numbers_clinic_id"))

    op.drop_table("sending_numbers")
    with op.batch_alter_table("reminder_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reminder_rules_practice_id"))

    op.drop_table("reminder_rules")
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_index("ix_patients_practice_phone")
        batch_op.drop_index(batch_op.f("ix_patients_practice_id"))

    op.drop_table("patients")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaigns_practice_id"))

    op.drop_table("campaigns")
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_users_practice_id"))

    op.drop_table("staff_users")
    op.drop_table("message_templates")
    op.drop_table("link_keys")
    op.drop_table("consent_current")
    with op.batch_alter_table("clinics", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clinics_practice_id"))

    op.drop_table("clinics")
    op.drop_table("signin_throttles")
    op.drop_table("practices")
    op.drop_table("connector_heartbeats")
    op.drop_table("callback_receipts")
