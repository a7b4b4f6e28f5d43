"""Fixtures of the webhook tests: settings with a secret key, a receiver, a deliverer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ADMIN_TOKEN
from tests.helpers import Practice
from tests.webhooks.receiver import Receiver
from textdesk.config import Settings
from textdesk.domain.webhooks import EventType
from textdesk.storage.db import Database
from textdesk.webhooks.delivery import Deliverer
from textdesk.webhooks.sender import Sender

SECRET_KEY = "webhook-tests-secret-key-0123456789"
ALL_EVENTS = [e.value for e in EventType]
TIMEOUT = 0.4  # the sender's timeout; the receiver's "slow" answers come after it


@pytest.fixture
def settings(db: Database) -> Settings:
    return Settings(database_url=db.url, admin_token=ADMIN_TOKEN,
                    public_url="http://testserver", secret_key=SECRET_KEY)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver(slow_seconds=TIMEOUT * 2.5)
    found.start()
    yield found
    found.stop()


@pytest.fixture
def deliverer() -> Iterator[Deliverer]:
    found = Deliverer(Sender(TIMEOUT), SECRET_KEY)
    yield found
    found.close()


def subscribe(client: TestClient, practice: Practice, receiver: Receiver, path: str,
              *plan: int | str, events: list[str] | None = None,
              include_bodies: bool = False) -> dict[str, Any]:
    r = client.post("/api/v1/webhook-endpoints", headers=practice.auth, json={
        "url": receiver.url(path), "events": events or ALL_EVENTS,
        "include_bodies": include_bodies})
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    receiver.expect(path, created["secret"], *plan)
    return created
