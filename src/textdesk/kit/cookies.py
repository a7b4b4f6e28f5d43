"""Signed cookies: the staff session and the sign-in nonce, signed with the session secret."""

from __future__ import annotations

import secrets

from fastapi import FastAPI, Request
from itsdangerous import BadSignature, Signer

SESSION_COOKIE = "textdesk_session"
SIGNIN_COOKIE = "textdesk_signin"  # a nonce that ties the sign-in form to this browser


def session_secret(request: Request) -> str:
    return request.app.state.session_secret  # type: ignore[no-any-return]


def ensure_session_secret(app: FastAPI, configured: str | None) -> str:
    """The configured secret, or one made for this process (sessions end on restart)."""
    app.state.session_secret = configured or secrets.token_urlsafe(48)
    return app.state.session_secret  # type: ignore[no-any-return]


def _signer(request: Request, salt: str) -> Signer:
    return Signer(session_secret(request), salt=salt)


def sign_cookie(request: Request, value: str, salt: str = SESSION_COOKIE) -> str:
    return _signer(request, salt).sign(value).decode()


def read_cookie(request: Request, name: str) -> str | None:
    raw = request.cookies.get(name)
    if not raw:
        return None
    try:
        return _signer(request, name).unsign(raw).decode()
    except BadSignature:
        return None
