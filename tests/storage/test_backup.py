"""`textdesk backup` while texts are written, and `textdesk restore` after checking the copy."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.helpers import make_patient, make_practice
from textdesk.cli import app
from textdesk.storage import backup as backups
from textdesk.storage.db import Database

pytestmark = pytest.mark.once  # SQLite's backup API; PostgreSQL has pg_dump

TEXTS = 1000


def _texts(path: Path) -> dict[int, str]:
    with sqlite3.connect(path) as conn:
        return dict(conn.execute("SELECT id, body FROM messages"))


def test_a_backup_taken_while_texts_are_written_holds_every_committed_one(
        tmp_path: Path, client: TestClient, db: Database,
        monkeypatch: pytest.MonkeyPatch) -> None:
    if not db.is_sqlite:
        pytest.skip("SQLite only")
    practice = make_practice(client)
    patient = make_patient(client, practice)
    monkeypatch.setenv("TEXTDESK_DATABASE_URL", db.url)
    committed: list[int] = []

    def write() -> None:
        for i in range(TEXTS):
            r = client.post("/api/v1/messages", json={"patient_id": patient["id"],
                                                      "body": f"Text number {i}"},
                            headers=practice.auth)
            assert r.status_code == 201
            committed.append(r.json()["id"])  # committed before the answer left

    writer = threading.Thread(target=write)
    writer.start()
    while len(committed) < TEXTS // 3:
        time.sleep(0.01)
    before = set(committed)
    copy = tmp_path / "backup.db"
    result = CliRunner().invoke(app, ["backup", str(copy)])
    writer.join(120)
    assert result.exit_code == 0, result.output
    assert len(committed) == TEXTS and len(before) < TEXTS
    assert backups.integrity_problems(copy) == []
    saved = _texts(copy)
    assert before <= saved.keys()
    assert len(saved) < TEXTS  # taken mid-stream, not after
    live = _texts(Path(db.url.removeprefix("sqlite:///")))
    assert all(live[i] == body for i, body in saved.items())

    db.dispose()
    restored = CliRunner().invoke(app, ["restore", str(copy)])
    assert restored.exit_code == 0, restored.output
    with sqlite3.connect(db.url.removeprefix("sqlite:///")) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert _texts(Path(db.url.removeprefix("sqlite:///"))) == saved


def test_restore_refuses_a_damaged_file_and_changes_nothing(
        tmp_path: Path, db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    if not db.is_sqlite:
        pytest.skip("SQLite only")
    monkeypatch.setenv("TEXTDESK_DATABASE_URL", db.url)
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(b"SQLite format 3\x00" + b"\x07" * 5000)
    live = Path(db.url.removeprefix("sqlite:///"))
    size = live.stat().st_size
    result = CliRunner().invoke(app, ["restore", str(damaged)])
    assert result.exit_code == 1 and "nothing was changed" in " ".join(result.output.split())
    assert live.stat().st_size == size


def test_backup_is_refused_on_postgresql(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TEXTDESK_DATABASE_URL", "postgresql://postgres@127.0.0.1/test")
    result = CliRunner().invoke(app, ["backup", str(tmp_path / "x.db")])
    assert result.exit_code == 1 and "pg_dump" in result.output
