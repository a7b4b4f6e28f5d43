"""Status callbacks through the delivery service against a real database: forward only, kept
when late or repeated, early ones adopted, failures teach about the phone."""

from __future__ import annotations

import pytest

from tests.messaging.conftest import AVA, World
from textdesk.carriers.base import Accepted, WebhookRejected
from textdesk.carriers.twilio import parse_status
from textdesk.domain.messages import MessageKind
from textdesk.kit.clock import FrozenClock
from textdesk.messaging import delivery, dispatch, service
from textdesk.messaging.recipients import Recipient
from textdesk.storage import directory as practice_store
from textdesk.storage.models import Message

POLICY = dispatch.DispatchPolicy()


def _sent(world: World, clock: FrozenClock, sid: str) -> int:
    with world.db.transaction() as session:
        message_id = service.send_text(session, Recipient(world.practice_id, world.clinic_id,
                                                          AVA), "Hello", now=clock.now(),
                                       kind=MessageKind.MANUAL).message.id
    [job] = dispatch.claim(world.db, "c1", clock.now(), POLICY)
    dispatch.record_accepted(world.db, [(job, Accepted(sid, "queued"))], clock.now())
    return message_id


def _callback(world: World, clock: FrozenClock, sid: str, status: str,
              error: str = "") -> str:
    update = parse_status({"MessageSid": sid, "MessageStatus": status, "ErrorCode": error})
    with world.db.transaction() as session:
        return delivery.record_status_callback(session, update, clock.now())


def _status(world: World, message_id: int) -> tuple[str, list[tuple[str, str | None, bool]]]:
    with world.db.transaction() as session:
        message = session.get(Message, message_id)
        assert message is not None
        return message.status, [(e.status, e.step, e.applied)
                                for e in service.history(session, message_id)]


def test_delivered_moves_forward_and_a_late_sent_is_kept_not_applied(
        world: World, clock: FrozenClock) -> None:
    message_id = _sent(world, clock, "SM" + "1" * 32)
    assert _callback(world, clock, "SM" + "1" * 32, "delivered") == "applied"
    assert _callback(world, clock, "SM" + "1" * 32, "sent") == "kept"
    assert _callback(world, clock, "SM" + "1" * 32, "delivered") == "duplicate"
    status, history = _status(world, message_id)
    assert status == "delivered"
    assert history[-2:] == [("delivered", "deliver", True), ("sent", None, False)]


def test_a_landline_failure_teaches_the_patients_phone(world: World, clock: FrozenClock) -> None:
    message_id = _sent(world, clock, "SM" + "2" * 32)
    assert _callback(world, clock, "SM" + "2" * 32, "undelivered", "30006") == "applied"
    with world.db.transaction() as session:
        message = session.get(Message, message_id)
        assert message is not None
        assert (message.status, message.error_code, message.failure_cause) == (
            "undelivered", 30006, "recipient_landline")
        [patient] = practice_store.patients_by_phone(session, world.practice_id, AVA)
        assert patient.phone_finding == "landline"


def test_a_callback_before_its_sid_is_adopted_when_the_sid_lands(world: World,
                                                                 clock: FrozenClock) -> None:
    sid = "SM" + "3" * 32
    assert _callback(world, clock, sid, "delivered") == "unknown_message"
    message_id = _sent(world, clock, sid)
    status, history = _status(world, message_id)
    assert status == "delivered"
    # Kept in the order it arrived (first), applied once the sid landed.
    assert history[0] == ("delivered", "deliver", True)
    assert ("sent", "accept", True) in history


def test_a_callback_without_sid_or_status_is_refused_before_the_service() -> None:
    with pytest.raises(WebhookRejected, match="MessageSid"):
        parse_status({"MessageSid": "", "MessageStatus": "delivered"})
    with pytest.raises(WebhookRejected, match="MessageStatus"):
        parse_status({"MessageSid": "SM" + "4" * 32, "MessageStatus": ""})
