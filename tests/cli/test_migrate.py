"""`textdesk migrate`, and serve/connector refusing a database that is not the code's schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from tests.storage.support import fill, load_release_0_1_0, snapshot
from textdesk.cli import app
from textdesk.storage import schema
from textdesk.storage.db import make_engine

pytestmark = pytest.mark.once


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("TEXTDESK_DATABASE_URL", url)
    return url


@pytest.mark.parametrize("command", [["serve", "--port", "1"], ["connector"]])
def test_serve_and_connector_refuse_a_database_made_before_migrations(url: str,
                                                                      command: list[str]) -> None:
    load_release_0_1_0(url)
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 1
    assert "made before migrations: run `textdesk migrate`" in result.output
    assert "alembic_version" not in inspect(make_engine(url)).get_table_names()


@pytest.mark.parametrize("command", [["serve", "--port", "1"], ["connector"]])
def test_serve_and_connector_refuse_a_database_behind_the_code(url: str,
                                                               command: list[str]) -> None:
    schema.upgrade(url)
    engine = make_engine(url)
    assert schema.head_revision() != schema.FIRST_REVISION
    with engine.begin() as conn:  # behind what this code needs
        conn.execute(text("UPDATE alembic_version SET version_num = :r"),
                     {"r": schema.FIRST_REVISION})
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 1
    assert (f"at revision {schema.FIRST_REVISION} and this textdesk needs "
            f"{schema.head_revision()}: run `textdesk migrate`") in " ".join(result.output.split())


@pytest.mark.parametrize("command", [["serve", "--port", "1"], ["connector"], ["doctor"]])
def test_commands_refuse_an_empty_database(url: str, command: list[str]) -> None:
    make_engine(url).connect().close()  # an empty file
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 1
    assert "has no tables yet: run `textdesk migrate`" in result.output
    assert inspect(make_engine(url)).get_table_names() == []


def test_migrate_adopts_the_old_database_and_then_has_nothing_to_do(url: str) -> None:
    load_release_0_1_0(url)
    engine = make_engine(url)
    fill(engine)
    before = snapshot(engine, {"patients": ["id", "first_name"],
                               "consent_events": ["id", "action", "at"]})
    result = CliRunner().invoke(app, ["migrate"])
    assert result.exit_code == 0, result.output
    assert "adopted a database made before migrations" in result.output
    schema.check_current(engine)
    assert snapshot(engine, {"patients": ["id", "first_name"],
                             "consent_events": ["id", "action", "at"]}) == before
    again = CliRunner().invoke(app, ["migrate"])
    assert again.exit_code == 0 and "nothing to do" in again.output


def test_migrate_sql_prints_and_changes_nothing(url: str) -> None:
    result = CliRunner().invoke(app, ["migrate", "--sql"])
    assert result.exit_code == 0
    assert "CREATE TABLE practices" in result.output
    assert inspect(make_engine(url)).get_table_names() == []


@pytest.mark.parametrize("command", [["connector"], ["doctor"], ["why", "1"]])
def test_commands_name_a_missing_database_and_do_not_create_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]) -> None:
    missing = tmp_path / "nowhere.db"
    monkeypatch.setenv("TEXTDESK_DATABASE_URL", f"sqlite:///{missing}")
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 1
    assert str(missing) in "".join(result.output.split())
    assert not missing.exists()
