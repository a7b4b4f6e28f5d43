"""Demo mode only: a simulated phone to reply as a patient and watch textdesk react."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from textdesk.domain.phone import parse_phone
from textdesk.kit.web import SessionDep, state
from textdesk.pages.common import (
    CsrfDep,
    SignInRequired,
    StaffDep,
    current_staff,
    redirect,
    render,
)
from textdesk.pages.signin import safe_next
from textdesk.practice.auth import Staff
from textdesk.storage import directory as practice_store

router = APIRouter(include_in_schema=False)

ERRORS = {"bad_phone": "Pick a phone number to text from.",
          "bad_number": "Pick one of the practice's sending numbers.",
          "sim_refused": "The simulator refused the text; is it running in this process?"}
QUICK_REPLIES = ("C", "STOP", "START", "HELP", "Can I come at 10 instead?",
                 "Please stop texting me")


def _not_demo(request: Request, staff: Staff | None, session: Any) -> Response:
    return render(request, "error.html", staff=staff, session=session, status_code=404,
                  title="Not found", message="The simulated phone exists in demo mode only.")


@router.get("/demo/phone")
def phone_page(request: Request, staff: StaffDep, session: SessionDep,
               phone: str = "", error: str = "") -> Response:
    if not state(request).settings.demo_mode:
        return _not_demo(request, staff, session)
    practice_id = staff.practice.id
    patients = [p for p in practice_store.list_patients(session, practice_id) if p.phone_e164]
    return render(request, "demo_phone.html", staff=staff, session=session, patients=patients,
                  numbers=practice_store.list_numbers(session, practice_id), selected=phone,
                  quick=QUICK_REPLIES, error=ERRORS.get(error), nav="demo")


def _sender_and_number(request: Request, from_phone: str, to_number: str
                       ) -> tuple[str, str] | str:
    """Check the form in a short transaction of its own, closed before the simulator call:
    the simulator calls back into this server, which must be free to write."""
    app = state(request)
    with app.db.transaction() as session:
        staff = current_staff(request, session)
        sender = parse_phone(from_phone, staff.practice.default_country).e164
        numbers = {n.e164 for n in practice_store.list_numbers(session, staff.practice.id)}
    if sender is None:
        return "bad_phone"
    if to_number not in numbers:
        return "bad_number"
    return sender, to_number


@router.post("/demo/phone", dependencies=[CsrfDep])
async def phone_send(request: Request, from_phone: str = Form(""), to_number: str = Form(""),
                     body: str = Form(""), quick: str = Form(""),
                     return_to: str = Form("")) -> Response:
    settings = state(request).settings
    if not settings.demo_mode:
        return Response(status_code=404)
    try:
        checked = await run_in_threadpool(_sender_and_number, request, from_phone, to_number)
    except SignInRequired:
        return redirect("/signin?next=/demo/phone")
    if isinstance(checked, str):
        return redirect(f"/demo/phone?error={checked}")  # a code from ERRORS, never free text
    sender, number = checked
    # The simulator plays the patient's carrier: it signs and posts the webhook back to us.
    async with httpx.AsyncClient(base_url=settings.carrier_base_url, timeout=15) as client:
        reply = await client.post("/sim/inbound", json={"from": sender, "to": number,
                                                        "body": quick or body})
    if reply.status_code >= 400:
        return redirect("/demo/phone?error=sim_refused")
    target = safe_next(return_to) if return_to else f"/demo/phone?phone={quote(sender)}"
    return redirect(target, "sim_sent")
