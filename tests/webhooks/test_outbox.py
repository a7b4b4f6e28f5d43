"""The outbox: an event exists exactly when the change that caused it commits, one delivery per
subscribed endpoint; a practice with no subscriber pays no more than a look."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.helpers import make_patient, make_practice
from tests.webhooks.conftest import subscribe
from tests.webhooks.receiver import Receiver
from textdesk.consent import service as consent_service
from textdesk.domain.consent import ConsentAction, ConsentScope, ConsentSource
from textdesk.domain.webhooks import EventType
from textdesk.kit.clock import FrozenClock
from textdesk.storage.db import Database
from textdesk.storage.models import WebhookDelivery
from textdesk.webhooks import outbox


def _deliveries(db: Database) -> list[WebhookDelivery]:
    with db.transaction() as s:
        return list(s.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def test_a_change_that_rolls_back_leaves_no_event(client: TestClient, db: Database,
                                                  clock: FrozenClock,
                                                  receiver: Receiver) -> None:
    practice = make_practice(client)
    subscribe(client, practice, receiver, "/hook")
    with pytest.raises(RuntimeError), db.transaction() as session:
        consent_service.record(session, practice.id, "+14155550123", ConsentAction.OPT_OUT,
                               ConsentScope.ALL, ConsentSource.VERBAL, now=clock.now())
        assert session.scalar(select(func.count()).select_from(WebhookDelivery)) == 1
        raise RuntimeError("the request failed after the change")
    assert _deliveries(db) == []
    with db.transaction() as session:
        consent_service.record(session, practice.id, "+14155550123", ConsentAction.OPT_OUT,
                               ConsentScope.ALL, ConsentSource.VERBAL, now=clock.now())
    [queued] = _deliveries(db)
    assert (queued.event_type, queued.status, queued.attempts) == ("consent.changed",
                                                                   "pending", 0)


def test_one_delivery_per_subscribed_enabled_endpoint(client: TestClient, db: Database,
                                                      clock: FrozenClock,
                                                      receiver: Receiver) -> None:
    practice = make_practice(client)
    other = make_practice(client, name="Other", number="+15005550007")
    a = subscribe(client, practice, receiver, "/a", events=["consent.changed"])
    subscribe(client, practice, receiver, "/b", events=["message.received"])
    c = subscribe(client, practice, receiver, "/c")
    subscribe(client, other, receiver, "/other")
    patient = make_patient(client, practice, opted_in=True)  # one consent event, via the API
    found = _deliveries(db)
    assert sorted(d.endpoint_id for d in found) == sorted([a["id"], c["id"]])
    assert len({d.event_id for d in found}) == 1
    assert all(f'"patient_ids":[{patient["id"]}]' in d.payload for d in found)
    assert all(d.practice_id == practice.id for d in found)


def test_no_subscriber_no_work(client: TestClient, db: Database, clock: FrozenClock) -> None:
    practice = make_practice(client)
    called = []

    def data() -> dict[str, object]:
        called.append(1)
        return {}

    with db.transaction() as session:
        assert outbox.emit(session, practice.id, EventType.CONSENT_CHANGED, data,
                           clock.now()) is None
    assert called == [] and _deliveries(db) == []
