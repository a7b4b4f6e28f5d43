"""Sign-in rules: the wait after repeated failures, forgetting them, plausible e-mails."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from textdesk.domain.signin import counted_failures, delay_after, is_plausible_email

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(("failures", "seconds"), [
    (0, 0), (1, 0), (5, 0), (6, 1), (7, 2), (8, 4), (10, 16), (15, 512), (16, 900), (40, 900),
])
def test_delay_doubles_after_the_free_failures_up_to_a_cap(failures: int, seconds: int) -> None:
    assert delay_after(failures) == timedelta(seconds=seconds)


@pytest.mark.parametrize(("last", "counted"), [
    (None, 0), (T0 - timedelta(minutes=59), 7), (T0 - timedelta(hours=1), 7),
    (T0 - timedelta(hours=1, seconds=1), 0),
])
def test_a_quiet_hour_forgets_failures(last: datetime | None, counted: int) -> None:
    assert counted_failures(7, last, T0) == counted


@pytest.mark.parametrize(("email", "ok"), [
    ("dana@example.com", True), (" Dana@Example.COM ", True), ("dana@localhost", False),
    ("dana.example.com", False), ("@example.com", False), ("da na@example.com", False),
    ("", False), ("a@b." + "c" * 260, False),
])
def test_plausible_emails(email: str, ok: bool) -> None:
    assert is_plausible_email(email) is ok
