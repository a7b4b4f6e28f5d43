import pytest

from textdesk.domain.messages import (
    MOVES,
    TERMINAL,
    Status,
    Step,
    can_move,
    can_take,
    claim_move,
    describe_retry,
    status_from_carrier,
    tell_event,
)

FORWARD = [
    (Status.PENDING, Status.SENDING), (Status.SENDING, Status.SENT),
    (Status.SENT, Status.DELIVERED), (Status.SENT, Status.UNDELIVERED),
    (Status.SENDING, Status.FAILED), (Status.PENDING, Status.CANCELED),
    (Status.PENDING, Status.DELIVERED),  # a late "sent" may never come
    (Status.SENDING, Status.PENDING),  # transient carrier error: back to the queue
]
BACKWARD = [
    (Status.DELIVERED, Status.SENT), (Status.SENT, Status.SENDING), (Status.SENT, Status.PENDING),
    (Status.FAILED, Status.DELIVERED), (Status.UNDELIVERED, Status.DELIVERED),
    (Status.CANCELED, Status.SENDING), (Status.DELIVERED, Status.FAILED),
    (Status.SENT, Status.CANCELED),
]


@pytest.mark.parametrize(("current", "new"), FORWARD)
def test_forward_moves_are_allowed(current: Status, new: Status) -> None:
    assert can_move(current, new)


@pytest.mark.parametrize(("current", "new"), BACKWARD)
def test_backward_moves_are_refused(current: Status, new: Status) -> None:
    assert not can_move(current, new)


@pytest.mark.parametrize("terminal", sorted(TERMINAL))
def test_terminal_statuses_are_sticky(terminal: Status) -> None:
    assert not any(can_move(terminal, other) for other in Status)


@pytest.mark.parametrize(("word", "status"), [
    ("queued", Status.SENT), ("sent", Status.SENT), ("delivered", Status.DELIVERED),
    ("undelivered", Status.UNDELIVERED), ("failed", Status.FAILED), ("DELIVERED", Status.DELIVERED),
])
def test_carrier_words_map_onto_statuses(word: str, status: Status) -> None:
    assert status_from_carrier(word) is status


def test_unknown_carrier_word_is_none() -> None:
    assert status_from_carrier("teleported") is None


@pytest.mark.parametrize("step", [Step.RETRY, Step.REQUEUE])
def test_the_two_returns_to_the_queue_are_named_steps_from_sending(step: Step) -> None:
    assert (MOVES[step].sources, MOVES[step].target) == ({Status.SENDING}, Status.PENDING)
    assert not can_take(step, Status.SENT)  # never after the carrier accepted it


def test_the_claim_statements_take_what_the_table_says() -> None:
    assert claim_move() == ({Status.PENDING}, Status.SENDING)


def test_a_retry_is_told_as_the_next_attempt() -> None:
    note = describe_retry(2, 8, 500, None)
    assert note == "attempt 2 of 8 after the carrier answered 500"
    assert tell_event("pending", "retry", note) == f"Retry scheduled: {note}"
    assert describe_retry(3, 8, None, 20003) == (
        "attempt 3 of 8 after the carrier did not answer (error 20003)")
    assert tell_event("delivered", None, None) == "Delivered"
