"""Migrations: equal to the models, keep every row, adopt release 0.1.0's databases."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from tests.storage.support import columns, empty_database, fill, load_release_0_1_0, snapshot
from textdesk.storage import schema
from textdesk.storage.db import Database, make_engine
from textdesk.storage.models import Base


def test_the_models_and_the_migrations_agree(db: Database) -> None:
    """A model changed without a revision (or the reverse) fails here: write the revision."""
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    schema.check_current(db.engine)


def test_upgrading_from_the_first_revision_keeps_every_row(tmp_path: Path) -> None:
    with empty_database(tmp_path) as url:
        assert schema.upgrade(url, schema.FIRST_REVISION) == [
            f"migrated from nothing to {schema.FIRST_REVISION}"]
        engine = make_engine(url)
        fill(engine)
        at_first = columns(engine)
        before = snapshot(engine, at_first)
        schema.upgrade(url)
        schema.check_current(engine)
        assert snapshot(engine, at_first) == before
        assert len(before["consent_events"]) == 3 and len(before["campaign_recipients"]) == 2
        _consent_history_refuses_changes(engine)
        engine.dispose()


def test_a_release_0_1_0_database_is_adopted_with_its_rows(tmp_path: Path) -> None:
    with empty_database(tmp_path) as url:
        load_release_0_1_0(url)
        engine = make_engine(url)
        fill(engine)
        released = columns(engine)
        before = snapshot(engine, released)
        with pytest.raises(schema.SchemaNotCurrent, match="run `textdesk migrate`"):
            schema.check_current(engine)
        done = schema.upgrade(url)
        assert done[0].startswith("adopted a database made before migrations")
        schema.check_current(engine)
        assert snapshot(engine, released) == before  # every row, in the release's columns
        _consent_history_refuses_changes(engine)
        assert schema.upgrade(url) == []  # a second run has nothing to do
        engine.dispose()


def test_a_database_that_does_not_match_the_release_is_not_adopted(tmp_path: Path) -> None:
    with empty_database(tmp_path) as url:
        load_release_0_1_0(url)
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP INDEX ix_messages_due"))
            conn.execute(text("ALTER TABLE commlogs DROP COLUMN note"))
        with pytest.raises(schema.SchemaNotCurrent) as refused:
            schema.upgrade(url)
        assert "no column commlogs.note" in str(refused.value)
        assert "no index ix_messages_due" in str(refused.value)
        assert "alembic_version" not in inspect(engine).get_table_names()  # nothing changed
        engine.dispose()


def test_migrate_sql_prints_the_statements_for_a_dba(tmp_path: Path) -> None:
    with empty_database(tmp_path) as url:
        script = schema.upgrade_sql(url)
        assert "CREATE TABLE consent_events" in script
        assert "CREATE TRIGGER consent_events" in script
        assert "INSERT INTO alembic_version" in script
        assert f"version_num='{schema.head_revision()}'" in script.replace(" = ", "=")
        assert inspect(make_engine(url)).get_table_names() == []  # printed, not run
        load_release_0_1_0(url)
        adopting = schema.upgrade_sql(url)
        assert "CREATE TABLE consent_events" not in adopting
        assert f"VALUES ('{schema.FIRST_REVISION}')" in adopting


def test_a_database_ahead_of_the_code_is_refused(db: Database) -> None:
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'ffff'"))
    try:
        with pytest.raises(schema.SchemaNotCurrent, match="newer than this textdesk"):
            schema.check_current(db.engine)
    finally:  # on PostgreSQL the run's database is shared by the tests that follow
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :head"),
                         {"head": schema.head_revision()})


def _consent_history_refuses_changes(engine: Engine) -> None:
    for statement in ("UPDATE consent_events SET action = 'opt_out'",
                      "DELETE FROM consent_events"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))


def test_every_lead_id_column_names_a_lead(db: Database) -> None:
    """Where a row points at a lead, the database knows it (both dialects, after migrating)."""
    inspector = inspect(db.engine)
    missing = [table for table in inspector.get_table_names()
               if "lead_id" in {c["name"] for c in inspector.get_columns(table)}
               and not any(fk["referred_table"] == "leads" and fk["constrained_columns"] ==
                           ["lead_id"] for fk in inspector.get_foreign_keys(table))]
    assert missing == []


def test_ids_are_64_bit_and_go_back_to_32_bit_on_downgrade(tmp_path: Path) -> None:
    """Revision 0100: BIGINT columns and counters on PostgreSQL; SQLite's INTEGER already is."""
    with empty_database(tmp_path) as url:
        schema.upgrade(url, "0060")
        engine = make_engine(url)
        fill(engine)
        at_0060 = columns(engine)
        before = snapshot(engine, at_0060)
        schema.upgrade(url)
        assert _id_types(engine) == ({"BIGINT"} if _on_postgres(engine) else {"INTEGER"})
        assert _narrow_counters(engine) == []
        _downgrade(url, "0060")
        assert _id_types(engine) == {"INTEGER"}
        schema.upgrade(url)
        assert snapshot(engine, at_0060) == before
        _consent_history_refuses_changes(engine)  # the triggers outlive both ways
        engine.dispose()


def _on_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def _id_types(engine: Engine) -> set[str]:
    inspector = inspect(engine)
    wanted = {"patients": {"id", "practice_id", "clinic_id"},
              "messages": {"id", "patient_id", "campaign_id"},
              "audit_events": {"patient_id"}, "campaign_audience": {"patient_id"}}
    return {str(column["type"]) for table, names in wanted.items()
            for column in inspector.get_columns(table) if column["name"] in names}


def _narrow_counters(engine: Engine) -> list[str]:
    if not _on_postgres(engine):
        return []
    with engine.connect() as conn:
        return list(conn.execute(text(
            "SELECT sequencename FROM pg_sequences WHERE data_type <> 'bigint'::regtype"
        )).scalars())


def _downgrade(url: str, revision: str) -> None:
    config = schema._config(url)
    with schema._migration_connection(url) as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def test_each_clinics_month_is_filled_from_the_texts_already_sent(tmp_path: Path) -> None:
    """Revision 0110: the kept spend starts as the sum the limit used to read; going back
    drops it and brings the sum's index back."""
    with empty_database(tmp_path) as url:
        schema.upgrade(url, "0100")
        engine = make_engine(url)
        fill(engine)  # one delivered text without a send time: it counts nowhere
        sent = [(2, "outbound", "0.0079", "2026-11-30 23:59:59.5"),
                (3, "outbound", "0.0158", "2026-11-02 08:00:00"),
                (4, "outbound", "0.0200", "2026-12-01 00:00:00"),
                (5, "inbound", "0.0079", "2026-12-01 10:00:00"),  # received: not spent
                (6, "outbound", "0.0079", None)]  # still waiting
        with engine.begin() as conn:
            for message_id, direction, cost, at in sent:
                conn.execute(text(
                    "INSERT INTO messages (id, practice_id, clinic_id, conversation_id, "
                    "direction, kind, status, body, to_e164, from_e164, carrier, segments, "
                    "encoding, cost_usd, attempts, next_attempt_at, is_read, created_at, "
                    "updated_at, sent_at, num_media) VALUES (:id, 1, 1, 1, :direction, 'manual', "
                    "'sent', 'x', '+14155550101', '+15005550006', 'twilio', 1, 'GSM-7', :cost, "
                    "1, '2026-11-01 00:00:00', true, '2026-11-01 00:00:00', "
                    "'2026-11-01 00:00:00', :at, 0)"),
                    {"id": message_id, "direction": direction, "cost": cost,
                     "at": datetime.fromisoformat(at) if at else None})
        schema.upgrade(url)
        with engine.connect() as conn:
            kept = {(row[0], row[1]): Decimal(str(row[2])).quantize(Decimal("0.0001"))
                    for row in conn.execute(text(
                "SELECT clinic_id, month, cost_usd FROM clinic_spend"))}
        assert kept == {(1, "2026-11"): Decimal("0.0237"), (1, "2026-12"): Decimal("0.0200")}
        assert "ix_messages_clinic_sent" not in {
            i["name"] for i in inspect(engine).get_indexes("messages")}
        _downgrade(url, "0100")
        assert "clinic_spend" not in inspect(engine).get_table_names()
        assert "ix_messages_clinic_sent" in {
            i["name"] for i in inspect(engine).get_indexes("messages")}
        engine.dispose()
