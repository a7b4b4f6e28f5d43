"""The pages behind links in automated texts: confirm an appointment (`/c/{token}`) and ask
for a recall visit time (`/r/{token}`). No sign-in: the signed token is the key.

Opening a link never changes anything by itself: phones and carriers fetch links to show
previews, so confirming and requesting are a button (POST) on the page the link opens.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from textdesk.automation import confirmations, recall
from textdesk.domain.errors import AppError
from textdesk.domain.links import LinkError
from textdesk.domain.schedule import zone
from textdesk.domain.templates import appointment_values
from textdesk.kit.web import SessionDep, StateDep

router = APIRouter(tags=["patient links"], include_in_schema=True)

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}}
button{{font-size:1.1rem;padding:.6rem 1.2rem}} label{{display:block;margin:.8rem 0 .2rem}}
.error{{color:#a00}}</style></head><body>{body}</body></html>"""


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=html.escape(title), body=body), status_code=status,
                        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


def link_problem(error: LinkError) -> HTMLResponse:
    status = 410 if error.code == "link_expired" else 404
    sentence = ("This link has expired. Please call the office." if status == 410
                else "This link is not valid. Please call the office.")
    return page("Link", f"<p data-code='{error.code}'>{sentence}</p>", status)


def _when(start: datetime, timezone: str) -> str:
    values = appointment_values(start, zone(timezone))
    return f"{values['appt_date']} at {values['appt_time']}"


@router.get("/c/{token}", response_class=HTMLResponse)
def confirm_page(token: str, session: SessionDep, app: StateDep) -> HTMLResponse:
    try:
        found = confirmations.look_up_link(session, token, app.clock.now())
    except LinkError as error:
        return link_problem(error)
    return _confirmation(found, token)


@router.post("/c/{token}", response_class=HTMLResponse)
def confirm(token: str, session: SessionDep, app: StateDep) -> HTMLResponse:
    try:
        found = confirmations.confirm_by_link(session, token, app.clock.now())
    except LinkError as error:
        return link_problem(error)
    return _confirmation(found, token)


def _confirmation(found: confirmations.LinkResult, token: str) -> HTMLResponse:
    name, office = html.escape(found.first_name), html.escape(found.practice_name)
    when = html.escape(_when(found.appointment_start, found.timezone))
    if found.confirmed:
        body = (f"<p data-state='confirmed'>Thank you, {name}. Your visit on {when} is "
                f"confirmed.</p>")
    elif found.closed:
        body = (f"<p data-state='closed'>This appointment can no longer be confirmed here. "
                f"Please call {office}.</p>")
    else:
        body = (f"<h1>{office}</h1><p>Hi {name}, please confirm your visit on {when}.</p>"
                f"<form method='post' action='/c/{html.escape(token)}'>"
                f"<button type='submit'>Confirm</button></form>")
    return page("Confirm your visit", body)


@router.get("/r/{token}", response_class=HTMLResponse)
def recall_page(token: str, session: SessionDep, app: StateDep) -> HTMLResponse:
    try:
        found = recall.look_up(session, token, app.clock.now())
    except LinkError as error:
        return link_problem(error)
    return _recall_form(found, token)


@router.post("/r/{token}", response_class=HTMLResponse)
async def request_recall(token: str, request: Request, session: SessionDep,
                         app: StateDep) -> HTMLResponse:
    form: dict[str, Any] = dict(await request.form())
    try:
        found = recall.request_time(session, token, form, app.clock.now())
    except LinkError as error:
        return link_problem(error)
    except AppError as error:
        found = recall.look_up(session, token, app.clock.now())
        return _recall_form(found, token, error.message, error.code, 422)
    return page("Thank you", f"<p data-state='requested'>Thank you, "
                             f"{html.escape(found.first_name)}. {html.escape(found.practice_name)}"
                             f" will call you to book your visit.</p>")


def _recall_form(found: recall.RecallPage, token: str, problem: str = "", code: str = "",
                 status: int = 200) -> HTMLResponse:
    error = (f"<p class='error' data-code='{html.escape(code)}'>{html.escape(problem)}</p>"
             if problem else "")
    parts = "".join(f"<option value='{p}'>{p.title()}</option>" for p in recall.PARTS_OF_DAY)
    body = (f"<h1>{html.escape(found.practice_name)}</h1>"
            f"<p>Hi {html.escape(found.first_name)}, when would you like to come in?</p>{error}"
            f"<form method='post' action='/r/{html.escape(token)}'>"
            f"<label for='d'>Day</label><input id='d' type='date' name='preferred_day' required "
            f"min='{found.first_day.isoformat()}' max='{found.last_day.isoformat()}'>"
            f"<label for='p'>Time of day</label><select id='p' name='part_of_day'>{parts}"
            f"</select><label for='n'>Anything we should know? (optional)</label>"
            f"<textarea id='n' name='note' maxlength='500'></textarea>"
            f"<p><button type='submit'>Ask for this time</button></p></form>")
    return page("Book your visit", body, status)
