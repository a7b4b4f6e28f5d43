"""Integration use cases: connect a practice's system, its status, sync now, and the
connector's periodic job that syncs each connected practice in turn."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlparse

from sqlalchemy.orm import Session

from textdesk.config import Settings
from textdesk.domain.errors import Invalid, NotFound
from textdesk.domain.integrations import is_behind
from textdesk.integrations import secrets, store, sync, systems
from textdesk.integrations.base import ErrorKind, PracticeSystem
from textdesk.storage import directory as practice_store
from textdesk.storage.db import Database
from textdesk.storage.models import Practice, SystemConnection

log = logging.getLogger(__name__)
OPEN_DENTAL, FHIR = systems.OPEN_DENTAL, systems.FHIR
SYSTEMS = {name: system.label for name, system in systems.SYSTEMS.items()}
# What staff read, and do, for each way an Open Dental sync can fail (see `systems`).
FIXES = systems.SYSTEMS[OPEN_DENTAL].fixes
BEHIND_FIX = systems.SYSTEMS[OPEN_DENTAL].behind_fix


@dataclass(frozen=True)
class SyncState:
    """What the status API, the Health page and `doctor` say about a connection."""

    system: str
    status: str  # not_synced_yet | syncing | ok | failing
    base_url: str
    last_sync_at: datetime | None
    last_attempt_at: datetime | None
    error_kind: str | None
    error_message: str | None
    fix: str | None
    write_back_waiting: int
    write_back_failed: int
    write_back_behind: bool
    counts: dict[str, Any]
    clinics: dict[str, int]
    behind_fix: str = BEHIND_FIX  # what to do when write-back is behind
    refused_fix: str = FIXES[ErrorKind.REJECTED]  # … when items were refused
    secrets_set: tuple[str, ...] = ()  # which secrets are stored (never their values)
    clinic_id: int | None = None  # the textdesk clinic for what the map does not name


def connect(session: Session, practice: Practice, system: str, data: dict[str, Any],
            settings: Settings, now: datetime) -> SystemConnection:
    """Store the connection (secrets sealed); a changed address or clinic map starts a full
    import. A practice writes back to one system: connecting one switches the others off.

    A secret, `clinic_id` or `clinics` absent from `data` keeps its stored value; a stored
    secret is kept only for the address it was entered for (decision 0110)."""
    kind = systems.SYSTEMS[system]
    base_url = str(data.get("base_url") or "").strip().rstrip("/")
    if urlparse(base_url).scheme not in ("http", "https") or not urlparse(base_url).netloc:
        raise Invalid("invalid_base_url", f"base_url must be an http(s) URL, e.g. "
                                          f"{kind.example_url}.")
    connection = store.get_connection(session, practice.id, system)
    sealed = _sealed(kind, data, connection, base_url, settings)
    clinic_id = data.get("clinic_id", connection.clinic_id if connection is not None else None)
    _check_clinic(session, practice, clinic_id)
    clinic_map = (_clinic_map(session, practice, data["clinics"]) if "clinics" in data
                  else dict(connection.clinic_map or {}) if connection is not None else {})
    for other in store.connections_of(session, practice.id):
        if other.system != system:
            other.is_enabled, other.updated_at = False, now
    if connection is None:
        connection = SystemConnection(practice_id=practice.id, system=system,
                                      created_at=now, last_counts={})
    elif connection.base_url != base_url or (connection.clinic_map or {}) != clinic_map:
        store.clear_cursors(session, practice.id, system)  # read it all (again)
    connection.base_url = base_url
    connection.developer_key_sealed = sealed.get("developer_key_sealed") or ""
    connection.customer_key_sealed = sealed.get("customer_key_sealed") or ""
    connection.token_sealed = sealed.get("token_sealed")
    connection.clinic_map, connection.clinic_id = clinic_map, clinic_id
    connection.is_enabled = True
    connection.sync_due_at = now
    connection.last_error_kind = connection.last_error = None
    connection.updated_at = now
    session.add(connection)
    session.flush()
    return connection


def _sealed(kind: systems.System, data: dict[str, Any], connection: SystemConnection | None,
            base_url: str, settings: Settings) -> dict[str, str | None]:
    """Each secret's sealed column: a given value sealed (an empty one stored as none), or an
    absent one's stored value while the address is unchanged: a stored key is never sent to
    an address it was not entered for."""
    same_place = connection is not None and connection.base_url == base_url
    sealed: dict[str, str | None] = {}
    for name in kind.secrets:
        column = systems.SECRET_COLUMNS[name]
        stored = getattr(connection, column) if same_place else None
        if name not in data and stored:
            sealed[column] = stored
            continue
        value = str(data.get(name) or "").strip()
        if len(value) > 4000 or (name in kind.required and not value):
            again = (" The address changed: enter it again." if connection is not None
                     and not same_place and name not in data else "")
            raise Invalid(f"invalid_{name}",
                          f"{name} is required (at most 4000 characters).{again}", field=name)
        sealed[column] = secrets.seal(settings.secret_key, value) if value else None
    return sealed


def set_clinics(session: Session, practice: Practice, system: str, clinics: Any,
                clinic_id: int | None, now: datetime) -> SystemConnection:
    """Change only the clinic map (the system's clinic ids → textdesk clinics) and the clinic
    for the rest; a changed map reads everything again at the next sync."""
    connection = _connection(session, practice.id, system)
    _check_clinic(session, practice, clinic_id)
    clinic_map = _clinic_map(session, practice, clinics)
    if (connection.clinic_map or {}) != clinic_map:
        store.clear_cursors(session, practice.id, system)
        connection.sync_due_at = now
    connection.clinic_map, connection.clinic_id = clinic_map, clinic_id
    connection.updated_at = now
    session.flush()
    return connection


def _check_clinic(session: Session, practice: Practice, clinic_id: Any) -> None:
    if clinic_id is not None and (not isinstance(clinic_id, int) or practice_store.get_clinic(
            session, practice.id, clinic_id) is None):
        raise NotFound("clinic_not_found", "No such clinic.", field="clinic_id")


def _clinic_map(session: Session, practice: Practice, given: Any) -> dict[str, int]:
    """The system's clinic ids (Open Dental ClinicNum) → textdesk clinics of the practice."""
    if given is None:
        return {}
    if not isinstance(given, dict) or len(given) > 500:
        raise Invalid("invalid_clinics", "clinics maps the system's clinic ids to textdesk "
                                         "clinic ids, e.g. {\"2\": 7}.")
    clinics = {clinic.id for clinic in practice_store.list_clinics(session, practice.id)}
    mapped: dict[str, int] = {}
    for key, value in given.items():
        external = str(key).strip()
        if not external.isdigit() or len(external) > 20 or external == "0":
            raise Invalid("invalid_clinics", f"{external!r} is not a clinic id of the system "
                                             "(a positive number; 0 is \"no clinic\").")
        if not isinstance(value, int) or isinstance(value, bool) or value not in clinics:
            raise NotFound("clinic_not_found", f"No clinic {value!r} in this practice.")
        mapped[external] = value
    return mapped


def request_sync(session: Session, practice_id: int, system: str, now: datetime) -> None:
    """Sync at the connector's next turn (a request never calls the practice system)."""
    connection = _connection(session, practice_id, system)
    connection.sync_due_at = now
    connection.updated_at = now


def state(session: Session, practice_id: int, system: str, now: datetime) -> SyncState | None:
    connection = store.get_connection(session, practice_id, system)
    if connection is None:
        return None
    waiting, oldest = store.waiting(session, practice_id, system)
    if connection.lease_until is not None and connection.lease_until > now:
        status = "syncing"
    elif connection.last_error_kind:
        status = "failing"
    else:
        status = "ok" if connection.last_sync_at else "not_synced_yet"
    kind = ErrorKind(connection.last_error_kind) if connection.last_error_kind else None
    fixes = systems.SYSTEMS[system]
    if not connection.is_enabled:
        status = "off"
    return SyncState(system, status, connection.base_url, connection.last_sync_at,
                     connection.last_attempt_at, kind.value if kind else None,
                     connection.last_error, fixes.fixes[kind] if kind else None, waiting,
                     store.failed_count(session, practice_id, system),
                     is_behind(oldest, now), dict(connection.last_counts or {}),
                     {str(k): int(v) for k, v in (connection.clinic_map or {}).items()},
                     fixes.behind_fix, fixes.fixes[ErrorKind.REJECTED],
                     tuple(name for name in fixes.secrets
                           if getattr(connection, systems.SECRET_COLUMNS[name])),
                     connection.clinic_id)


def states(session: Session, practice_id: int, now: datetime) -> list[SyncState]:
    found = (state(session, practice_id, system, now) for system in SYSTEMS)
    return [s for s in found if s is not None and s.status != "off"]


def opener(settings: Settings) -> sync.Opener:
    """How the connector opens a practice's system with its unsealed secrets."""
    def open_system(connection: SystemConnection, timezone: str) -> PracticeSystem:
        kind = systems.SYSTEMS[connection.system]
        unsealed = {}
        for name in kind.secrets:
            sealed = getattr(connection, systems.SECRET_COLUMNS[name])
            unsealed[name] = secrets.unseal(settings.secret_key, sealed) if sealed else ""
        return kind.open(connection.base_url, unsealed, timezone)
    return open_system


def run(db: Database, now: datetime, settings: Settings,
        open_system: sync.Opener | None = None) -> int:
    """The connector's job: each practice due for a sync, one at a time; the others only send
    their write-back outbox. A practice another connector holds is left to it."""
    open_system = open_system or opener(settings)
    every = timedelta(minutes=settings.practice_system_sync_minutes)
    with db.transaction() as session:
        due = set(store.due_connections(session, now))
        writing = {(p, s) for p, s in store.enabled_connections(session)
                   if store.has_due_items(session, p, s, now)}
    done = 0
    for practice_id, system in sorted(due | writing):
        is_due = (practice_id, system) in due
        result = sync.sync_practice(db, practice_id, system, open_system, now, tables=is_due)
        if result.ran and is_due:
            with db.transaction() as session:
                connection = _connection(session, practice_id, system)
                connection.sync_due_at = now + every
        done += sum(result.counts.values())
    return done


def _connection(session: Session, practice_id: int, system: str) -> SystemConnection:
    connection = store.get_connection(session, practice_id, system)
    if connection is None:
        raise NotFound("integration_not_connected",
                       f"{SYSTEMS.get(system, system)} is not connected for this practice.")
    return connection
