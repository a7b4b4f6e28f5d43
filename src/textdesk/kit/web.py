"""Request dependencies: the app's services, the unit of work and who is calling."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Security
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from textdesk.config import Settings
from textdesk.domain.errors import Unauthorized
from textdesk.domain.signin import hash_token
from textdesk.kit.clock import Clock
from textdesk.kit.schemas import ERRORS
from textdesk.storage import directory as practice_store
from textdesk.storage.db import Database
from textdesk.storage.models import Practice


@dataclass
class AppState:
    settings: Settings
    db: Database
    clock: Clock


def state(request: Request) -> AppState:
    return request.app.state.textdesk  # type: ignore[no-any-return]


READ_METHODS = frozenset({"GET", "HEAD"})


def session_scope(request: Request) -> Iterator[Session]:
    """One request, one transaction: committed when the handler returns, rolled back on error.

    A GET or HEAD only reads (no GET changes a row): its transaction is read-only, so on
    SQLite it never takes or waits for the write lock (decision 0185).
    """
    db = state(request).db
    with db.read() if request.method in READ_METHODS else db.transaction() as session:
        yield session


def write_scope(request: Request) -> Iterator[Session]:
    """A transaction that may write, whatever the method (a GET that marks texts read)."""
    with state(request).db.transaction() as session:
        yield session


# scope="function": commit before the response leaves, never after the client has it.
SessionDep = Annotated[Session, Depends(session_scope, scope="function")]
WriteSessionDep = Annotated[Session, Depends(write_scope, scope="function")]
StateDep = Annotated[AppState, Depends(state)]


# Declared in OpenAPI on every protected operation; auto_error=False keeps our own 401 shape.
bearer_scheme = HTTPBearer(auto_error=False, scheme_name="bearer",
                           description="A practice's API token, or the operator token for "
                                       "/api/v1/admin/*.")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)]


def bearer_token(authorization: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _bearer(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or not credentials.credentials.strip():
        raise Unauthorized("unauthorized", "Send Authorization: Bearer <token>.")
    return credentials.credentials.strip()


def practice_for_token(session: Session, token: str) -> Practice | None:
    return practice_store.practice_by_token_hash(session, hash_token(token))


def current_practice(credentials: BearerDep, session: SessionDep) -> Practice:
    practice = practice_for_token(session, _bearer(credentials))
    if practice is None:
        raise Unauthorized("unauthorized", "Unknown token.")
    return practice


@dataclass(frozen=True)
class Caller:
    """The calling practice, read in a short transaction of its own that is over before the
    handler's opens: what a request needs to parse an upload before it takes a write lock."""

    practice_id: int
    default_country: str
    timezone: str


def calling_practice(request: Request, credentials: BearerDep) -> Caller:
    token = _bearer(credentials)
    with state(request).db.transaction() as session:
        practice = practice_for_token(session, token)
        if practice is None:
            raise Unauthorized("unauthorized", "Unknown token.")
        return Caller(practice.id, practice.default_country, practice.timezone)


CallerDep = Annotated[Caller, Depends(calling_practice)]


def require_admin(request: Request, credentials: BearerDep) -> None:
    token = _bearer(credentials)
    admin = state(request).settings.admin_token
    if not admin or not hmac.compare_digest(token.encode(), admin.encode()):
        raise Unauthorized("unauthorized", "The operator token is required.")


PracticeDep = Annotated[Practice, Depends(current_practice)]


_CALLER = "textdesk_caller"  # (token, practice id) a middleware already looked up


def remember_caller(scope: Any, token: str, practice_id: int) -> None:
    """Keep a bearer token's practice on the request, so the route does not look it up again."""
    scope.setdefault("state", {})[_CALLER] = (token, practice_id)


def current_practice_id(request: Request, credentials: BearerDep) -> int:
    """The calling practice's id, read in a read-only transaction of its own: for a route
    that runs its unit of work itself, in one thread, holding SQLite's write lock only while
    it writes (decision 0187)."""
    token = _bearer(credentials)
    known = request.scope.get("state", {}).get(_CALLER)
    if known is not None and hmac.compare_digest(known[0], token):
        return int(known[1])
    with state(request).db.read() as session:
        practice = practice_for_token(session, token)
        if practice is None:
            raise Unauthorized("unauthorized", "Unknown token.")
        return practice.id


PracticeIdDep = Annotated[int, Depends(current_practice_id)]


class ApiRoute(APIRoute):
    """A JSON route: the response carries the keys the view gave, no schema defaults added."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["response_model_exclude_unset"] = True
        super().__init__(*args, **kwargs)


def api_router(prefix: str = "/api/v1", **kwargs: Any) -> APIRouter:
    """A router of the JSON API: its error answers documented, keys kept as the views give."""
    return APIRouter(prefix=prefix, route_class=ApiRoute, responses=ERRORS, **kwargs)
