"""The message lifecycle: statuses, kinds and the forward-only transition table.

```
outbound:  pending ─► sending ─► sent ─► delivered
              │          │         └───► undelivered
              │          └─────────────► failed
              └─► canceled            (staff cancel, or the patient opted out before it left)
inbound:   received
```
"""

from __future__ import annotations

from enum import StrEnum


class Direction(StrEnum):
    OUTBOUND = "outbound"  # from the practice to a patient or lead
    INBOUND = "inbound"  # from a patient or lead to the practice


class MessageKind(StrEnum):
    MANUAL = "manual"  # typed by staff
    TEST = "test"  # a test text to the office's own phone (A6)
    AUTOMATED = "automated"  # reminders, confirmations, recall links
    CAMPAIGN = "campaign"  # a marketing campaign text
    SYSTEM = "system"  # keyword confirmations and automatic answers
    INBOUND = "inbound"  # a text received from a patient or lead

    @property
    def is_manual(self) -> bool:
        return self in (MessageKind.MANUAL, MessageKind.TEST)


class Status(StrEnum):
    PENDING = "pending"  # accepted, waiting for the connector or for a hold to lift
    SENDING = "sending"  # claimed by a connector, request to the carrier in flight
    SENT = "sent"  # the carrier accepted it and gave its id
    DELIVERED = "delivered"  # the handset received it (terminal)
    UNDELIVERED = "undelivered"  # the carrier could not deliver it (terminal)
    FAILED = "failed"  # refused by the carrier or given up (terminal)
    CANCELED = "canceled"  # canceled before it left (terminal)
    RECEIVED = "received"  # an inbound text (terminal)

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset(
    {Status.DELIVERED, Status.UNDELIVERED, Status.FAILED, Status.CANCELED, Status.RECEIVED}
)

# Rank along the forward path; a move is allowed only to a higher rank.
_RANK = {
    Status.PENDING: 0,
    Status.SENDING: 1,
    Status.SENT: 2,
    Status.DELIVERED: 3,
    Status.UNDELIVERED: 3,
    Status.FAILED: 3,
    Status.CANCELED: 3,
    Status.RECEIVED: 3,
}

TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset({Status.SENDING, Status.SENT, Status.DELIVERED, Status.UNDELIVERED,
                               Status.FAILED, Status.CANCELED}),
    Status.SENDING: frozenset({Status.PENDING, Status.SENT, Status.DELIVERED, Status.UNDELIVERED,
                               Status.FAILED}),
    Status.SENT: frozenset({Status.DELIVERED, Status.UNDELIVERED, Status.FAILED}),
    Status.DELIVERED: frozenset(),
    Status.UNDELIVERED: frozenset(),
    Status.FAILED: frozenset(),
    Status.CANCELED: frozenset(),
    Status.RECEIVED: frozenset(),
}
# SENDING → PENDING is the one step back: a transient carrier error returns the text to the
# queue for a retry; it never happens after the carrier accepted the text.


def can_move(current: Status, new: Status) -> bool:
    """Whether a message may move from `current` to `new` (forward only, terminal sticky)."""
    return new in TRANSITIONS[current]


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


def rank(status: Status) -> int:
    return _RANK[status]
