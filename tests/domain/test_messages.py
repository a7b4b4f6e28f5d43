import pytest

from textdesk.domain.messages import TERMINAL, Status, can_move, status_from_carrier

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
