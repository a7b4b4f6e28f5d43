"""A simulator of Open Dental's REST API (the documented endpoints textdesk uses) over an
in-memory office: `Authorization: ODFHIR {DeveloperKey}/{CustomerKey}`, `Limit`/`Offset`
paging (100 at most), `DateTStamp` filters with `serverDateTime` in each row, 401 on a bad
key, and injectable 5xx answers, answers lost after the write, and slow answers.

Mount `.router` under a prefix (`serve` and `textdesk simulator` use `/od/api/v1`).
"""

from __future__ import annotations

import asyncio
import hmac
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from textdesk.integrations.opendental.office import (
    CONFIRM_DEFS,
    CONFIRM_VALS,
    PATIENT_FIELDS,
    TXT_MSG_OK,
    Office,
)

PAGE_LIMIT = 100  # the remote API's hard limit per request
MOUNT_PREFIX = "/od/api/v1"


@dataclass
class Faults:
    """What the next requests suffer. `fail_next` answers 5xx before doing anything;
    `lose_next` does the write and then answers 5xx (the ambiguous case)."""

    fail_next: int = 0
    fail_status: int = 500
    lose_next: int = 0
    delay_seconds: float = 0.0  # every request is this slow
    slow_next: int = 0  # the next requests wait slow_seconds, then do their work anyway
    slow_seconds: float = 0.0
    only_path: str | None = None  # limit the faults to paths containing this
    seen: list[tuple[str, str]] = field(default_factory=list)  # (method, path) of each call

    def applies(self, path: str) -> bool:
        return self.only_path is None or self.only_path in path


class OpenDentalSimulator:
    def __init__(self, office: Office | None = None) -> None:
        self.office = office or Office()
        self.faults = Faults()
        self.router = APIRouter(tags=["open dental simulator"], include_in_schema=False)
        _routes(self)

    def authorized(self, request: Request) -> bool:
        expected = f"ODFHIR {self.office.developer_key}/{self.office.customer_key}"
        given = request.headers.get("authorization", "")
        return hmac.compare_digest(given.encode(), expected.encode())

    async def gate(self, request: Request) -> Response | None:
        """Auth, then the injected faults; None lets the request through."""
        path = request.url.path
        self.faults.seen.append((request.method, path))
        if not self.authorized(request):
            return JSONResponse("Invalid Authorization header.", status_code=401)
        if not self.faults.applies(path):
            return None
        if self.faults.delay_seconds:
            await asyncio.sleep(self.faults.delay_seconds)
        if self.faults.slow_next > 0:
            self.faults.slow_next -= 1
            await asyncio.sleep(self.faults.slow_seconds)
        if self.faults.fail_next > 0:
            self.faults.fail_next -= 1
            return JSONResponse("Simulated server error.", status_code=self.faults.fail_status)
        return None

    def lose_answer(self, path: str) -> bool:
        if self.faults.lose_next > 0 and self.faults.applies(path):
            self.faults.lose_next -= 1
            return True
        return False


def _paging(request: Request) -> tuple[int, int] | Response:
    try:
        offset = int(request.query_params.get("Offset", 0))
        limit = min(int(request.query_params.get("Limit", PAGE_LIMIT)), PAGE_LIMIT)
    except ValueError:
        return JSONResponse("Offset and Limit must be integers.", status_code=400)
    if offset < 0 or limit < 1:
        return JSONResponse("Offset and Limit must be positive.", status_code=400)
    return offset, limit


def _with_server_time(rows: list[dict[str, Any]], server_time: str) -> list[dict[str, Any]]:
    for row in rows:
        row["serverDateTime"] = server_time
    return rows


def _listing(sim: OpenDentalSimulator, request: Request, table: dict[int, dict[str, Any]],
             match: Any = None) -> Response:
    paging = _paging(request)
    if isinstance(paging, Response):
        return paging
    server_time = sim.office.stamp()  # read before the rows: a change made meanwhile is next
    since = request.query_params.get("DateTStamp") or None
    rows = sim.office.select(table, since, match or (lambda _r: True))
    return JSONResponse(_with_server_time(sim.office.page(rows, *paging), server_time))


def _routes(sim: OpenDentalSimulator) -> None:
    router, office = sim.router, sim.office

    @router.get("/patients/Simple")
    async def patients_simple(request: Request) -> Response:
        return await sim.gate(request) or _listing(sim, request, office.patients)

    @router.put("/patients/{pat_num}")
    async def patient_update(pat_num: int, request: Request) -> Response:
        if (refused := await sim.gate(request)) is not None:
            return refused
        if pat_num not in office.patients:
            return JSONResponse("Patient not found.", status_code=404)
        body = await request.json()
        changes = {k: v for k, v in body.items() if k in PATIENT_FIELDS}
        if "TxtMsgOk" in changes and changes["TxtMsgOk"] not in TXT_MSG_OK:
            return JSONResponse("TxtMsgOk must be Unknown, Yes or No.", status_code=400)
        row = office.update_patient(pat_num, **changes)
        if sim.lose_answer(request.url.path):
            return JSONResponse("Simulated error after the update.", status_code=502)
        return JSONResponse(row)

    @router.get("/appointments")
    async def appointments(request: Request) -> Response:
        if (refused := await sim.gate(request)) is not None:
            return refused
        pat = request.query_params.get("PatNum")
        status = request.query_params.get("AptStatus")
        start = request.query_params.get("dateStart")
        end = request.query_params.get("dateEnd")

        def match(r: dict[str, Any]) -> bool:
            day = r["AptDateTime"][:10]
            return ((pat is None or str(r["PatNum"]) == pat)
                    and (status is None or r["AptStatus"] == status)
                    and (start is None or day >= start) and (end is None or day <= end))
        return _listing(sim, request, office.appointments, match)

    @router.get("/appointments/{apt_num}")
    async def appointment(apt_num: int, request: Request) -> Response:
        if (refused := await sim.gate(request)) is not None:
            return refused
        row = office.appointments.get(apt_num)
        if row is None:
            return JSONResponse("Appointment not found.", status_code=404)
        return JSONResponse({**row, "serverDateTime": office.stamp()})

    @router.put("/appointments/{apt_num}/Confirm")
    async def confirm(apt_num: int, request: Request) -> Response:
        if (refused := await sim.gate(request)) is not None:
            return refused
        if apt_num not in office.appointments:
            return JSONResponse("Appointment not found.", status_code=404)
        body = await request.json()
        if len(body) != 1 or not ({"confirmVal", "defNum"} & set(body)):
            return JSONResponse("Only one field is allowed, confirmVal or defNum.",
                                status_code=400)
        def_num = CONFIRM_VALS.get(body.get("confirmVal", "")) or body.get("defNum")
        if def_num not in CONFIRM_DEFS:
            return JSONResponse("Invalid confirmVal or defNum.", status_code=400)
        office.confirm(apt_num, def_num)
        if sim.lose_answer(request.url.path):
            return JSONResponse("Simulated error after the update.", status_code=502)
        return Response(status_code=200)

    @router.get("/commlogs")
    async def commlogs(request: Request) -> Response:
        if (refused := await sim.gate(request)) is not None:
            return refused
        pat = request.query_params.get("PatNum")
        return _listing(sim, request, office.commlogs,
                        lambda r: pat is None or str(r["PatNum"]) == pat)

    @router.post("/commlogs")
    async def commlog_create(request: Request) -> Response:
        if (refused := await sim.gate(request)) is not None:
            return refused
        body = await request.json()
        if not body.get("PatNum") or not body.get("Note"):
            return JSONResponse("PatNum and Note are required.", status_code=400)
        if body["PatNum"] not in office.patients:
            return JSONResponse("Patient not found.", status_code=404)
        row = office.add_commlog(body)
        if sim.lose_answer(request.url.path):
            return JSONResponse("Simulated error after the insert.", status_code=502)
        return JSONResponse(row, status_code=201)
