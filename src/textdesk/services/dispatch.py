"""The connector's use cases: heartbeat, claim due texts, hand them to the carrier, record."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from textdesk.carriers.base import Accepted, Carrier, CarrierError
from textdesk.domain.messages import Status
from textdesk.domain.reasons import cause_for_error
from textdesk.services import pacing, recipients
from textdesk.services.delivery import adopt_early_callbacks, advance
from textdesk.services.messaging import add_commlog, cancel
from textdesk.storage import connector as connector_store
from textdesk.storage import messages as message_store
from textdesk.storage.db import Database
from textdesk.storage.models import Message

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """What the connector needs to send one claimed text, detached from the session."""

    id: int
    practice_id: int
    to: str
    from_: str
    body: str
    attempts: int


@dataclass
class DispatchPolicy:
    lease: timedelta = timedelta(seconds=60)
    batch_size: int = 100
    max_attempts: int = 8
    base_backoff: timedelta = timedelta(seconds=2)
    max_backoff: timedelta = timedelta(minutes=10)

    def backoff(self, attempts: int) -> timedelta:
        return min(self.base_backoff * (2 ** max(attempts - 1, 0)), self.max_backoff)


def heartbeat(db: Database, connector_id: str, host: str, now: datetime) -> None:
    with db.transaction() as session:
        connector_store.beat(session, connector_id, host, now)


def claim(db: Database, connector_id: str, now: datetime, policy: DispatchPolicy) -> list[Job]:
    with db.transaction() as session:
        rows = message_store.claim_due(session, connector_id, now, now + policy.lease,
                                       policy.batch_size, is_postgres=not db.is_sqlite)
        # Campaign texts: only what each sending number's pace allows (G4).
        rows += pacing.claim_paced(session, connector_id, now, now + policy.lease,
                                   is_postgres=not db.is_sqlite)
        rows = cancel_blocked(session, rows, now)
        for row in rows:
            message_store.add_event(session, row, Status.SENDING.value, "connector", now)
        return [Job(r.id, r.practice_id, r.to_e164, r.from_e164, r.body, r.attempts)
                for r in rows]


def idle_seconds(db: Database, now: datetime, longest: float) -> float:
    """How long an idle connector sleeps: its poll interval, or less when a paced text's slot
    comes sooner (so a number's pace is used in full, not rounded up to the poll)."""
    with db.transaction() as session:
        return pacing.seconds_until_next(session, now, longest)


def cancel_blocked(session: Session, rows: list[Message], now: datetime) -> list[Message]:
    """Judge claimed texts once more; one blocked since it was accepted is canceled, not sent.

    The rules may have changed under a waiting text (SMS disabled, a landline learned, the
    lead closed). Its claim is undone in this same transaction, so no one ever sees it
    `sending`, and it is canceled with its first blocker's code.
    """
    sendable: list[Message] = []
    for message, verdict in recipients.recheck(session, rows, now):
        if verdict.can_text:
            sendable.append(message)
            continue
        message.attempts -= 1
        _cancel_claimed(session, message, verdict.blockers[0].code, now)
    return sendable


def _cancel_claimed(session: Session, message: Message, code: str, now: datetime) -> None:
    """A claimed text the carrier never took, now blocked: undo the claim and cancel it."""
    message.status = Status.PENDING.value
    message.claimed_by = None
    message.lease_until = None
    cancel(session, message, code, now, source="connector")
    log.info("message %s canceled before it left: %s", message.id, code)


def _blocker_now(session: Session, message: Message, now: datetime) -> str | None:
    """The first blocker of a text judged again now, e.g. a STOP that came while in flight."""
    ((_, verdict),) = recipients.recheck(session, [message], now)
    return verdict.blockers[0].code if verdict.blockers else None


def record_accepted(db: Database, results: list[tuple[Job, Accepted]], now: datetime) -> None:
    """Commit `sent` with the carrier's id for a batch of accepted texts."""
    if not results:
        return
    with db.transaction() as session:
        recorded: list[Message] = []
        for job, accepted in results:
            message = session.get(Message, job.id)
            if message is None:
                continue
            message.carrier_sid = accepted.sid
            message.lease_until = None
            if advance(session, message, Status.SENT, now):
                message_store.add_event(session, message, Status.SENT.value, "connector", now)
                add_commlog(session, message, now)
            adopt_early_callbacks(session, message, now)
            recorded.append(message)
        # A paced number's next slot counts from the carrier's answer, not from the claim.
        pacing.after_sent(session, recorded, now)


def record_refused(db: Database, job: Job, error: CarrierError, now: datetime,
                   policy: DispatchPolicy) -> str:
    """A transient error goes back to the queue with backoff; a permanent one fails now."""
    with db.transaction() as session:
        message = session.get(Message, job.id)
        if message is None or message.status != Status.SENDING:
            return "gone"
        # The carrier did not take it: judged again, a text blocked meanwhile (a STOP while in
        # flight) is canceled rather than put back in a queue the claim would never let out.
        blocker = _blocker_now(session, message, now) if error.is_transient else None
        if blocker is not None:
            _cancel_claimed(session, message, blocker, now)
            return "canceled"
        if error.is_transient and job.attempts < policy.max_attempts:
            message.status = Status.PENDING.value
            message.lease_until = None
            message.next_attempt_at = now + policy.backoff(job.attempts)
            message.wait_reason = ("rate_limited" if error.http_status == 429
                                   or cause_for_error(error.error_code).value == "rate_limited"
                                   else "carrier_retry")
            message.updated_at = now
            message_store.add_event(session, message, Status.PENDING.value, "connector", now,
                                    error.error_code)
            connector_store.add_error(
                session, job.practice_id, "carrier_transient",
                f"The carrier answered {error.http_status or 'no response'}"
                f"{f' (error {error.error_code})' if error.error_code else ''}; "
                f"text #{job.id} is retried (attempt {job.attempts}).", now, job.id)
            return "retry"
        code = error.error_code if error.error_code else None
        advance(session, message, Status.FAILED, now, code)
        message_store.add_event(session, message, Status.FAILED.value, "connector", now, code)
        if error.is_transient:
            connector_store.add_error(
                session, job.practice_id, "carrier_gave_up",
                f"Text #{job.id} failed after {job.attempts} attempts "
                f"({cause_for_error(code).value}).", now, job.id)
        return "failed"


def send_one(carrier: Carrier, job: Job, callback_url: str) -> Accepted | CarrierError:
    try:
        return carrier.send(from_=job.from_, to=job.to, body=job.body,
                            status_callback=callback_url)
    except CarrierError as error:
        return error


def adopt_orphan_callbacks(db: Database, now: datetime) -> int:
    """Apply callbacks that arrived while the connector was still committing their sid."""
    with db.transaction() as session:
        messages = message_store.messages_with_orphan_events(session)
        for message in messages:
            adopt_early_callbacks(session, message, now)
        return len(messages)


def recover_expired(db: Database, carrier: Carrier, now: datetime) -> int:
    """A `sending` text whose lease ran out: ask the carrier before sending it again (F3)."""
    recovered = 0
    with db.transaction() as session:
        for message in message_store.expired_leases(session, now):
            since = message.updated_at - timedelta(minutes=5)
            try:
                found = carrier.find_sent(from_=message.from_e164, to=message.to_e164, since=since)
            except CarrierError:
                log.warning("reconciliation of message %s postponed: carrier unreachable",
                            message.id)
                continue
            twins = [m for m in found if m.body == message.body]
            taken = {m.sid for m in twins}
            known = {m.carrier_sid for m in
                     message_store.messages_by_sids(session, "twilio", taken)} if taken else set()
            fresh = [m for m in twins if m.sid not in known]
            if fresh:
                message.carrier_sid = fresh[0].sid
                advance(session, message, Status.SENT, now)
                message_store.add_event(session, message, Status.SENT.value, "reconcile", now)
                adopt_early_callbacks(session, message, now)
                log.warning("message %s reconciled: the carrier had taken it", message.id)
            else:
                message.status = Status.PENDING.value
                message.next_attempt_at = now
                message_store.add_event(session, message, Status.PENDING.value, "reconcile", now)
                log.warning("message %s reconciled: the carrier never had it; requeued",
                            message.id)
            message.lease_until = None
            recovered += 1
    return recovered
