"""Sending, canceling and the queue through the messaging service against a real database."""

from __future__ import annotations

import pytest

from tests.messaging.conftest import AVA, DEV, World
from textdesk.domain.errors import SendBlocked
from textdesk.domain.messages import MessageKind
from textdesk.kit.clock import FrozenClock
from textdesk.messaging import service
from textdesk.messaging.recipients import Recipient
from textdesk.messaging.store import attempts as attempts_store
from textdesk.storage import directory as practice_store


def _recipient(world: World, phone: str) -> Recipient:
    return Recipient(world.practice_id, world.clinic_id, phone)


def test_a_sendable_text_is_queued_pending_with_its_first_history(world: World,
                                                                   clock: FrozenClock) -> None:
    with world.db.transaction() as session:
        queued = service.send_text(session, _recipient(world, AVA), "Hi Ava", now=clock.now(),
                                   kind=MessageKind.MANUAL, actor="ann")
        message = queued.message
        assert (message.status, message.to_e164, message.from_e164, message.created_by) == (
            "pending", AVA, world.number, "ann")
        assert [(e.status, e.source) for e in service.history(session, message.id)] == [
            ("pending", "api")]
        assert service.pending_to_phone(session, world.practice_id, AVA) == [message]


def test_a_blocked_text_is_refused_with_every_blocker_and_the_refusal_kept(
        world: World, clock: FrozenClock) -> None:
    with world.db.transaction() as session:
        with pytest.raises(SendBlocked) as refused:
            service.send_text(session, _recipient(world, DEV), "Hi Dev", now=clock.now(),
                              kind=MessageKind.MANUAL)
        assert [b["code"] for b in refused.value.details["blockers"]] == ["not_opted_in"]
        assert service.pending_to_phone(session, world.practice_id, DEV) == []
        counts = attempts_store.refusal_counts(session, world.practice_id, clock.now())
        assert counts.get("not_opted_in") == 1


def test_cancel_takes_a_waiting_text_once(world: World, clock: FrozenClock) -> None:
    with world.db.transaction() as session:
        message = service.send_text(session, _recipient(world, AVA), "Hi", now=clock.now()
                                    ).message
        assert service.cancel(session, message, "staff_canceled", clock.now())
        assert not service.cancel(session, message, "staff_canceled", clock.now())
        assert (message.status, message.cancel_reason) == ("canceled", "staff_canceled")
        history = service.history(session, message.id)
        assert [(e.status, e.step) for e in history] == [("pending", None),
                                                          ("canceled", "cancel")]


def test_a_test_text_goes_to_the_office_phone(world: World, clock: FrozenClock) -> None:
    with world.db.transaction() as session:
        practice = practice_store.get_practice(session, world.practice_id)
        assert practice is not None
        queued = service.send_test(session, practice, None, None, clock.now())
        assert (queued.message.kind, queued.message.to_e164) == ("test", practice.office_phone)
