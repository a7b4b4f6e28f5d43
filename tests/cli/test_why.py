"""`textdesk why` prints the can-text answer from the one rule engine."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from textdesk.cli import app
from textdesk.services.clock import Clock
from textdesk.services.demo import seed
from textdesk.storage.db import Database

pytestmark = pytest.mark.once


@pytest.fixture
def demo_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'why.db'}")
    db.create_schema()
    with db.transaction() as session:
        seed(session, Clock().now(), api_token="tok", staff_password="pw-for-tests")
    monkeypatch.setenv("TEXTDESK_DATABASE_URL", db.url)
    return db


def test_why_explains_an_opted_out_and_not_opted_in_patient(demo_db: Database) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["why", "4"])  # Dev Patel: no consent on record
    assert result.exit_code == 1, result.output
    assert "Cannot text this patient" in result.output
    assert "not_opted_in" in result.output and "Record the patient" in result.output


def test_why_for_a_patient_who_can_be_texted(demo_db: Database) -> None:
    result = CliRunner().invoke(app, ["why", "1"])
    assert "Can text this patient" in result.output
    # No connector is running in this test: the hold says so, but the patient can be texted.
    assert "connector_down" in result.output
    assert result.exit_code == 0


def test_why_for_an_unknown_patient(demo_db: Database) -> None:
    result = CliRunner().invoke(app, ["why", "999"])
    assert result.exit_code == 1 and "patient_not_found" in result.output
