"""The connector's use cases: heartbeat, claim due texts, hand them to the carrier, record."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from textdesk.campaigns import pacing
from textdesk.carriers.base import Accepted, Carrier, CarrierError
from textdesk.domain.eligibility import Verdict
from textdesk.domain.expiry import (
    NEVER_EXPIRE_WHILE,
    expiry_reason,
    has_expired,
    hold_of_expired,
    seconds_left,
    would_leave_late,
)
from textdesk.domain.messages import Status, Step, describe_retry
from textdesk.domain.reasons import cause_for_error
from textdesk.integrations import outbox
from textdesk.media import service as media
from textdesk.messaging import lifecycle, recipients
from textdesk.messaging.delivery import adopt_early_callbacks, advance
from textdesk.messaging.service import add_commlog
from textdesk.messaging.store import connector as connector_store, messages as message_store
from textdesk.storage import directory as practice_store
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
    media_ids: tuple[int, ...] = ()  # its files (MMS): each sent as a signed, expiring link
    messaging_service_sid: str | None = None  # sent through the service instead of `from_`
    validity_seconds: float | None = None  # what is left of its validity (ValidityPeriod)
    segments: int = 1  # what the carrier meters (the account's pace in the in-flight window)


@dataclass
class DispatchPolicy:
    lease: timedelta = timedelta(seconds=60)
    batch_size: int = 100
    max_attempts: int = 8
    base_backoff: timedelta = timedelta(seconds=2)
    max_backoff: timedelta = timedelta(minutes=10)
    # After an unanswered send, how long the carrier is given to list the text before the
    # reconciliation asks it whether it holds it.
    settle: timedelta = timedelta(seconds=3)

    def backoff(self, attempts: int) -> timedelta:
        return min(self.base_backoff * (2 ** max(attempts - 1, 0)), self.max_backoff)


def heartbeat(db: Database, connector_id: str, host: str, now: datetime) -> None:
    with db.transaction() as session:
        connector_store.beat(session, connector_id, host, now)


def claim(db: Database, connector_id: str, now: datetime, policy: DispatchPolicy,
          limit: int | None = None) -> list[Job]:
    """Due texts for this connector: up to `limit` (the batch size) of those sent at once, and
    the campaign texts each number's pace lets out now."""
    with db.transaction() as session:
        # First what can no longer leave in time: canceled with the hold that kept it, before
        # a claim or the pacing could give it a new time (one index probe when none is due).
        _expire(session, now, policy.batch_size)
        rows = message_store.claim_due(session, connector_id, now, now + policy.lease,
                                       min(limit or policy.batch_size, policy.batch_size))
        # Campaign texts: only what each sending number's pace allows (G4).
        rows += pacing.claim_paced(session, connector_id, now, now + policy.lease)
        rows = cancel_blocked(session, rows, now)
        lifecycle.claimed(session, rows, now, "connector")
        files = media.of_messages(session, [r.id for r in rows if r.num_media])
        services = _services_of(session, rows)
        return [Job(r.id, r.practice_id, r.to_e164, r.from_e164, r.body, r.attempts,
                    tuple(item.id for item in files.get(r.id, [])),
                    services.get(r.number_id) if r.number_id is not None else None,
                    seconds_left(r.expires_at, now), max(r.segments or 1, 1))
                for r in rows]


def _services_of(session: Session, rows: list[Message]) -> dict[int, str]:
    """The messaging service each claimed text's number sends through, by number id."""
    found: dict[int, str] = {}
    for number_id in {r.number_id for r in rows if r.number_id is not None}:
        number = practice_store.get_number(session, number_id)
        if number is not None and number.messaging_service_sid:
            found[number_id] = number.messaging_service_sid
    return found


def idle_seconds(db: Database, now: datetime, longest: float) -> float:
    """How long an idle connector sleeps: its poll interval, or less when a paced text's slot
    comes sooner (so a number's pace is used in full, not rounded up to the poll)."""
    with db.transaction() as session:
        return pacing.seconds_until_next(session, now, longest)


def cancel_blocked(session: Session, rows: list[Message], now: datetime) -> list[Message]:
    """Judge claimed texts once more; one blocked since it was accepted is canceled, not sent.

    The rules may have changed under a waiting text (SMS disabled, a landline learned, the
    lead closed). It is withdrawn in this same transaction, so no one ever sees it `sending`:
    its claim is not counted as an attempt, and it is canceled with its first blocker's code.
    """
    sendable: list[Message] = []
    for message, verdict in recipients.recheck(session, rows, now):
        code = (verdict.blockers[0].code if not verdict.can_text
                else _expired_code(message, verdict, now))
        if code is None:
            sendable.append(message)
            continue
        message.attempts -= 1
        message.claimed_by = None
        _withdraw(session, message, code, now)
    return sendable


def _expired_code(message: Message, verdict: Verdict | None, now: datetime) -> str | None:
    """`expired_<hold>` for a text past its validity (it would leave late), else None."""
    if not has_expired(message.expires_at, now) or message.expires_at is None:
        return None
    holds = [r.code for r in verdict.holds if r.code != "connector_down"] if verdict else []
    return expiry_reason(hold_of_expired(message.wait_reason, message.next_attempt_at,
                                         message.expires_at, holds))


def expire_waiting(db: Database, now: datetime, limit: int = 500) -> int:
    """The scheduler's sweep: waiting texts past their validity are canceled, never sent, each
    with the reason naming what held it (`expired_connector_down` …); returns how many."""
    with db.transaction() as session:
        return _expire(session, now, limit)


def _expire(session: Session, now: datetime, limit: int) -> int:
    waiting = [m for m in message_store.expired_waiting(session, now, limit)
               if m.wait_reason not in NEVER_EXPIRE_WHILE]
    canceled = 0
    for message, verdict in recipients.recheck(session, waiting, now):
        code = _expired_code(message, verdict, now)
        if code is not None and lifecycle.take(session, message, Step.CANCEL, now,
                                               source="connector", reason=code):
            canceled += 1
    return canceled


def _withdraw(session: Session, message: Message, code: str, now: datetime) -> None:
    """A claimed text the carrier never took, now blocked: canceled before it left."""
    lifecycle.take(session, message, Step.WITHDRAW, now, source="connector", reason=code)
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
        # One query for the texts and one for callbacks that came before their sid was kept.
        messages = message_store.messages_by_ids(session, [job.id for job, _ in results])
        kept = message_store.orphan_events_of(session, [accepted.sid for _, accepted in results])
        systems = outbox.systems_of(session, {m.practice_id for m in messages.values()})
        recorded: list[Message] = []
        for job, accepted in results:
            message = messages.get(job.id)
            if message is None:
                continue
            message.carrier_sid = accepted.sid
            if advance(session, message, Step.ACCEPT, now, source="connector"):
                add_commlog(session, message, now, systems=systems)
            adopt_early_callbacks(session, message, now, kept.get(accepted.sid, []))
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
        if error.maybe_taken:
            _hold_for_reconciliation(session, message, job, now, policy)
            return "reconcile"
        # The carrier did not take it: judged again, a text blocked meanwhile (a STOP while in
        # flight) is canceled rather than put back in a queue the claim would never let out.
        blocker = _blocker_now(session, message, now) if error.is_transient else None
        if blocker is not None:
            _withdraw(session, message, blocker, now)
            return "canceled"
        if error.is_transient and job.attempts < policy.max_attempts:
            if would_leave_late(message.expires_at, now + policy.backoff(job.attempts)):
                # Its next attempt would come after its validity: it would leave late.
                _withdraw(session, message, expiry_reason("carrier_retry"), now)
                return "expired"
            _retry(session, message, job, error, now, policy)
            return "retry"
        code = error.error_code if error.error_code else None
        advance(session, message, Step.FAIL, now, source="connector", error_code=code)
        if error.is_transient:
            connector_store.add_error(
                session, job.practice_id, "carrier_gave_up",
                f"Text #{job.id} failed after {job.attempts} attempts "
                f"({cause_for_error(code).value}).", now, job.id)
        return "failed"


def _hold_for_reconciliation(session: Session, message: Message, job: Job, now: datetime,
                             policy: DispatchPolicy) -> None:
    """The carrier may have taken it: it stays `sending` and its lease ends soon, so the
    reconciliation asks the carrier before anything is sent again (never texted twice)."""
    message.lease_until = now + policy.settle
    connector_store.add_error(
        session, job.practice_id, "carrier_no_answer",
        f"Text #{job.id}: the carrier did not answer; it is looked up before being sent "
        "again.", now, job.id)


def _retry(session: Session, message: Message, job: Job, error: CarrierError, now: datetime,
           policy: DispatchPolicy) -> None:
    """Back to the queue for the next attempt, told in the history as the retry it is."""
    note = describe_retry(job.attempts + 1, policy.max_attempts, error.http_status,
                          error.error_code)
    lifecycle.take(session, message, Step.RETRY, now, source="connector",
                   error_code=error.error_code, note=note)
    message.next_attempt_at = now + policy.backoff(job.attempts)
    message.wait_reason = ("rate_limited" if error.http_status == 429
                           or cause_for_error(error.error_code).value == "rate_limited"
                           else "carrier_retry")
    connector_store.add_error(session, job.practice_id, "carrier_transient",
                              f"Text #{job.id} is retried: {note}.", now, job.id)


def send_one(carrier: Carrier, job: Job, callback_url: str,
             media_urls: Sequence[str] = ()) -> Accepted | CarrierError:
    """Hand one text to the carrier; `media_urls` are its files' links (built at send time,
    so a text that waited hours still hands the carrier a link that is valid)."""
    try:
        return carrier.send(from_=job.from_, to=job.to, body=job.body,
                            status_callback=callback_url, media_urls=media_urls,
                            messaging_service_sid=job.messaging_service_sid,
                            validity_seconds=whole_seconds(job.validity_seconds))
    except CarrierError as error:
        return error


def whole_seconds(seconds: float | None) -> int | None:
    return None if seconds is None else max(int(seconds), 1)


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
                # Through a messaging service the carrier picks the sender: any From may hold it.
                from_ = "" if _services_of(session, [message]) else message.from_e164
                found = carrier.find_sent(from_=from_, to=message.to_e164, since=since)
            except CarrierError:
                log.warning("reconciliation of message %s postponed: carrier unreachable",
                            message.id)
                continue
            twins = [m for m in found if m.body == message.body]
            taken = {m.sid for m in twins}
            known = {m.carrier_sid for m in
                     message_store.messages_by_sids(session, carrier.name, taken)
                     } if taken else set()
            fresh = [m for m in twins if m.sid not in known]
            if fresh:
                message.carrier_sid = fresh[0].sid
                advance(session, message, Step.ACCEPT, now, source="reconcile",
                        note="the lease ran out; the carrier had taken it")
                adopt_early_callbacks(session, message, now)
                log.warning("message %s reconciled: the carrier had taken it", message.id)
            else:
                lifecycle.take(session, message, Step.REQUEUE, now, source="reconcile",
                               note="the lease ran out and the carrier has no such text")
                message.next_attempt_at = now
                log.warning("message %s reconciled: the carrier never had it; requeued",
                            message.id)
            recovered += 1
    return recovered
