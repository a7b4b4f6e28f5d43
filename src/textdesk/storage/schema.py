"""The schema's version: migrate, print the SQL, adopt an older database, refuse a stale one."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, event, inspect, text
from sqlalchemy.pool import StaticPool

from textdesk.storage.db import is_sqlite, make_engine

# The revision a database made by `create_all` (before migrations) is equal to.
FIRST_REVISION = "0001"
VERSION_TABLE = "alembic_version"
_PG_MIGRATION_LOCK = 7242  # several processes may start at once; one migrates, the others wait


class SchemaNotCurrent(Exception):
    """The database is not at the code's revision; the message says what to run."""


def _config(url: str = "", output: io.StringIO | None = None) -> Config:
    config = Config(output_buffer=output)
    config.set_main_option("script_location", "textdesk.storage:migrations")
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revisions(conn: Connection) -> tuple[str, ...]:
    return tuple(MigrationContext.configure(conn).get_current_heads())


def _our_tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names()) - {VERSION_TABLE}


def check_current(engine: Engine) -> None:
    """Raise SchemaNotCurrent, with one sentence saying what to do, unless the schema is at head."""
    head = head_revision()
    with engine.connect() as conn:
        current = current_revisions(conn)
        has_tables = bool(_our_tables(conn))
    if current == (head,):
        return
    if not current:
        what = ("was made before migrations" if has_tables else "has no tables yet")
        raise SchemaNotCurrent(f"The database {what}: run `textdesk migrate`.")
    known = {script.revision for script in ScriptDirectory.from_config(_config()).walk_revisions()}
    if not set(current) <= known:
        raise SchemaNotCurrent(
            f"The database is at revision {', '.join(current)}, newer than this textdesk "
            f"(which knows up to {head}): run the textdesk that migrated it; "
            "`textdesk migrate` cannot go back.")
    raise SchemaNotCurrent(f"The database is at revision {', '.join(current)} and this "
                           f"textdesk needs {head}: run `textdesk migrate`.")


@contextmanager
def _migration_connection(url: str) -> Iterator[Connection]:
    """One transaction for the whole migration, holding the database's migration lock."""
    engine = make_engine(url)
    if is_sqlite(engine):
        # A batch migration copies and drops tables; with foreign keys on, dropping a parent
        # table would delete or refuse its children. They are checked once at the end instead.
        event.listen(engine, "connect", _foreign_keys_off)
    try:
        with engine.begin() as conn:
            if not is_sqlite(engine):
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                             {"key": _PG_MIGRATION_LOCK})
            yield conn
            if is_sqlite(engine):
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the migration broke {len(broken)} foreign keys")
    finally:
        engine.dispose()


def _foreign_keys_off(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA foreign_keys=OFF")


def upgrade(url: str, revision: str = "head") -> list[str]:
    """Bring the database to `revision`; adopt a database made before migrations.

    Returns what was done, one line each (empty when the database already was there).
    """
    done: list[str] = []
    with _migration_connection(url) as conn:
        if not current_revisions(conn) and _our_tables(conn):
            _refuse_unless_adoptable(conn)
            config = _config()
            config.attributes["connection"] = conn
            command.stamp(config, FIRST_REVISION)
            done.append(f"adopted a database made before migrations as {FIRST_REVISION}")
        before = current_revisions(conn)
        config = _config(url)
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        after = current_revisions(conn)
    if after != before:
        done.append(f"migrated from {', '.join(before) or 'nothing'} to {', '.join(after)}")
    return done


def _refuse_unless_adoptable(conn: Connection) -> None:
    """A `create_all` database is adopted only if it is exactly the first revision."""
    problems = _shape_differences(_shape_of_first_revision(), _shape(conn))
    if problems:
        raise SchemaNotCurrent("The database was made before migrations but does not match "
                               f"revision {FIRST_REVISION} ({'; '.join(problems[:5])}): "
                               "restore it from a backup of the last release, then run "
                               "`textdesk migrate`.")


Shape = dict[str, tuple[frozenset[str], frozenset[str]]]


def _shape(conn: Connection) -> Shape:
    """Each table's column names and index names."""
    inspector = inspect(conn)
    return {table: (frozenset(c["name"] for c in inspector.get_columns(table)),
                    frozenset(str(i["name"]) for i in inspector.get_indexes(table)))
            for table in _our_tables(conn)}


def _shape_of_first_revision() -> Shape:
    """The first revision built in a scratch in-memory database, then read back."""
    scratch = make_engine("sqlite://", poolclass=StaticPool)
    try:
        with scratch.begin() as conn:
            config = _config("sqlite://")
            config.attributes["connection"] = conn
            command.upgrade(config, FIRST_REVISION)
            return _shape(conn)
    finally:
        scratch.dispose()


def _shape_differences(expected: Shape, found: Shape) -> list[str]:
    problems = [f"no table {table}" for table in sorted(expected.keys() - found.keys())]
    for table in sorted(expected.keys() & found.keys()):
        (columns, indexes), (has_columns, has_indexes) = expected[table], found[table]
        problems += [f"no column {table}.{c}" for c in sorted(columns - has_columns)]
        problems += [f"unknown column {table}.{c}" for c in sorted(has_columns - columns)]
        problems += [f"no index {i}" for i in sorted(indexes - has_indexes)]
    return problems


def upgrade_sql(url: str) -> str:
    """The statements `upgrade` would run on this database, for a DBA to read or run."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            current = current_revisions(conn)
            adopt = not current and bool(_our_tables(conn))
            if adopt:
                _refuse_unless_adoptable(conn)
    finally:
        engine.dispose()
    output = io.StringIO()
    config = _config(url, output)
    if adopt:
        command.stamp(config, FIRST_REVISION, sql=True)
        current = (FIRST_REVISION,)
    command.upgrade(config, f"{current[0]}:head" if current else "head", sql=True)
    return output.getvalue()
