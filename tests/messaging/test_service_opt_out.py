"""What may still reach a phone that opted out: the rule engine, both claims and the STOP
handler give the same answer for every kind, the one `may_reach_opted_out` gives."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from tests.messaging.conftest import AVA, World
from textdesk.campaigns.store import pacing as pacing_store
from textdesk.consent import service as consent_service
from textdesk.consent.store import consent as consent_store
from textdesk.domain.consent import ConsentAction, ConsentScope, ConsentState, ConsentStatus
from textdesk.domain.eligibility import NumberFacts, SendContext, evaluate
from textdesk.domain.messages import (
    MessageKind,
    Status,
    kinds_reaching_opted_out,
    may_reach_opted_out,
)
from textdesk.domain.pacing import PACED_KINDS
from textdesk.kit.clock import FrozenClock
from textdesk.messaging.service import queue_message
from textdesk.messaging.store import messages as message_store
from textdesk.storage import directory as practice_store
from textdesk.storage.models import ConsentEvent, Message

KINDS = list(MessageKind)


def test_the_exempt_kinds_are_the_test_text_and_the_required_answers() -> None:
    assert kinds_reaching_opted_out() == {MessageKind.TEST, MessageKind.COMPLIANCE}


def _queue(session: Session, world: World, kind: MessageKind, clock: FrozenClock) -> Message:
    practice = practice_store.get_practice(session, world.practice_id)
    number = practice_store.number_by_e164(session, world.number)
    assert practice is not None and number is not None
    return queue_message(session, practice, to_e164=AVA, from_e164=number.e164,
                         number_id=number.id, clinic_id=number.clinic_id,
                         body=f"a {kind.value} text", kind=kind, now=clock.now())


def _opt_out_without_cancel(session: Session, world: World, clock: FrozenClock) -> None:
    """The opt-out is on record, the text still waits: the moment a claim must catch."""
    consent_store.append_event(session, ConsentEvent(
        practice_id=world.practice_id, phone_e164=AVA, action=ConsentAction.OPT_OUT.value,
        scope=ConsentScope.ALL.value, source="keyword", actor="patient", at=clock.now()))


@pytest.mark.parametrize("kind", KINDS)
def test_the_rule_engine_agrees(kind: MessageKind, clock: FrozenClock) -> None:
    ctx = SendContext(now=clock.now(), sms_enabled=True,
                      number=NumberFacts("local", "active", "approved"), phone_raw=AVA,
                      consent=ConsentStatus(ConsentState.OPTED_OUT, False, clock.now(),
                                            "keyword"), kind=kind, body="hello")
    blocked = "opted_out" in [r.code for r in evaluate(ctx).blockers]
    assert blocked is not may_reach_opted_out(kind)


@pytest.mark.parametrize("kind", KINDS)
def test_the_staff_claim_agrees(kind: MessageKind, world: World, clock: FrozenClock) -> None:
    with world.db.transaction() as session:
        message_id = _queue(session, world, kind, clock).id
        _opt_out_without_cancel(session, world, clock)
    with world.db.transaction() as session:
        claimed = message_store.claim_due(session, "c1", clock.now(),
                                          clock.now() + timedelta(minutes=1), 100)
    # Paced kinds are the paced claim's; every other kind is claimed exactly when it may
    # reach an opted-out phone.
    expected = may_reach_opted_out(kind) and kind not in PACED_KINDS
    assert [m.id for m in claimed] == ([message_id] if expected else [])


@pytest.mark.parametrize("kind", KINDS)
def test_the_paced_claim_agrees(kind: MessageKind, world: World, clock: FrozenClock) -> None:
    with world.db.transaction() as session:
        message_id = _queue(session, world, kind, clock).id
        _opt_out_without_cancel(session, world, clock)
    with world.db.transaction() as session:
        claimed = pacing_store.claim(session, [message_id], "c1", clock.now(),
                                     clock.now() + timedelta(minutes=1))
    assert [m.id for m in claimed] == ([message_id] if may_reach_opted_out(kind) else [])


@pytest.mark.parametrize("kind", KINDS)
def test_the_stop_handler_agrees(kind: MessageKind, world: World, clock: FrozenClock) -> None:
    with world.db.transaction() as session:
        message_id = _queue(session, world, kind, clock).id
    with world.db.transaction() as session:
        consent_service.record(session, world.practice_id, AVA, ConsentAction.OPT_OUT,
                               ConsentScope.ALL, "keyword", now=clock.now(), actor="patient")
    with world.db.transaction() as session:
        message = session.get(Message, message_id)
        assert message is not None
        status = message.status
    assert status == (Status.PENDING if may_reach_opted_out(kind) else Status.CANCELED)


@pytest.mark.parametrize("kind", [k for k in KINDS if k not in PACED_KINDS])
def test_without_an_opt_out_the_staff_claim_takes_every_kind(kind: MessageKind, world: World,
                                                             clock: FrozenClock) -> None:
    """The control: what the opt-out tests refuse is refused by the opt-out, nothing else."""
    with world.db.transaction() as session:
        message_id = _queue(session, world, kind, clock).id
    with world.db.transaction() as session:
        claimed = message_store.claim_due(session, "c1", clock.now(),
                                          clock.now() + timedelta(minutes=1), 100)
    assert [m.id for m in claimed] == [message_id]
