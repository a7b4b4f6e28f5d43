"""Service-level fixtures: the demo practice in a real database, and the carrier simulator
behind a real Twilio client (from the carrier tests)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.carriers.conftest import (  # noqa: F401 - fixtures used by the tests here
    carrier,
    receiver,
    running_simulator,
    simulator,
)
from textdesk.kit.clock import FrozenClock
from textdesk.practice import demo
from textdesk.storage import directory as practice_store
from textdesk.storage.db import Database

AVA = "+14155550101"  # opted in
DEV = "+14155550104"  # no consent on record


@dataclass(frozen=True)
class World:
    db: Database
    practice_id: int
    clinic_id: int
    number: str


@pytest.fixture
def world(db: Database, clock: FrozenClock) -> World:
    with db.transaction() as session:
        seeded = demo.seed(session, clock.now(), api_token="t" * 32, staff_password="pw-12345678")
        assert seeded is not None
        clinic = practice_store.first_clinic(session, seeded.practice_id)
        assert clinic is not None
        return World(db, seeded.practice_id, clinic.id, demo.DEMO_NUMBER)
