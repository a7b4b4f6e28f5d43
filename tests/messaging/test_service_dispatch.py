"""The connector's use cases against a real database and the carrier simulator: claim, send,
record, retry, withdraw and reconcile, each step in the text's history."""

from __future__ import annotations

from datetime import timedelta

from tests.carriers.conftest import ACCOUNT_SID, AUTH_TOKEN, RunningSimulator
from tests.messaging.conftest import AVA, World
from textdesk.carriers.base import Accepted, CarrierError
from textdesk.carriers.twilio import TwilioCarrier
from textdesk.consent import status as consent_status
from textdesk.domain.messages import MessageKind, Status, tell_event
from textdesk.kit.clock import FrozenClock
from textdesk.messaging import dispatch, service
from textdesk.messaging.recipients import Recipient
from textdesk.storage import directory as practice_store
from textdesk.storage.models import Message, MessageEvent

POLICY = dispatch.DispatchPolicy()
CALLBACK = "http://127.0.0.1:9/webhooks/twilio/status"  # nobody listens: callbacks are dropped


def _send(world: World, clock: FrozenClock, body: str = "See you Tuesday") -> int:
    with world.db.transaction() as session:
        queued = service.send_text(session, Recipient(world.practice_id, world.clinic_id, AVA),
                                   body, now=clock.now(), kind=MessageKind.MANUAL, actor="ann")
        return queued.message.id


def _load(world: World, message_id: int) -> tuple[Message, list[MessageEvent]]:
    with world.db.transaction() as session:
        message = session.get(Message, message_id)
        assert message is not None
        return message, service.history(session, message_id)


def test_a_claimed_text_sent_by_the_carrier_is_recorded_sent(world: World, clock: FrozenClock,
                                                              carrier: TwilioCarrier,
                                                              simulator: RunningSimulator) -> None:
    message_id = _send(world, clock)
    [job] = dispatch.claim(world.db, "c1", clock.now(), POLICY)
    assert (job.id, job.to, job.attempts) == (message_id, AVA, 1)
    outcome = dispatch.send_one(carrier, job, CALLBACK)
    assert isinstance(outcome, Accepted)
    dispatch.record_accepted(world.db, [(job, outcome)], clock.now())

    message, history = _load(world, message_id)
    assert (message.status, message.carrier_sid, message.lease_until) == (
        "sent", outcome.sid, None)
    assert [(e.status, e.step) for e in history] == [
        ("pending", None), ("sending", "claim"), ("sent", "accept")]
    assert [m.body for m in simulator.sim.state.outbound(to=AVA)] == ["See you Tuesday"]


def test_a_transient_error_is_a_retry_told_as_the_next_attempt(
        world: World, clock: FrozenClock, carrier: TwilioCarrier,
        simulator: RunningSimulator) -> None:
    message_id = _send(world, clock)
    simulator.configure(fail_next=1, fail_status=500)
    [job] = dispatch.claim(world.db, "c1", clock.now(), POLICY)
    outcome = dispatch.send_one(carrier, job, CALLBACK)
    assert isinstance(outcome, CarrierError) and outcome.is_transient
    assert dispatch.record_refused(world.db, job, outcome, clock.now(), POLICY) == "retry"

    message, history = _load(world, message_id)
    assert (message.status, message.wait_reason) == ("pending", "carrier_retry")
    assert message.next_attempt_at == clock.now() + POLICY.backoff(1)
    retry = history[-1]
    assert (retry.status, retry.step) == ("pending", "retry")
    assert retry.note == "attempt 2 of 8 after the carrier answered 500 (error 20500)"
    assert tell_event(retry.status, retry.step, retry.note) == (
        "Retry scheduled: attempt 2 of 8 after the carrier answered 500 (error 20500)")

    clock.set(clock.now() + POLICY.backoff(1))
    [again] = dispatch.claim(world.db, "c1", clock.now(), POLICY)
    assert again.attempts == 2
    assert _load(world, message_id)[1][-1].note == "attempt 2"


def test_a_permanent_error_fails_the_text_and_teaches_the_opt_out(world: World,
                                                                  clock: FrozenClock) -> None:
    message_id = _send(world, clock)
    [job] = dispatch.claim(world.db, "c1", clock.now(), POLICY)
    refused = CarrierError("unsubscribed", error_code=21610, http_status=400)
    assert dispatch.record_refused(world.db, job, refused, clock.now(), POLICY) == "failed"

    message, history = _load(world, message_id)
    assert (message.status, message.error_code, message.failure_cause) == (
        "failed", 21610, "recipient_opted_out")
    assert (history[-1].step, history[-1].error_code) == ("fail", 21610)
    with world.db.transaction() as session:
        assert consent_status.is_opted_out(session, world.practice_id, AVA)


def test_the_last_attempt_fails_instead_of_retrying(world: World, clock: FrozenClock) -> None:
    message_id = _send(world, clock)
    policy = dispatch.DispatchPolicy(max_attempts=1)
    [job] = dispatch.claim(world.db, "c1", clock.now(), policy)
    busy = CarrierError("busy", http_status=503, is_transient=True)
    assert dispatch.record_refused(world.db, job, busy, clock.now(), policy) == "failed"
    assert _load(world, message_id)[0].status == "failed"


def test_a_text_blocked_since_it_was_accepted_is_withdrawn_at_the_claim(
        world: World, clock: FrozenClock) -> None:
    message_id = _send(world, clock)
    with world.db.transaction() as session:
        practice = practice_store.get_practice(session, world.practice_id)
        assert practice is not None
        practice.sms_enabled = False
    assert dispatch.claim(world.db, "c1", clock.now(), POLICY) == []

    message, history = _load(world, message_id)
    assert (message.status, message.cancel_reason, message.attempts) == (
        "canceled", "sms_not_enabled", 0)
    # Nobody ever saw it `sending`: the history goes from waiting to canceled, by the step.
    assert [(e.status, e.step) for e in history] == [("pending", None),
                                                      ("canceled", "withdraw")]


def test_an_expired_lease_the_carrier_took_is_reconciled_as_sent(
        world: World, clock: FrozenClock, carrier: TwilioCarrier,
        simulator: RunningSimulator) -> None:
    message_id = _send(world, clock, "Crash after accept")
    [job] = dispatch.claim(world.db, "c1", clock.now(), POLICY)
    accepted = dispatch.send_one(carrier, job, CALLBACK)  # then the connector "dies"
    assert isinstance(accepted, Accepted)
    clock.set(clock.now() + POLICY.lease + timedelta(seconds=1))
    assert dispatch.recover_expired(world.db, carrier, clock.now()) == 1

    message, history = _load(world, message_id)
    assert (message.status, message.carrier_sid) == ("sent", accepted.sid)
    assert (history[-1].step, history[-1].source) == ("accept", "reconcile")
    assert len(simulator.sim.state.outbound(to=AVA)) == 1


def test_an_expired_lease_the_carrier_never_had_is_queued_again(
        world: World, clock: FrozenClock, carrier: TwilioCarrier,
        simulator: RunningSimulator) -> None:
    message_id = _send(world, clock, "Crash before the call")
    dispatch.claim(world.db, "c1", clock.now(), POLICY)
    clock.set(clock.now() + POLICY.lease + timedelta(seconds=1))
    assert dispatch.recover_expired(world.db, carrier, clock.now()) == 1

    message, history = _load(world, message_id)
    assert (message.status, message.lease_until) == (Status.PENDING, None)
    assert (history[-1].step, history[-1].source) == ("requeue", "reconcile")
    assert tell_event(history[-1].status, history[-1].step, history[-1].note).startswith(
        "Queued again")
    assert simulator.sim.state.outbound(to=AVA) == []


def test_an_unanswered_send_is_looked_up_never_sent_twice(
        world: World, clock: FrozenClock, simulator: RunningSimulator) -> None:
    """The carrier took the text but its answer was lost (a read timeout): the text is not
    retried blindly; once the carrier has had time to list it, the reconciliation finds it."""
    message_id = _send(world, clock, "Answer lost")
    simulator.configure(latency_ms=800)
    impatient = TwilioCarrier(ACCOUNT_SID, AUTH_TOKEN, simulator.url, timeout=0.2)
    try:
        [job] = dispatch.claim(world.db, "c1", clock.now(), POLICY)
        outcome = dispatch.send_one(impatient, job, CALLBACK)
        assert isinstance(outcome, CarrierError) and outcome.maybe_taken
        assert dispatch.record_refused(world.db, job, outcome, clock.now(), POLICY) == "reconcile"
        message, _ = _load(world, message_id)
        assert message.status == Status.SENDING  # not back in the queue
        assert dispatch.claim(world.db, "c2", clock.now(), POLICY) == []
        simulator.configure(latency_ms=0)
        simulator.sim.wait_idle(5)
        clock.set(clock.now() + POLICY.settle + timedelta(seconds=1))
        assert dispatch.recover_expired(world.db, impatient, clock.now()) == 1
    finally:
        impatient.close()
    message, history = _load(world, message_id)
    assert message.status == Status.SENT and message.carrier_sid
    assert (history[-1].step, history[-1].source) == ("accept", "reconcile")
    assert [m.body for m in simulator.sim.state.outbound(to=AVA)] == ["Answer lost"]
