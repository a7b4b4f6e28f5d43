"""The message lifecycle: statuses, kinds, the named steps between statuses, and which kinds
may still reach a phone that opted out.

```
outbound:  pending ─claim─► sending ─accept─► sent ─deliver─► delivered
              │  ▲             │  │             └─undeliver─► undelivered
              │  └─retry───────┘  ├─fail────────────────────► failed
              │  └─requeue─────┘  └─withdraw──┐
              └─cancel────────────────────────┴─► canceled
inbound:   received
```

`retry` and `requeue` are the only steps that return a text to `pending`, and both happen
before the carrier had it: a transient carrier error (the text is tried again later, as its
next attempt) or a lease that ran out with the carrier holding no such text. Neither is a step
back in the text's story; the history names them as what they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Direction(StrEnum):
    OUTBOUND = "outbound"  # from the practice to a patient or lead
    INBOUND = "inbound"  # from a patient or lead to the practice


class MessageKind(StrEnum):
    MANUAL = "manual"  # typed by staff
    TEST = "test"  # a test text to the office's own phone (A6)
    AUTOMATED = "automated"  # reminders, confirmations, recall links
    CAMPAIGN = "campaign"  # a marketing campaign text
    SYSTEM = "system"  # automatic answers to a person's own text (opt-in confirmation, G5, D3)
    COMPLIANCE = "compliance"  # the STOP confirmation and the HELP answer carriers require
    INBOUND = "inbound"  # a text received from a patient or lead

    @property
    def is_manual(self) -> bool:
        return self in (MessageKind.MANUAL, MessageKind.TEST)

    @property
    def answers_inbound(self) -> bool:
        """An automatic answer to a number that has just texted in."""
        return self in (MessageKind.SYSTEM, MessageKind.COMPLIANCE)


# What may still reach a phone that opted out: a test text (it goes to the office's own phone)
# and the answers carriers require even right after an opt-out (STOP's confirmation, HELP).
_REACH_OPTED_OUT = frozenset({MessageKind.TEST, MessageKind.COMPLIANCE})


def may_reach_opted_out(kind: MessageKind) -> bool:
    """Whether a text of this kind may still go to a phone with an opt-out on record.

    The one answer to the question: the rule engine, both claims (through
    `kinds_reaching_opted_out`) and the STOP handler ask it.
    """
    return kind in _REACH_OPTED_OUT


def kinds_reaching_opted_out() -> frozenset[MessageKind]:
    """The kinds `may_reach_opted_out` lets through, for a query that filters in bulk."""
    return frozenset(k for k in MessageKind if may_reach_opted_out(k))


class Status(StrEnum):
    PENDING = "pending"  # accepted, waiting for the connector or for a hold to lift
    SENDING = "sending"  # claimed by a connector, request to the carrier in flight
    SENT = "sent"  # the carrier accepted it and gave its id
    DELIVERED = "delivered"  # the handset received it (terminal)
    UNDELIVERED = "undelivered"  # the carrier could not deliver it (terminal)
    FAILED = "failed"  # refused by the carrier or given up (terminal)
    CANCELED = "canceled"  # canceled before it left (terminal)
    RECEIVED = "received"  # an inbound text (terminal)


TERMINAL = frozenset(
    {Status.DELIVERED, Status.UNDELIVERED, Status.FAILED, Status.CANCELED, Status.RECEIVED}
)


class Step(StrEnum):
    """A named move between two statuses; every status change of a message is one of these."""

    CLAIM = "claim"  # a connector took a due text to hand it to the carrier
    ACCEPT = "accept"  # the carrier accepted it (its answer, a callback or reconciliation)
    DELIVER = "deliver"  # the handset received it
    UNDELIVER = "undeliver"  # the carrier could not deliver it
    FAIL = "fail"  # the carrier refused it for good, or the attempts ran out
    CANCEL = "cancel"  # canceled while waiting (staff, an opt-out, a rule)
    WITHDRAW = "withdraw"  # claimed, judged again and blocked before the carrier had it
    RETRY = "retry"  # the carrier refused for a moment; back in the queue for its next attempt
    REQUEUE = "requeue"  # the lease ran out and the carrier never had it; back in the queue


_ANY_BEFORE_SENT = frozenset({Status.PENDING, Status.SENDING})
_ANY_OPEN = frozenset({Status.PENDING, Status.SENDING, Status.SENT})


@dataclass(frozen=True)
class Move:
    sources: frozenset[Status]
    target: Status


# The transition table. Callbacks can beat the connector's own commit, so a text may reach
# `sent` or an end state from `pending` too ("delivered" before "sent").
MOVES: dict[Step, Move] = {
    Step.CLAIM: Move(frozenset({Status.PENDING}), Status.SENDING),
    Step.ACCEPT: Move(_ANY_BEFORE_SENT, Status.SENT),
    Step.DELIVER: Move(_ANY_OPEN, Status.DELIVERED),
    Step.UNDELIVER: Move(_ANY_OPEN, Status.UNDELIVERED),
    Step.FAIL: Move(_ANY_OPEN, Status.FAILED),
    Step.CANCEL: Move(frozenset({Status.PENDING}), Status.CANCELED),
    Step.WITHDRAW: Move(frozenset({Status.SENDING}), Status.CANCELED),
    Step.RETRY: Move(frozenset({Status.SENDING}), Status.PENDING),
    Step.REQUEUE: Move(frozenset({Status.SENDING}), Status.PENDING),
}

# The step a carrier's report of a status stands for.
_REPORTED = {Status.SENT: Step.ACCEPT, Status.DELIVERED: Step.DELIVER,
             Status.UNDELIVERED: Step.UNDELIVER, Status.FAILED: Step.FAIL,
             Status.CANCELED: Step.CANCEL}


def can_take(step: Step, current: Status) -> bool:
    """Whether a message in `current` may take `step` (terminal statuses take none)."""
    return current in MOVES[step].sources


def can_move(current: Status, new: Status) -> bool:
    """Whether any step leads from `current` to `new`."""
    return any(current in m.sources and m.target is new for m in MOVES.values())


def step_reported(status: Status) -> Step | None:
    """The step a carrier's report of `status` asks for (None for a status it cannot report)."""
    return _REPORTED.get(status)


def claim_move() -> tuple[frozenset[Status], Status]:
    """Which statuses a claim takes and what they become, for the bulk claim statements."""
    move = MOVES[Step.CLAIM]
    return move.sources, move.target


def describe_retry(next_attempt: int, max_attempts: int, http_status: int | None,
                   error_code: int | None) -> str:
    """How the history tells a retry: 'attempt 2 of 8 after the carrier answered 500'."""
    answer = f"answered {http_status}" if http_status else "did not answer"
    if error_code:
        answer += f" (error {error_code})"
    return f"attempt {next_attempt} of {max_attempts} after the carrier {answer}"


# A history line names the step where the status alone would read as a step back.
_STEP_TITLES = {Step.RETRY: "Retry scheduled", Step.REQUEUE: "Queued again",
                Step.WITHDRAW: "Canceled before it left"}


def tell_event(status: str, step: str | None, note: str | None) -> str:
    """One history entry as staff read it, e.g. 'Retry scheduled: attempt 2 of 8 after the
    carrier answered 500' (never a bare 'Pending' after 'Sending')."""
    title = (_STEP_TITLES.get(Step(step)) if step in set(Step) else None) or \
        status.replace("_", " ").capitalize()
    return f"{title}: {note}" if note else title


# Twilio's callback statuses mapped onto ours; queued/accepted/sending mean "the carrier has it".
CARRIER_STATUS: dict[str, Status] = {
    "accepted": Status.SENT,
    "queued": Status.SENT,
    "sending": Status.SENT,
    "sent": Status.SENT,
    "delivered": Status.DELIVERED,
    "undelivered": Status.UNDELIVERED,
    "failed": Status.FAILED,
    "canceled": Status.CANCELED,
    "read": Status.DELIVERED,
}


def status_from_carrier(value: str) -> Status | None:
    return CARRIER_STATUS.get(value.strip().lower())
