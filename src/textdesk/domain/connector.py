"""When the connector counts as alive: the one rule behind `connector_down`, status and health."""

from __future__ import annotations

from datetime import datetime, timedelta

# A few missed heartbeats (every 2 s by default) before staff are told it is down.
CONNECTOR_DOWN_AFTER = timedelta(seconds=15)


def is_alive(last_heartbeat_at: datetime | None, now: datetime,
             down_after: timedelta = CONNECTOR_DOWN_AFTER) -> bool:
    return last_heartbeat_at is not None and now - last_heartbeat_at <= down_after
