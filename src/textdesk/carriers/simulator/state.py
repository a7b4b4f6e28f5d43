"""The simulator's memory: texts it holds, behaviours it plays, callbacks it sent."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from textdesk.carriers.simulator.protocol import SimMedia, SimMessage

LANDLINE_STATUSES = ("undelivered", "failed")
KEYWORD_REPLIES = ("carrier", "textdesk")  # who answers STOP / START / HELP on a number
DEFAULT_KEYWORD_REPLIES = "carrier"  # Twilio's default on long codes and toll-free numbers
_RANK = {"accepted": 0, "queued": 0, "sending": 1, "sent": 2, "delivered": 3,
         "undelivered": 3, "failed": 3, "received": 3}


@dataclass
class Behaviour:
    """What the simulated carrier does besides accepting and delivering."""

    fail_next: int = 0  # answer the next N creates with `fail_status`, without taking them
    fail_status: int = 500  # 500 | 503 | 429 (any 4xx/5xx)
    latency_ms: float = 0  # delay before answering a create (longer than a timeout: ambiguity)
    latency_jitter_ms: float = 0  # each answer comes up to this much sooner or later
    account_creates_per_second: float = 0  # above it: 429 / 20429 (0: no limit)
    number_segments_per_second: float = 0  # a number's queue drains at this rate (0: no queue)
    queue_seconds: float = 0  # a number's queue holds this much backlog; beyond: 429 / 30001
    duplicate_callbacks: bool = False  # every status callback is POSTed twice
    reorder_callbacks: bool = False  # the final status is reported before `sent`
    callback_delay_ms: float = 0  # status callbacks start this long after the answer
    filter_links: bool = False  # a text holding a link ends `undelivered` with 30007
    fetch_media: bool = False  # GET each MediaUrl of a create, as Twilio does; 11200 if it fails

    def updated(self, changes: Mapping[str, Any]) -> Behaviour:
        """A copy with `changes` applied; raises ValueError on an unknown or bad value."""
        known = {f.name: f for f in fields(self)}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown setting {name!r}")
            _check_value(name, value, known[name].type)
        return dataclasses.replace(self, **dict(changes))

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _check_value(name: str, value: Any, type_name: object) -> None:
    if type_name in (bool, "bool"):
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false")
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name} must be a number >= 0")
    if type_name in (int, "int") and not float(value).is_integer():
        raise ValueError(f"{name} must be a whole number")
    if name == "fail_status" and not 400 <= value <= 599:
        raise ValueError("fail_status must be an HTTP error status (400-599)")


class SimulatorState:
    """Thread-safe: uvicorn's threadpool, the event loop and the callback worker share it."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._messages: dict[str, SimMessage] = {}
        self._landlines: dict[str, str] = {}
        self._callbacks: list[dict[str, Any]] = []
        self._inbound: list[dict[str, Any]] = []
        self._media: dict[str, tuple[SimMedia, str]] = {}  # ME sid → file, its message sid
        self._keyword_replies: dict[str, str] = {}  # number → carrier | textdesk
        self._opted_out: set[tuple[str, str]] = set()  # (sender: service or number, phone)
        self._auto_replies: list[dict[str, Any]] = []  # the carrier's own keyword answers
        self._services: dict[str, list[str]] = {}  # messaging service sid → its numbers
        self.behaviour = Behaviour()

    # -- texts ------------------------------------------------------------------------------
    def add(self, message: SimMessage) -> None:
        with self._lock:
            self._messages[message.sid] = message
            for item in message.media:
                self._media[item.sid] = (item, message.sid)

    def media_file(self, media_sid: str) -> tuple[SimMedia, str] | None:
        """A file a simulated patient sent, and the sid of the text it came with."""
        with self._lock:
            return self._media.get(media_sid)

    def get(self, sid: str) -> SimMessage | None:
        with self._lock:
            message = self._messages.get(sid)
            return dataclasses.replace(message) if message else None

    def outbound(self, from_: str | None = None, to: str | None = None) -> list[SimMessage]:
        """Outbound texts in arrival order."""
        with self._lock:
            return [dataclasses.replace(m) for m in self._messages.values()
                    if m.direction != "inbound" and (from_ is None or m.from_ == from_)
                    and (to is None or m.to == to)]

    def query(self, *, to: str | None, from_: str | None, sent_after: date | None,
              sent_before: date | None) -> list[SimMessage]:
        """Texts as Twilio lists them: newest first, filtered like its Messages list."""
        with self._lock:
            found = [dataclasses.replace(m) for m in self._messages.values()
                     if (to is None or m.to == to) and (from_ is None or m.from_ == from_)
                     and _within(m.date_sent or m.date_created, sent_after, sent_before)]
        return list(reversed(found))

    def apply_status(self, sid: str, status: str, error_code: int | None,
                     now: datetime) -> None:
        """Move a text's status forward (never back, however callbacks are ordered)."""
        with self._lock:
            message = self._messages.get(sid)
            if message is None or _RANK.get(status, 0) <= _RANK.get(message.status, 0):
                return
            message.status, message.date_updated = status, now
            if status != "failed":
                message.date_sent = message.date_sent or now
            if error_code is not None:
                message.error_code = error_code

    # -- behaviours -------------------------------------------------------------------------
    def configure(self, changes: Mapping[str, Any]) -> Behaviour:
        with self._lock:
            self.behaviour = self.behaviour.updated(changes)
            return self.behaviour

    def take_injected_failure(self) -> int | None:
        """The HTTP status to fail this create with, counting it off `fail_next`."""
        with self._lock:
            if self.behaviour.fail_next <= 0:
                return None
            self.behaviour = dataclasses.replace(
                self.behaviour, fail_next=int(self.behaviour.fail_next) - 1)
            return self.behaviour.fail_status

    def set_landline(self, number: str, status: str = "undelivered") -> None:
        if status not in LANDLINE_STATUSES:
            raise ValueError(f"status must be one of {', '.join(LANDLINE_STATUSES)}")
        with self._lock:
            self._landlines[number] = status

    def remove_landline(self, number: str) -> bool:
        with self._lock:
            return self._landlines.pop(number, None) is not None

    def landline_status(self, number: str) -> str | None:
        with self._lock:
            return self._landlines.get(number)

    def landlines(self) -> dict[str, str]:
        with self._lock:
            return dict(self._landlines)

    # -- keywords the carrier answers itself, and its opt-outs -------------------------------
    def set_keyword_replies(self, number: str, owner: str) -> None:
        if owner not in KEYWORD_REPLIES:
            raise ValueError(f"keyword_replies must be one of {', '.join(KEYWORD_REPLIES)}")
        with self._lock:
            self._keyword_replies[number] = owner

    def keyword_replies(self, number: str) -> str:
        with self._lock:
            return self._keyword_replies.get(number, DEFAULT_KEYWORD_REPLIES)

    def numbers(self) -> dict[str, str]:
        with self._lock:
            return dict(self._keyword_replies)

    def sender_key(self, number: str) -> str:
        """Opt-outs are kept per messaging service, or per number outside one (as Twilio)."""
        return self.service_of(number) or number

    def opt_out(self, sender: str, phone: str) -> None:
        with self._lock:
            self._opted_out.add((sender, phone))

    def opt_in(self, sender: str, phone: str) -> None:
        with self._lock:
            self._opted_out.discard((sender, phone))

    def is_opted_out(self, sender: str, phone: str) -> bool:
        with self._lock:
            return (sender, phone) in self._opted_out

    def record_auto_reply(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._auto_replies.append(entry)

    def auto_replies(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(entry) for entry in self._auto_replies]

    # -- messaging services -----------------------------------------------------------------
    def set_service(self, sid: str, numbers: list[str]) -> None:
        with self._lock:
            self._services[sid] = list(numbers)

    def service_numbers(self, sid: str) -> list[str] | None:
        with self._lock:
            found = self._services.get(sid)
            return list(found) if found is not None else None

    def service_of(self, number: str) -> str | None:
        with self._lock:
            return next((sid for sid, pool in self._services.items() if number in pool), None)

    def services(self) -> dict[str, list[str]]:
        with self._lock:
            return {sid: list(pool) for sid, pool in self._services.items()}

    # -- what happened ----------------------------------------------------------------------
    def record_callback(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._callbacks.append(entry)

    def callbacks(self, sid: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(c) for c in self._callbacks if sid is None or c["sid"] == sid]

    def record_inbound(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._inbound.append(entry)

    def inbound(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(entry) for entry in self._inbound]

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {"messages": len(self._messages), "callbacks": len(self._callbacks),
                    "inbound": len(self._inbound)}

    def reset(self) -> None:
        with self._lock:
            self._messages.clear()
            self._landlines.clear()
            self._callbacks.clear()
            self._inbound.clear()
            self._media.clear()
            self._keyword_replies.clear()
            self._opted_out.clear()
            self._auto_replies.clear()
            self._services.clear()
            self.behaviour = Behaviour()


def _within(moment: datetime, after: date | None, before: date | None) -> bool:
    day = moment.date()
    return (after is None or day >= after) and (before is None or day <= before)
