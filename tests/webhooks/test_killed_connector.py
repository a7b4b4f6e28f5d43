"""A connector process killed in the middle of a delivery loses no event: once its lease runs
out the delivery is made again under the same webhook-id, and the receiver — which had taken
the first attempt before its answer was lost — acts on it once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import make_practice
from tests.webhooks.conftest import SECRET_KEY, subscribe
from tests.webhooks.receiver import Receiver
from textdesk.domain.webhooks import EventType
from textdesk.kit.clock import Clock
from textdesk.storage.db import Database
from textdesk.storage.models import WebhookDelivery
from textdesk.webhooks import outbox
from textdesk.webhooks.delivery import LEASE, Deliverer

pytestmark = pytest.mark.slow


def _statuses(db: Database) -> dict[str, str]:
    with db.transaction() as s:
        return {d.event_id: d.status for d in s.scalars(select(WebhookDelivery))}


def test_a_killed_connector_loses_no_event(client: TestClient, db: Database,
                                           receiver: Receiver, deliverer: Deliverer,
                                           tmp_path: Path) -> None:
    practice = make_practice(client)
    subscribe(client, practice, receiver, "/hook", "hang")  # the first request never answers
    with db.transaction() as session:
        emitted = [outbox.emit(session, practice.id, EventType.CONSENT_CHANGED, {"n": i},
                               Clock().now()) for i in range(3)]
    env = {**os.environ, "TEXTDESK_DATABASE_URL": db.url, "TEXTDESK_SECRET_KEY": SECRET_KEY,
           "TEXTDESK_PUBLIC_URL": "http://127.0.0.1:9",
           "TEXTDESK_WEBHOOK_TIMEOUT_SECONDS": "120"}  # it hangs until killed, never times out
    connector = subprocess.Popen([sys.executable, "-m", "textdesk.cli", "connector"], env=env,
                                 cwd=tmp_path, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
    try:
        assert receiver.hanging.wait(60), "the connector never attempted a delivery"
        deadline = time.monotonic() + 30
        while list(_statuses(db).values()).count("delivered") < 2:  # the two that answered
            assert time.monotonic() < deadline, _statuses(db)
            time.sleep(0.05)
    finally:
        connector.kill()  # mid-delivery: the hanging attempt's outcome is never written
        connector.wait(15)
    receiver.release()
    [lost] = [i for i, status in _statuses(db).items() if status == "pending"]
    assert receiver.arrivals[lost] == 1 and lost in receiver.processed  # it had taken it
    assert deliverer.run(db, Clock().now()) == 0  # the dead connector's lease still holds
    assert deliverer.run(db, Clock().now() + LEASE + LEASE / 60) == 1
    assert set(_statuses(db).values()) == {"delivered"}
    assert receiver.arrivals[lost] == 2  # made again, under the same webhook-id
    assert sorted(receiver.processed) == sorted(emitted)  # every event acted on once
    assert receiver.bad_signatures == 0
