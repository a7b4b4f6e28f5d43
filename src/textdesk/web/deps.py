"""Request dependencies: the app's services, the unit of work and who is calling."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from textdesk.config import Settings
from textdesk.domain.errors import Unauthorized
from textdesk.services.clock import Clock
from textdesk.services.practices import hash_token
from textdesk.storage import practices as practice_store
from textdesk.storage.db import Database
from textdesk.storage.models import Practice


@dataclass
class AppState:
    settings: Settings
    db: Database
    clock: Clock


def state(request: Request) -> AppState:
    return request.app.state.textdesk  # type: ignore[no-any-return]


def session_scope(request: Request) -> Iterator[Session]:
    """One request, one transaction: committed when the handler returns, rolled back on error."""
    with state(request).db.transaction() as session:
        yield session


# scope="function": commit before the response leaves, never after the client has it.
SessionDep = Annotated[Session, Depends(session_scope, scope="function")]
StateDep = Annotated[AppState, Depends(state)]


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("unauthorized", "Send Authorization: Bearer <token>.")
    return token.strip()


def current_practice(request: Request, session: SessionDep) -> Practice:
    token = _bearer(request)
    practice = practice_store.practice_by_token_hash(session, hash_token(token))
    if practice is None:
        raise Unauthorized("unauthorized", "Unknown token.")
    return practice


def require_admin(request: Request) -> None:
    token = _bearer(request)
    admin = state(request).settings.admin_token
    if not admin or not hmac.compare_digest(token.encode(), admin.encode()):
        raise Unauthorized("unauthorized", "The operator token is required.")


PracticeDep = Annotated[Practice, Depends(current_practice)]
