"""A value a page shows once, after its form redirects (a webhook's new signing secret): sealed
in a short-lived cookie that only one page path receives, bound to the staff session, and
cleared by the GET that shows it (decision 0110)."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from fastapi import Request
from fastapi.responses import Response

from textdesk.kit.cookies import session_secret
from textdesk.kit.web import state
from textdesk.practice.auth import Staff

COOKIE = "textdesk_shown_once"
TTL_SECONDS = 300  # long enough to follow the redirect; a stale one is never shown
_CONTEXT = b"textdesk shown once v1"


def _fernet(request: Request, staff: Staff) -> Fernet:
    # Keyed by the session too: no other session, even in the same browser, can open it.
    digest = hashlib.sha256(_CONTEXT + session_secret(request).encode() + b"\0"
                            + staff.token.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _secure(request: Request) -> bool:
    return state(request).settings.public_url.startswith("https://")


def keep(request: Request, response: Response, staff: Staff, path: str,
         value: dict[str, Any], now: datetime) -> None:
    """Seal `value` into the redirect for the next GET of `path` only."""
    sealed = _fernet(request, staff).encrypt_at_time(json.dumps(value).encode(),
                                                     int(now.timestamp()))
    response.set_cookie(COOKIE, sealed.decode(), max_age=TTL_SECONDS, path=path,
                        httponly=True, samesite="strict", secure=_secure(request))


def take(request: Request, staff: Staff, now: datetime) -> dict[str, Any] | None:
    """The value kept for this page, if it is this session's and fresh; `forget` it after."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        opened = _fernet(request, staff).decrypt_at_time(raw.encode(), TTL_SECONDS,
                                                         int(now.timestamp()))
        found = json.loads(opened)
    except (InvalidToken, ValueError):
        return None
    return found if isinstance(found, dict) else None


def forget(request: Request, response: Response, path: str) -> None:
    """Clear the cookie: a reload, or the back button, shows nothing again."""
    if COOKIE in request.cookies:
        response.delete_cookie(COOKIE, path=path, httponly=True, samesite="strict",
                               secure=_secure(request))
