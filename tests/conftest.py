"""Shared fixtures: a real database (SQLite file, or PostgreSQL when asked), the app, a clock.

TEXTDESK_TEST_DB=postgresql runs the database tests on PostgreSQL (TEXTDESK_TEST_POSTGRES_URL,
default postgresql://postgres@127.0.0.1:5432/test). With TEXTDESK_REQUIRE_POSTGRES=1 (CI) a
PostgreSQL that cannot be reached fails the run instead of skipping.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from textdesk.config import Settings
from textdesk.kit.clock import FrozenClock
from textdesk.storage import schema
from textdesk.storage.db import Database
from textdesk.storage.models import Base

POSTGRES_URL = os.environ.get("TEXTDESK_TEST_POSTGRES_URL",
                              "postgresql://postgres@127.0.0.1:5432/test")
ADMIN_TOKEN = "test-admin-token"


_own_database: list[str] = []


def postgres_or_skip() -> str:
    """A PostgreSQL database of this test run's own, or skip (fail under REQUIRE_POSTGRES=1).

    Each pytest process creates its own database next to the configured one, so that runs
    in parallel never truncate each other's tables; it is dropped when the run ends.
    """
    if _own_database:
        return _own_database[0]
    try:
        admin = Database(POSTGRES_URL)
        name = f"textdesk_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure to connect means "not here"
        if os.environ.get("TEXTDESK_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required but unreachable: {exc}")
        pytest.skip("PostgreSQL is not reachable")
    _own_database.append(POSTGRES_URL.rsplit("/", 1)[0] + "/" + name)
    atexit.register(_drop_own_database, name)
    return _own_database[0]


def _drop_own_database(name: str) -> None:
    admin = Database(POSTGRES_URL)
    try:
        with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


_migrated: set[str] = set()


def reset_postgres(db: Database) -> None:
    """Migrate this run's database once, then empty its tables for each test."""
    if db.url not in _migrated:
        schema.upgrade(db.url)
        _migrated.add(db.url)
    names = ", ".join(f'"{t.name}"' for t in reversed(Base.metadata.sorted_tables))
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


def fresh_database(tmp_path: Path, kind: str | None = None) -> Database:
    kind = kind or os.environ.get("TEXTDESK_TEST_DB", "sqlite")
    if kind == "postgresql":
        db = Database(postgres_or_skip())
        reset_postgres(db)
        return db
    path = tmp_path / "textdesk.db"
    shutil.copyfile(sqlite_template(), path)
    return Database(f"sqlite:///{path}")


_template: list[Path] = []


def sqlite_template() -> Path:
    """A SQLite file migrated to head once per run; each test starts from a copy of it.

    Copying takes ~3 ms where migrating takes ~75 ms (create_all took ~25 ms).
    """
    if not _template:
        folder = Path(tempfile.mkdtemp(prefix="textdesk-template-"))
        atexit.register(shutil.rmtree, folder, True)
        schema.upgrade(f"sqlite:///{folder / 'template.db'}")
        _template.append(folder / "template.db")
    return _template[0]


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = fresh_database(tmp_path)
    yield database
    database.dispose()


@pytest.fixture
def pg_db(tmp_path: Path) -> Iterator[Database]:
    """Always PostgreSQL: for what only PostgreSQL can do (several connectors, DB triggers)."""
    database = fresh_database(tmp_path, "postgresql")
    yield database
    database.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))  # a Monday, 10:00 in New York


@pytest.fixture
def settings(db: Database, tmp_path: Path) -> Settings:
    return Settings(database_url=db.url, admin_token=ADMIN_TOKEN,
                    public_url="http://testserver", media_dir=str(tmp_path / "media"))


@pytest.fixture
def client(settings: Settings, db: Database, clock: FrozenClock) -> Iterator[TestClient]:
    from textdesk.web.app import create_app

    with TestClient(create_app(settings, db, clock), raise_server_exceptions=False) as c:
        yield c
