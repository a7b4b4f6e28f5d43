"""Databases for migration tests: empty ones, release 0.1.0's, rows written in its columns."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, inspect, text

from tests.conftest import POSTGRES_URL, postgres_or_skip
from textdesk.storage.db import make_engine

FIXTURES = Path(__file__).parent / "fixtures"


def db_kind() -> str:
    return os.environ.get("TEXTDESK_TEST_DB", "sqlite")


@contextmanager
def empty_database(tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database of the kind under test, dropped afterwards."""
    if db_kind() != "postgresql":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    postgres_or_skip()
    name = f"textdesk_migration_{uuid.uuid4().hex[:10]}"
    admin = make_engine(POSTGRES_URL)
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def load_release_0_1_0(url: str) -> None:
    """Make the schema exactly as release 0.1.0's `create_all` did (its dump, kept as a file)."""
    engine = make_engine(url)
    script = (FIXTURES / f"release_0_1_0.{engine.dialect.name}.sql").read_text()
    raw = engine.raw_connection()
    try:
        if engine.dialect.name == "sqlite":
            raw.driver_connection.executescript(script)  # type: ignore[union-attr]
        else:
            with raw.cursor() as cursor:
                cursor.execute(script)
            raw.commit()
    finally:
        raw.close()
        engine.dispose()  # pg_dump's statements changed this connection's search_path


AT = "2026-03-02 15:00:00"
# Rows in release 0.1.0's columns, written with SQL so that later models cannot change them.
ROWS: list[tuple[str, dict[str, Any]]] = [
    ("practices", {"id": 1, "name": "Smile Dental", "api_token_hash": "h" * 64,
                   "sms_enabled": True, "default_country": "US",
                   "allowed_countries": '["US"]', "url_policy": "warn", "quiet_start": "08:00",
                   "quiet_end": "21:00", "timezone": "America/New_York", "settings": "{}",
                   "created_at": AT}),
    ("clinics", {"id": 1, "practice_id": 1, "name": "Main", "created_at": AT}),
    ("sending_numbers", {"id": 1, "practice_id": 1, "clinic_id": 1, "e164": "+15005550006",
                         "kind": "long_code", "status": "active",
                         "registration_status": "approved", "takes_replies": True,
                         "created_at": AT}),
    *[("patients", {"id": i, "practice_id": 1, "clinic_id": 1, "first_name": f"P{i}",
                    "last_name": "Doe", "phone_e164": f"+1415555010{i}", "created_at": AT})
      for i in range(1, 4)],
    *[("consent_events", {"id": i, "practice_id": 1, "phone_e164": "+14155550101",
                          "action": action, "scope": "all", "source": "staff", "at": AT})
      for i, action in enumerate(["opt_in", "opt_out", "opt_in"], start=1)],
    ("consent_current", {"practice_id": 1, "phone_e164": "+14155550101", "state": "opted_in",
                         "marketing": True, "last_change_at": AT}),
    ("conversations", {"id": 1, "practice_id": 1, "patient_id": 1,
                       "phone_e164": "+14155550101", "is_shared_phone": False,
                       "unread_count": 0, "needs_review": False, "is_blocked": False,
                       "last_message_at": AT, "last_preview": "See you Tuesday"}),
    ("messages", {"id": 1, "practice_id": 1, "clinic_id": 1, "conversation_id": 1,
                  "patient_id": 1, "number_id": 1, "direction": "outbound", "kind": "staff",
                  "status": "delivered", "body": "See you Tuesday", "to_e164": "+14155550101",
                  "from_e164": "+15005550006", "carrier": "twilio", "segments": 1,
                  "encoding": "GSM-7", "cost_usd": "0.0079", "attempts": 1,
                  "next_attempt_at": AT, "is_read": True, "created_at": AT,
                  "updated_at": AT}),
    ("message_events", {"id": 1, "message_id": 1, "status": "delivered", "source": "callback",
                        "applied": True, "at": AT}),
    ("commlogs", {"id": 1, "practice_id": 1, "patient_id": 1, "message_id": 1,
                  "direction": "outbound", "note": "See you Tuesday", "at": AT}),
    ("campaigns", {"id": 1, "practice_id": 1, "name": "Recall", "body": "Time for a checkup",
                   "audience": '{"kind": "all"}', "status": "done", "start_at": AT,
                   "recipients": 2, "queued": 1, "skipped": 1, "created_at": AT,
                   "updated_at": AT}),
    *[("campaign_recipients", {"id": i, "campaign_id": 1, "patient_id": i, "status": status})
      for i, status in ((1, "queued"), (2, "skipped"))],
]


def fill(engine: Engine) -> None:
    with engine.begin() as conn:
        for table, row in ROWS:
            columns = ", ".join(row)
            values = ", ".join(f":{c}" for c in row)
            conn.execute(text(f"INSERT INTO {table} ({columns}) VALUES ({values})"), row)
        if engine.dialect.name == "postgresql":
            for table in {t for t, row in ROWS if "id" in row}:
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))


def columns(engine: Engine) -> dict[str, list[str]]:
    """Each table's column names (the migration history's own table left out)."""
    inspector = inspect(engine)
    return {table: sorted(c["name"] for c in inspector.get_columns(table))
            for table in sorted(set(inspector.get_table_names()) - {"alembic_version"})}


def snapshot(engine: Engine, of: dict[str, list[str]]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables and columns in `of`, in primary-key order, as plain tuples."""
    rows = {}
    with engine.connect() as conn:
        inspector = inspect(conn)  # one connection: on SQLite each one takes the write lock
        for table, names in of.items():
            key = ", ".join(inspector.get_pk_constraint(table)["constrained_columns"])
            rows[table] = [tuple(r) for r in conn.execute(
                text(f"SELECT {', '.join(names)} FROM {table} ORDER BY {key}"))]
    return rows
