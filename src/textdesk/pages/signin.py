"""Signing in and out of the staff pages."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from textdesk.kit.web import SessionDep, state
from textdesk.pages.common import (
    SESSION_COOKIE,
    SIGNIN_COOKIE,
    CsrfDep,
    clear_cookie,
    read_cookie,
    redirect,
    render,
    session_secret,
    set_cookie,
)
from textdesk.practice import auth

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only a path on this site: `next` must never send someone elsewhere after sign-in."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/inbox"
    return target


def _form(request: Request, *, next_url: str, email: str = "", error: str | None = None,
          status_code: int = 200) -> Response:
    nonce = read_cookie(request, SIGNIN_COOKIE) or secrets.token_urlsafe(24)
    response = render(request, "signin.html", status_code=status_code, email=email, error=error,
                      next_url=next_url,
                      signin_token=auth.csrf_token(session_secret(request), nonce, "signin"))
    set_cookie(request, response, SIGNIN_COOKIE, nonce, max_age=3600)
    return response


@router.get("/signin")
def signin_form(request: Request, session: SessionDep, next: str | None = None) -> Response:
    app = state(request)
    if auth.look_up(session, read_cookie(request, SESSION_COOKIE), app.clock.now()).staff:
        return redirect(safe_next(next))
    return _form(request, next_url=safe_next(next))


@router.post("/signin")
def signin(request: Request, session: SessionDep, email: str = Form(""),
           password: str = Form(""), csrf_token: str = Form(""),
           next: str = Form("/inbox")) -> Response:
    next_url = safe_next(next)
    nonce = read_cookie(request, SIGNIN_COOKIE)
    if not auth.csrf_matches(session_secret(request), nonce, csrf_token, "signin"):
        return _form(request, next_url=next_url, email=email, status_code=403,
                     error="The sign-in form expired. Please try again.")
    client = request.client.host if request.client else "unknown"
    result = auth.sign_in(session, email, password, client, state(request).clock.now())
    if result.error == "signin_throttled":
        return _form(request, next_url=next_url, email=email, status_code=429,
                     error=f"Too many failed sign-ins. Wait {result.retry_after_seconds} "
                           "seconds, then try again.")
    if result.token is None:
        return _form(request, next_url=next_url, email=email, status_code=401,
                     error="Wrong e-mail or password.")
    response = redirect(next_url)
    set_cookie(request, response, SESSION_COOKIE, result.token)
    clear_cookie(request, response, SIGNIN_COOKIE)
    return response


@router.post("/signout", dependencies=[CsrfDep])
def signout(request: Request, session: SessionDep) -> Response:
    auth.sign_out(session, read_cookie(request, SESSION_COOKIE), state(request).clock.now())
    response = redirect("/signin", "signed_out")
    clear_cookie(request, response, SESSION_COOKIE)
    return response
