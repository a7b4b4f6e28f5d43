"""The practice-system protocol: what a sync and a write-back need from any system.

Adding a system is one module implementing `PracticeSystem` (and one line in
`integrations.systems`). Records are neutral: times are timezone-aware UTC, ids are strings.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Generic, Protocol, TypeVar

T = TypeVar("T")


class TextOk(StrEnum):
    YES = "yes"  # the office recorded that the patient agreed to texts
    NO = "no"  # the office recorded that the patient does not want texts
    UNKNOWN = "unknown"  # nothing recorded: not consent


class ExternalStatus(StrEnum):
    SCHEDULED = "scheduled"  # booked (Open Dental: Scheduled, ASAP)
    CONFIRMED = "confirmed"  # booked and confirmed
    COMPLETED = "completed"  # the visit took place (Complete)
    CANCELLED = "cancelled"  # broken or taken off the schedule (Broken, UnschedList)
    IGNORED = "ignored"  # not a visit (Planned, notes): never imported


@dataclass(frozen=True)
class ExternalPatient:
    external_id: str
    first_name: str
    last_name: str
    wireless_phone: str
    text_ok: TextOk
    is_active: bool  # the system still counts them as a patient
    clinic: str = ""  # the system's clinic id ("" when none: Open Dental's ClinicNum 0)


@dataclass(frozen=True)
class ExternalAppointment:
    external_id: str
    patient_external_id: str
    start_at: datetime
    status: ExternalStatus
    provider: str
    clinic: str = ""  # the system's clinic id ("" when none: the patient's clinic)


@dataclass(frozen=True)
class CommlogEntry:
    """One text on the patient's chart in the practice system."""

    patient_external_id: str
    note: str
    at: datetime
    is_inbound: bool
    key: str = ""  # textdesk's own stable id of the text, for systems that can store one


@dataclass
class Changes(Generic[T]):
    """Rows changed since a cursor, page by page; `cursor` is the system's own clock reading
    to ask from next time (set once the first page has been read)."""

    pages: Iterator[list[T]]
    cursor: str | None = None


class ErrorKind(StrEnum):
    BAD_KEY = "bad_key"  # the system refused our credentials (401/403)
    UNREACHABLE = "unreachable"  # no answer: network, DNS, timeout, the office's service down
    SERVER_ERROR = "server_error"  # it answered 5xx or 429: try again later
    REJECTED = "rejected"  # it refused this request (4xx): retrying will not help


class PracticeSystemError(Exception):
    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message

    @property
    def is_transient(self) -> bool:
        return self.kind in (ErrorKind.UNREACHABLE, ErrorKind.SERVER_ERROR)


class PracticeSystem(Protocol):
    name: str

    def patients_since(self, cursor: str | None) -> Changes[ExternalPatient]: ...

    def appointments_since(self, cursor: str | None) -> Changes[ExternalAppointment]: ...

    def appointment_ids_from(self, start: datetime) -> set[str]:
        """Ids of every appointment on the schedule from `start` on (to find deletions)."""
        ...

    def find_commlog(self, entry: CommlogEntry) -> str | None:
        """The id of a commlog already written for this entry, if any."""
        ...

    def write_commlog(self, entry: CommlogEntry) -> str: ...

    def confirm_appointment(self, external_id: str) -> str: ...

    def set_text_ok(self, patient_external_id: str, text_ok: TextOk) -> str: ...

    def close(self) -> None: ...
