"""What every staff page shares: templates, the signed-in user, CSRF checks, rendering."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from textdesk.domain.consent import display_phone
from textdesk.domain.messages import tell_event
from textdesk.inbox import service as inbox_service
from textdesk.kit.cookies import (
    SESSION_COOKIE as SESSION_COOKIE,
    SIGNIN_COOKIE as SIGNIN_COOKIE,
    ensure_session_secret as ensure_session_secret,
    read_cookie as read_cookie,
    session_secret as session_secret,
    sign_cookie as sign_cookie,
)
from textdesk.kit.web import SessionDep, state
from textdesk.messaging.recipients import is_connector_alive
from textdesk.practice import auth
from textdesk.practice.auth import Staff
from textdesk.storage.db import is_read_only

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")

templates = Environment(loader=PackageLoader("textdesk.pages", "templates"),
                        autoescape=select_autoescape(["html"]), trim_blocks=True,
                        lstrip_blocks=True)


class SignInRequired(Exception):
    """No valid session: pages redirect to the sign-in form, JSON endpoints answer 401."""


class CsrfRefused(Exception):
    """A state-changing request without this session's CSRF token."""


# --- secrets and cookies ----------------------------------------------------------------------


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
    now = state(request).clock.now()
    found = auth.look_up(session, read_cookie(request, SESSION_COOKIE), now)
    if found.needs_write:  # sliding the idle expiry, or ending an expired session
        if is_read_only(session):
            with state(request).db.transaction() as writer:
                auth.settle(writer, found, now)
        else:
            auth.settle(session, found, now)
    if found.staff is None:
        raise SignInRequired()
    return found.staff


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
    """A time in the practice's zone, the zone named: "Dec 1, 4:05 PM EST"."""
    if value is None:
        return "never"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # stored times are UTC
    try:
        zone = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return value.astimezone(zone).strftime("%b %-d, %-I:%M %p %Z")


def money(value: Decimal | float | str | None) -> str:
    """Dollars as people write them: "$50.00"; a fraction of a cent keeps its digits."""
    if value is None or value == "":
        return ""
    amount = Decimal(str(value))
    if abs(amount) >= 1 or amount == amount.quantize(Decimal("0.01")):
        return f"${amount:,.2f}"
    return f"${amount:.4f}"


def plain_money(value: Decimal | float | str | None) -> str:
    """An amount for an input box: "50.00", never "50.0000"."""
    return "" if value is None or value == "" else f"{Decimal(str(value)):.2f}"


# Internal names that reach a page, in the words staff use; anything else is de-snaked.
WORDS = {"local": "Local (10DLC)", "toll_free": "Toll-free",
         "hosted_landline": "Office landline (hosted)", "web_form": "Web form",
         "call": "Phone call", "walk_in": "Walk-in",
         "verbal": "Told staff", "keyword": "Texted a keyword", "opt_in": "Gave consent",
         "opt_out": "Opted out", "sms_enabled": "Texting"}
# The health checks' names (H3), as the Health page heads them.
CHECKS = {"sms_enabled": "Texting", "sending_number": "Sending number",
          "connector_errors": "Connector errors", "refused_sends": "Refused texts",
          "failure_rate": "Failed texts", "spend": "This month's spend",
          "pending": "Waiting texts", "verification": "Number verification",
          "registration": "Messaging registration", "connector": "Connector",
          "webhooks": "Event webhooks"}


def label(code: object) -> str:
    text = str(code or "")
    return WORDS.get(text) or text.replace("_", " ").capitalize()


def check_name(code: object) -> str:
    return CHECKS.get(str(code)) or label(code)


templates.filters["local"] = _local_time
templates.filters["phone"] = lambda e164: display_phone(e164) if e164 else ""
templates.filters["label"] = label
templates.filters["check"] = check_name
templates.filters["money"] = money
templates.filters["plain_money"] = plain_money
templates.filters["event"] = lambda e: tell_event(e.status, e.step, e.note)


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
        base["banners"] = banners(session, staff, app.clock.now()) if session is not None else []
    html = templates.get_template(template).render(**base, **context)
    return secure_headers(HTMLResponse(html, status_code=status_code))  # type: ignore[return-value]


def banners(session: Any, staff: Staff, now: datetime) -> list[dict[str, str]]:
    """What every page says while texts cannot go out: texting off, the connector down."""
    found = []
    if not staff.practice.sms_enabled:
        found.append({"id": "banner-texting-off", "text": "Texting is off for this practice: "
                      "every text is refused until it is turned on.", "href": "/settings",
                      "action": "Turn texting on in Settings"})
    if not is_connector_alive(session, now):
        found.append({"id": "banner-connector-down", "text": "The connector is down: texts are "
                      "accepted and wait, none is lost, but nothing goes out until it is back.",
                      "href": "/connector", "action": "See the connector"})
    return found


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
    "phone_saved": "Number saved. It has no consent on record yet: texts to it are refused "
                   "until the patient's consent is recorded.",
    "phone_saved_consent": "Number saved, with the patient's consent recorded for it.",
    "stage_changed": "Lead moved.",
    "lead_added": "Lead added.",
    "lead_merged": "An open lead already had this phone: the inquiry was added to it.",
    "lead_reopened": "Lead reopened: it is back to Contacted, with your reason on record.",
    "sim_sent": "The simulated phone sent its text.",
    "campaign_started": "Campaign started: its progress shows below.",
    "campaign_canceled": "Campaign canceled: what had not left will not be sent.",
    "test_sent": "Test text queued: its result shows below as it arrives.",
    "blocked": "Sender blocked: their texts are dropped unseen from now on.",
}
