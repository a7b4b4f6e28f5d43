"""Delivery by the connector: signed POSTs to a real receiver, retries with backoff through
5xx and timeouts, a lease that outlives a lost attempt, giving up, turning an endpoint off and
on again, and a replay. The receiver verifies every signature with the specification's code."""

from __future__ import annotations

import random
import threading
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.helpers import Practice, make_practice
from tests.pages.helpers import add_staff, sign_in
from tests.webhooks.conftest import SECRET_KEY, TIMEOUT, subscribe
from tests.webhooks.receiver import Receiver
from textdesk.domain.webhooks import MAX_ATTEMPTS, RETRY_DELAYS, EventType
from textdesk.kit.clock import FrozenClock
from textdesk.storage.db import Database
from textdesk.storage.models import WebhookDelivery
from textdesk.webhooks import outbox
from textdesk.webhooks.delivery import LEASE, Deliverer
from textdesk.webhooks.sender import Sender

PATH = "/api/v1/webhook-endpoints"


def emit(db: Database, practice: Practice, clock: FrozenClock, n: int = 1,
         event: EventType = EventType.CONSENT_CHANGED) -> list[str]:
    ids = []
    with db.transaction() as session:
        for i in range(n):
            found = outbox.emit(session, practice.id, event, {"n": i, "state": "opted_in"},
                                clock.now(), private={"phone": "+14155550123"})
            assert found is not None
            ids.append(found)
    return ids


def log(client: TestClient, practice: Practice, endpoint: dict[str, Any]) -> list[dict[str, Any]]:
    r = client.get(f"{PATH}/{endpoint['id']}/deliveries", headers=practice.auth)
    assert r.status_code == 200
    return r.json()  # type: ignore[no-any-return]


def test_a_delivery_is_signed_and_carries_the_event(client: TestClient, db: Database,
                                                    clock: FrozenClock, receiver: Receiver,
                                                    deliverer: Deliverer) -> None:
    practice = make_practice(client)
    plain = subscribe(client, practice, receiver, "/plain")
    full = subscribe(client, practice, receiver, "/full", include_bodies=True)
    only_leads = subscribe(client, practice, receiver, "/leads", events=["lead.stage_changed"])
    [event_id] = emit(db, practice, clock)
    assert deliverer.run(db, clock.now()) == 2
    assert receiver.bad_signatures == 0
    [seen] = receiver.events("/plain")
    assert seen == {"type": "consent.changed", "timestamp": "2026-03-02T15:00:00Z",
                    "data": {"n": 0, "state": "opted_in"}}
    assert receiver.events("/full")[0]["data"]["phone"] == "+14155550123"
    assert receiver.events("/leads") == []
    assert receiver.arrivals[event_id] == 2  # one webhook-id, the same for every endpoint
    for endpoint in (plain, full):
        [row] = log(client, practice, endpoint)
        assert row["event_id"] == event_id and row["event_type"] == "consent.changed"
        assert (row["status"], row["attempts"], row["last_status_code"]) == ("delivered", 1, 200)
        assert row["delivered_at"] == "2026-03-02T15:00:00Z" and row["next_attempt_at"] is None
    assert log(client, practice, only_leads) == []


def test_a_wrong_secret_fails_verification(receiver: Receiver, client: TestClient,
                                           db: Database, clock: FrozenClock,
                                           deliverer: Deliverer) -> None:
    """The receiver really checks: signed with another secret, the request is refused."""
    practice = make_practice(client)
    subscribe(client, practice, receiver, "/hook")
    receiver.secrets["/hook"] = "whsec_" + "A" * 43 + "="
    emit(db, practice, clock)
    deliverer.run(db, clock.now())
    assert receiver.bad_signatures == 1 and receiver.events("/hook") == []


def test_5xx_and_timeouts_are_retried_on_the_schedule(client: TestClient, db: Database,
                                                      clock: FrozenClock, receiver: Receiver,
                                                      deliverer: Deliverer) -> None:
    practice = make_practice(client)
    endpoint = subscribe(client, practice, receiver, "/hook", 500, "slow", 503, 200)
    [event_id] = emit(db, practice, clock)
    seen = []
    for delay in (timedelta(0), *RETRY_DELAYS[:3]):
        clock.advance(seconds=delay.total_seconds() - 1)
        assert deliverer.run(db, clock.now()) == 0  # not due a second early
        clock.advance(seconds=1)
        assert deliverer.run(db, clock.now()) == 1
        seen.append(log(client, practice, endpoint)[0])
    assert [(r["status"], r["last_status_code"], r["last_error"]) for r in seen] == [
        ("pending", 500, "HTTP 500"), ("pending", None, f"timeout after {TIMEOUT:g} s"),
        ("pending", 503, "HTTP 503"), ("delivered", 200, None)]
    assert seen[0]["next_attempt_at"] == "2026-03-02T15:00:05Z"
    assert seen[-1]["attempts"] == 4
    # the slow attempt was processed, its answer lost: the repeats carry the same webhook-id
    assert receiver.arrivals[event_id] == 4 and receiver.bad_signatures == 0
    assert [e["data"]["n"] for e in receiver.events("/hook")] == [0]
    endpoint_now = client.get(f"{PATH}/{endpoint['id']}", headers=practice.auth).json()
    assert endpoint_now["consecutive_failures"] == 0 and endpoint_now["failing_since"] is None


def test_every_event_is_seen_once_through_injected_failures(client: TestClient, db: Database,
                                                            clock: FrozenClock,
                                                            receiver: Receiver,
                                                            deliverer: Deliverer) -> None:
    practice = make_practice(client)
    chance = random.Random(12)
    # two of three answers fail for the first ~2.5 passes (about three attempts each), then
    # the receiver recovers: every event must come through, each acted on once
    plan = [chance.choice([200, 500, 502, 503, "slow", "slow"]) for _ in range(100)]
    subscribe(client, practice, receiver, "/hook", *plan)
    emitted = emit(db, practice, clock, n=40)
    for _ in range(MAX_ATTEMPTS):
        deliverer.run(db, clock.now())
        clock.advance(hours=10)
    with db.transaction() as s:
        statuses = set(s.scalars(select(WebhookDelivery.status)))
    assert statuses == {"delivered"}
    assert sorted(receiver.processed) == sorted(emitted)  # every event, each processed once
    assert receiver.bad_signatures == 0
    assert sum(receiver.arrivals.values()) > len(emitted)  # failures were injected


def test_an_attempt_lost_with_its_connector_is_made_again_after_the_lease(
        client: TestClient, db: Database, clock: FrozenClock, receiver: Receiver,
        deliverer: Deliverer) -> None:
    practice = make_practice(client)
    endpoint = subscribe(client, practice, receiver, "/hook")
    [event_id] = emit(db, practice, clock)
    lost = deliverer.claim(db, clock.now())  # claimed, then the connector dies: never sent
    assert [a.event_id for a in lost] == [event_id]
    assert deliverer.run(db, clock.now()) == 0  # the lease holds it
    clock.advance(seconds=LEASE.total_seconds() - 1)
    assert deliverer.run(db, clock.now()) == 0
    clock.advance(seconds=2)
    assert deliverer.run(db, clock.now()) == 1
    assert list(receiver.processed) == [event_id]
    [row] = log(client, practice, endpoint)
    assert (row["status"], row["attempts"]) == ("delivered", 2)


def test_a_day_of_failures_gives_up_turns_the_endpoint_off_and_health_says_so(
        client: TestClient, db: Database, clock: FrozenClock, receiver: Receiver,
        deliverer: Deliverer) -> None:
    practice = make_practice(client)
    endpoint = subscribe(client, practice, receiver, "/hook", *([500] * MAX_ATTEMPTS))
    [first] = emit(db, practice, clock)
    assert deliverer.run(db, clock.now()) == 1
    health = client.get("/api/v1/health", headers=practice.auth).json()
    [line] = [c for c in health["checks"] if c["check"] == "webhooks"]
    assert line["status"] == "amber" and "failing" in line["message"]
    for delay in RETRY_DELAYS:
        clock.advance(seconds=delay.total_seconds())
        assert deliverer.run(db, clock.now()) == 1
    [row] = log(client, practice, endpoint)
    assert (row["status"], row["attempts"], row["last_error"]) == ("failed", MAX_ATTEMPTS,
                                                                   "HTTP 500")
    state = client.get(f"{PATH}/{endpoint['id']}", headers=practice.auth).json()
    assert state["status"] == "disabled" and state["consecutive_failures"] == MAX_ATTEMPTS
    health = client.get("/api/v1/health", headers=practice.auth).json()
    [line] = [c for c in health["checks"] if c["check"] == "webhooks"]
    assert line["status"] == "amber" and "turned off" in line["message"]
    assert "HTTP 500" in line["message"]
    assert f"/api/v1/webhook-endpoints/{endpoint['id']}/enable" in line["fix"]
    assert "Fix the receiver" in line["fix"]
    add_staff(db, clock, practice.id, "dana@example.com")
    assert sign_in(client, "dana@example.com").status_code == 303  # type: ignore[attr-defined]
    shown = client.get("/health").text  # the Health page says it too, with the fix
    assert "Event webhooks" in shown and "is turned off" in shown and "/enable" in shown
    # while it is off nothing new is queued for it, and replays are refused
    assert outbox_for(db, practice, clock) is None
    r = client.post(f"{PATH}/{endpoint['id']}/deliveries/{row['id']}/replay",
                    headers=practice.auth)
    assert r.status_code == 409 and r.json()["error"] == "webhook_endpoint_disabled"
    # the receiver is fixed; turning the endpoint on sends what gave up while it failed
    clock.advance(hours=1)
    r = client.post(f"{PATH}/{endpoint['id']}/enable", headers=practice.auth)
    assert r.status_code == 200 and r.json()["status"] == "enabled"
    assert r.json()["requeued"] == 1
    assert deliverer.run(db, clock.now()) == 1
    assert list(receiver.processed) == [first] and receiver.bad_signatures == 0
    health = client.get("/api/v1/health", headers=practice.auth).json()
    [line] = [c for c in health["checks"] if c["check"] == "webhooks"]
    assert line["status"] == "green"


def outbox_for(db: Database, practice: Practice, clock: FrozenClock) -> str | None:
    with db.transaction() as session:
        return outbox.emit(session, practice.id, EventType.CONSENT_CHANGED, {}, clock.now())


def test_a_replay_sends_the_same_event_again_under_its_id(client: TestClient, db: Database,
                                                          clock: FrozenClock,
                                                          receiver: Receiver,
                                                          deliverer: Deliverer) -> None:
    practice = make_practice(client)
    endpoint = subscribe(client, practice, receiver, "/hook")
    [event_id] = emit(db, practice, clock)
    deliverer.run(db, clock.now())
    [row] = log(client, practice, endpoint)
    clock.advance(minutes=3)
    r = client.post(f"{PATH}/{endpoint['id']}/deliveries/{row['id']}/replay",
                    headers=practice.auth)
    assert r.status_code == 202, r.text
    assert (r.json()["status"], r.json()["attempts"]) == ("pending", 0)
    assert deliverer.run(db, clock.now()) == 1
    assert receiver.arrivals[event_id] == 2 and list(receiver.processed) == [event_id]
    [again] = log(client, practice, endpoint)
    assert again["status"] == "delivered" and again["delivered_at"] == "2026-03-02T15:03:00Z"


def test_a_deleted_endpoint_gets_nothing_more(client: TestClient, db: Database,
                                              clock: FrozenClock, receiver: Receiver,
                                              deliverer: Deliverer) -> None:
    practice = make_practice(client)
    endpoint = subscribe(client, practice, receiver, "/hook")
    emit(db, practice, clock)
    assert client.delete(f"{PATH}/{endpoint['id']}", headers=practice.auth).status_code == 204
    assert deliverer.run(db, clock.now()) == 0
    assert outbox_for(db, practice, clock) is None and receiver.arrivals == {}


def test_an_unreadable_secret_is_a_failed_attempt_not_a_post(client: TestClient, db: Database,
                                                            clock: FrozenClock,
                                                            receiver: Receiver) -> None:
    practice = make_practice(client)
    endpoint = subscribe(client, practice, receiver, "/hook")
    emit(db, practice, clock)
    other = Deliverer(Sender(TIMEOUT), SECRET_KEY + "-changed")
    try:
        assert other.run(db, clock.now()) == 1
    finally:
        other.close()
    [row] = log(client, practice, endpoint)
    assert row["status"] == "pending" and "TEXTDESK_SECRET_KEY" in row["last_error"]
    assert receiver.arrivals == {}


def test_two_connectors_at_once_deliver_each_event_exactly_once(client: TestClient,
                                                                db: Database,
                                                                clock: FrozenClock,
                                                                receiver: Receiver) -> None:
    practice = make_practice(client)
    subscribe(client, practice, receiver, "/hook")
    emitted = emit(db, practice, clock, n=120)
    connectors = [Deliverer(Sender(TIMEOUT), SECRET_KEY) for _ in range(2)]
    done: list[int] = []
    try:
        threads = [threading.Thread(target=lambda d=d: done.append(d.run(db, clock.now())))
                   for d in connectors]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        for connector in connectors:
            connector.close()
    assert sum(done) == len(emitted) and receiver.bad_signatures == 0
    assert sorted(receiver.arrivals) == sorted(emitted)
    assert set(receiver.arrivals.values()) == {1}  # no ambiguity, so no repeat at all
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(WebhookDelivery).where(
            WebhookDelivery.status != "delivered")) == 0
