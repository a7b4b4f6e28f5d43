"""Receiving through the inbound service against a real database: stored once, matched to the
practice and its patients, dropped when the number is not ours."""

from __future__ import annotations

from tests.messaging.conftest import AVA, World
from textdesk.carriers.base import InboundText
from textdesk.carriers.twilio import parse_inbound
from textdesk.kit.clock import FrozenClock
from textdesk.messaging import inbound, service


def _params(world: World, sid: str, body: str = "Running late", from_: str = AVA,
            to: str | None = None) -> InboundText:
    return parse_inbound({"MessageSid": sid, "From": from_, "To": to or world.number,
                          "Body": body})


def test_a_text_is_stored_once_on_its_patient(world: World, clock: FrozenClock) -> None:
    with world.db.transaction() as session:
        first = inbound.receive(session, _params(world, "SM" + "a" * 32), clock.now())
        assert first.is_new and first.message is not None
        assert (first.message.status, first.message.kind, first.message.from_e164) == (
            "received", "inbound", AVA)
        patient_id = first.message.patient_id
        assert patient_id is not None
    with world.db.transaction() as session:
        again = inbound.receive(session, _params(world, "SM" + "a" * 32), clock.now())
        assert not again.is_new and again.message is not None
        assert again.message.id == first.message.id
        logs = service.commlogs_of_patient(session, world.practice_id, patient_id)
        assert [c.note for c in logs] == ["Text received: Running late"]


def test_a_text_to_a_number_that_is_not_ours_is_dropped(world: World,
                                                        clock: FrozenClock) -> None:
    with world.db.transaction() as session:
        got = inbound.receive(session, _params(world, "SM" + "b" * 32, to="+15005550999"),
                              clock.now())
        assert (got.message, got.is_new) == (None, False)


def test_an_unknown_sender_gets_a_conversation_without_a_patient(world: World,
                                                                 clock: FrozenClock) -> None:
    with world.db.transaction() as session:
        got = inbound.receive(session, _params(world, "SM" + "c" * 32, from_="+14155550177"),
                              clock.now())
        assert got.message is not None and got.message.patient_id is None
        conversation = service.get_conversation(session, world.practice_id,
                                                got.message.conversation_id or 0)
        assert conversation is not None
        assert (conversation.phone_e164, conversation.unread_count) == ("+14155550177", 1)
