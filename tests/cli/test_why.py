"""`textdesk why` prints the can-text answer from the one rule engine."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from textdesk.cli import app
from textdesk.kit.clock import Clock
from textdesk.practice.demo import seed
from textdesk.storage import directory as practice_store, schema
from textdesk.storage.db import Database
from textdesk.storage.models import Practice

pytestmark = pytest.mark.once


@pytest.fixture
def demo_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'why.db'}")
    schema.upgrade(db.url)
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


@pytest.fixture
def two_practices(demo_db: Database) -> Database:
    with demo_db.transaction() as session:
        now = Clock().now()
        other = Practice(name="Other Dental", api_token_hash="0" * 64, created_at=now)
        session.add(other)
    return demo_db


def test_why_finds_the_practice_from_the_patient_when_there_are_several(
        two_practices: Database) -> None:
    result = CliRunner().invoke(app, ["why", "4"])
    assert "--practice-id" not in result.output
    assert result.exit_code == 1 and "not_opted_in" in result.output


def test_why_with_another_practice_id_finds_no_such_patient(two_practices: Database) -> None:
    with two_practices.transaction() as session:
        other = practice_store.list_practices(session)[-1].id
    result = CliRunner().invoke(app, ["why", "4", "--practice-id", str(other)])
    assert result.exit_code == 1 and "patient_not_found" in result.output
