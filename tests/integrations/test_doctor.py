"""`textdesk doctor` shows the Open Dental sync line with the fix for its failure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.integrations.conftest import SECRET
from textdesk.cli import app
from textdesk.config import Settings
from textdesk.integrations import service, sync
from textdesk.kit.clock import Clock
from textdesk.practice.demo import seed
from textdesk.storage import directory as practice_store, schema
from textdesk.storage.db import Database

pytestmark = pytest.mark.once


def test_doctor_says_the_office_is_unreachable_and_what_to_do(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = Database(f"sqlite:///{tmp_path / 'doctor.db'}")
    schema.upgrade(db.url)
    settings = Settings(database_url=db.url, secret_key=SECRET)
    now = Clock().now()
    with db.transaction() as session:
        seed(session, now, api_token="tok", staff_password="pw-for-tests")
        [practice] = practice_store.list_practices(session)
        service.connect(session, practice, "opendental", {
            "base_url": "http://127.0.0.1:9/api/v1", "developer_key": "d",
            "customer_key": "c"}, settings, now)
        practice_id = practice.id
    sync.sync_practice(db, practice_id, "opendental", service.opener(settings), now)
    monkeypatch.setenv("TEXTDESK_DATABASE_URL", db.url)
    result = CliRunner().invoke(app, ["doctor", "--json"])
    report = json.loads(result.output)
    [line] = [c for c in report["checks"] if c["check"] == "practice_system"]
    assert line["status"] == "amber" and "not synced yet" in line["message"]
    assert "eConnector" in line["fix"]
