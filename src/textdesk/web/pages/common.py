"""What every staff page shares: templates, the signed-in user, CSRF checks, rendering."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from itsdangerous import BadSignature, Signer
from jinja2 import Environment, PackageLoader, select_autoescape

from textdesk.domain.consent import display_phone
from textdesk.services import auth
from textdesk.services import inbox as inbox_service
from textdesk.services.auth import Staff
from textdesk.web.deps import SessionDep, state

SESSION_COOKIE = "textdesk_session"
SIGNIN_COOKIE = "textdesk_signin"  # a nonce that ties the sign-in form to this browser
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")

templates = Environment(loader=PackageLoader("textdesk.web", "templates"),
                        autoescape=select_autoescape(["html"]), trim_blocks=True,
                        lstrip_blocks=True)


class SignInRequired(Exception):
    """No valid session: pages redirect to the sign-in form, JSON endpoints answer 401."""


class CsrfRefused(Exception):
    """A state-changing request without this session's CSRF token."""


# --- secrets and cookies ----------------------------------------------------------------------

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


def set_cookie(request: Request, response: Response, name: str, value: str,
               max_age: int | None = None) -> None:
    response.set_cookie(name, sign_cookie(request, value, name), max_age=max_age, path="/",
                        httponly=True, samesite="lax",
                        secure=state(request).settings.public_url.startswith("https://"))


def clear_cookie(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(name, path="/", httponly=True, samesite="lax",
                           secure=state(request).settings.public_url.startswith("https://"))


# --- who is signed in -------------------------------------------------------------------------

def current_staff(request: Request, session: SessionDep) -> Staff:
    staff = auth.identify(session, read_cookie(request, SESSION_COOKIE),
                          state(request).clock.now())
    if staff is None:
        raise SignInRequired()
    return staff


StaffDep = Annotated[Staff, Depends(current_staff)]


async def csrf_checked(request: Request) -> None:
    """Every POST from a page carries the session's token, in the form or a header."""
    given = request.headers.get("x-csrf-token")
    if given is None and "form" in request.headers.get("content-type", ""):
        given = str((await request.form()).get("csrf_token") or "")
    token = read_cookie(request, SESSION_COOKIE)
    if not auth.csrf_matches(session_secret(request), token, given):
        raise CsrfRefused()


CsrfDep = Depends(csrf_checked)


def csrf_for(request: Request, staff: Staff) -> str:
    return auth.csrf_token(session_secret(request), staff.token)


# --- rendering --------------------------------------------------------------------------------

def _local_time(value: datetime | str | None, tz_name: str = "America/New_York") -> str:
    if value is None:
        return "never"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    try:
        zone = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return value.astimezone(zone).strftime("%b %-d, %-I:%M %p")


templates.filters["local"] = _local_time
templates.filters["phone"] = lambda e164: display_phone(e164) if e164 else ""
templates.filters["label"] = lambda code: str(code or "").replace("_", " ").capitalize()


def secure_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"  # patient data stays off shared disks
    return response


def render(request: Request, template: str, *, staff: Staff | None = None,
           session: Any = None, status_code: int = 200, **context: Any) -> HTMLResponse:
    app = state(request)
    base: dict[str, Any] = {"request": request, "staff": staff, "demo_mode": app.settings.demo_mode,
                            "notice": NOTICES.get(request.query_params.get("notice", "")),
                            "tz": staff.practice.timezone if staff else "UTC"}
    if staff is not None:
        base["csrf_token"] = csrf_for(request, staff)
        base["unread_total"] = (inbox_service.unread_total(session, staff.practice.id)
                                if session is not None else 0)
    html = templates.get_template(template).render(**base, **context)
    return secure_headers(HTMLResponse(html, status_code=status_code))  # type: ignore[return-value]


def redirect(url: str, notice: str | None = None) -> RedirectResponse:
    if notice:
        path, hash_, fragment = url.partition("#")
        url = path + ("&" if "?" in path else "?") + "notice=" + quote(notice) + hash_ + fragment
    return secure_headers(RedirectResponse(url, status_code=303))  # type: ignore[return-value]


def wants_json(request: Request) -> bool:
    return ("application/json" in request.headers.get("accept", "")
            or "application/json" in request.headers.get("content-type", "")
            or request.headers.get("x-requested-with") == "fetch")


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _exc: SignInRequired) -> Response:
        if wants_json(request):
            return JSONResponse({"error": "signed_out", "message": "Sign in again."},
                                status_code=401)
        # A form posted after the session ended cannot be replayed: come back to the inbox.
        target = (request.url.path + (f"?{request.url.query}" if request.url.query else "")
                  if request.method == "GET" else "/inbox")
        return redirect(f"/signin?next={quote(target, safe='')}")

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, _exc: CsrfRefused) -> Response:
        if wants_json(request):
            return JSONResponse({"error": "csrf_refused",
                                 "message": "The page expired; reload it and try again."},
                                status_code=403)
        return render(request, "error.html", status_code=403, title="Page expired",
                      message="This form expired or did not come from textdesk. Reload the "
                              "page and try again.")


# Short confirmations shown after a form redirects (?notice=...).
NOTICES: dict[str, str] = {
    "signed_out": "You are signed out.",
    "sent": "Text queued. Its status updates below.",
    "acknowledged": "Error acknowledged.",
    "refreshed": "Waiting texts are being retried now.",
    "saved": "Settings saved.",
    "clinic_added": "Clinic added.",
    "number_added": "Sending number added.",
    "consent_recorded": "Consent recorded.",
    "commlog_deleted": "Commlog deleted.",
    "stage_changed": "Lead moved.",
    "sim_sent": "The simulated phone sent its text.",
    "blocked": "Sender blocked: their texts are dropped unseen from now on.",
}
