"""Creating the schema, with the database-side guards PostgreSQL can enforce."""

from __future__ import annotations

import importlib

from sqlalchemy import Engine, text

from textdesk.storage.models import Base

# Modules that add tables to Base; importing them registers their tables.
TABLE_MODULES = ("textdesk.storage.models", "textdesk.storage.flags", "textdesk.storage.users",
                 "textdesk.storage.inbox", "textdesk.storage.leads",
                 "textdesk.storage.appointments", "textdesk.storage.attempts",
                 "textdesk.storage.automation", "textdesk.storage.pacing",
                 "textdesk.storage.campaigns")

_PG_APPEND_ONLY = """
CREATE OR REPLACE FUNCTION textdesk_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'consent history is append-only' USING ERRCODE = 'insufficient_privilege';
END $$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS consent_events_append_only ON consent_events;
CREATE TRIGGER consent_events_append_only BEFORE UPDATE OR DELETE ON consent_events
  FOR EACH ROW EXECUTE FUNCTION textdesk_append_only();
"""

_SQLITE_APPEND_ONLY = [
    """CREATE TRIGGER IF NOT EXISTS consent_events_no_update BEFORE UPDATE ON consent_events
       BEGIN SELECT RAISE(ABORT, 'consent history is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS consent_events_no_delete BEFORE DELETE ON consent_events
       BEGIN SELECT RAISE(ABORT, 'consent history is append-only'); END""",
]


def create_all(engine: Engine) -> None:
    for module in TABLE_MODULES:
        importlib.import_module(module)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # Several processes may start at once; one creates, the others wait and see it.
            conn.execute(text("SELECT pg_advisory_xact_lock(7242)"))
            Base.metadata.create_all(conn)
            conn.exec_driver_sql(_PG_APPEND_ONLY)
        else:
            Base.metadata.create_all(conn)
            for statement in _SQLITE_APPEND_ONLY:
                conn.exec_driver_sql(statement)
