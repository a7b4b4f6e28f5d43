from datetime import UTC, datetime, timedelta

import pytest

from textdesk.domain.connector import CONNECTOR_DOWN_AFTER, is_alive

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(("last", "alive"), [
    (None, False),
    (NOW, True),
    (NOW - CONNECTOR_DOWN_AFTER, True),
    (NOW - CONNECTOR_DOWN_AFTER - timedelta(seconds=1), False),
])
def test_alive_within_the_down_after_window(last: datetime | None, alive: bool) -> None:
    assert is_alive(last, NOW) is alive
