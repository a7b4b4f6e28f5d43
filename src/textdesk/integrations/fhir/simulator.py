"""A small FHIR R4 server in memory, speaking the REST interactions textdesk uses: search
(`_count`, paging by the Bundle's `next` link, `_lastUpdated=ge…`, `_sort=_lastUpdated`,
`identifier=system|value`, `date=ge…`, `status`), read, update (PUT) and create (POST), with
`Authorization: Bearer` checked (401 with an OperationOutcome) and injectable 5xx answers
and answers lost after the write.

Mount `.router` under a prefix (`MOUNT_PREFIX` by convention).
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

MOUNT_PREFIX = "/fhir/r4"
MAX_COUNT = 100
TYPES = ("Patient", "Appointment", "Communication")


def _outcome(status: int, text: str) -> JSONResponse:
    return JSONResponse({"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": "processing", "diagnostics": text}]},
        status_code=status, media_type="application/fhir+json")


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _when(text: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass
class FhirServer:
    """The server's resources by type and id, stamped with its clock (aware UTC)."""

    token: str = "sim-fhir-token"
    now: Callable[[], datetime] = field(
        default=lambda: datetime.now(UTC).replace(microsecond=0))
    resources: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {t: {} for t in TYPES})
    lock: threading.Lock = field(default_factory=threading.Lock)
    fail_next: int = 0  # the next requests answer 500 before doing anything
    lose_next: int = 0  # the next writes are done, then answered 502
    seen: list[tuple[str, str]] = field(default_factory=list)
    _next_id: int = 1

    def put(self, resource: dict[str, Any], rid: str | None = None) -> dict[str, Any]:
        """Create (no id) or replace a resource; stamps meta.versionId and meta.lastUpdated."""
        with self.lock:
            kind = resource["resourceType"]
            if rid is None:
                rid = str(self._next_id)
                self._next_id += 1
            old = self.resources[kind].get(rid)
            version = int((old or {}).get("meta", {}).get("versionId", "0")) + 1
            row = {**resource, "id": rid,
                   "meta": {"versionId": str(version), "lastUpdated": _instant(self.now())}}
            self.resources[kind][rid] = row
            return dict(row)

    # -- what the practice's staff do in their system --------------------------------------
    def add_patient(self, given: str, family: str, mobile: str = "", *,
                    system: str = "sms", use: str = "mobile") -> dict[str, Any]:
        telecom = [{"system": system, "value": mobile, "use": use}] if mobile else []
        return self.put({"resourceType": "Patient", "active": True,
                         "name": [{"use": "official", "family": family, "given": [given]}],
                         "telecom": telecom})

    def add_appointment(self, patient_id: str, start: datetime, *, status: str = "booked",
                        practitioner: str = "Dr. Lee") -> dict[str, Any]:
        return self.put({"resourceType": "Appointment", "status": status,
                         "start": start.isoformat(),
                         "participant": [
                             {"actor": {"reference": f"Patient/{patient_id}"},
                              "status": "needs-action"},
                             {"actor": {"reference": "Practitioner/1", "display": practitioner},
                              "status": "accepted"}]})

    def update(self, kind: str, rid: str, **changes: Any) -> dict[str, Any]:
        return self.put({**self.resources[kind][rid], **changes}, rid)

    def search(self, kind: str, params: dict[str, str]) -> list[dict[str, Any]]:
        since = _when(params["_lastUpdated"][2:]) if params.get("_lastUpdated", "").startswith(
            "ge") else None
        day = params.get("date", "")[2:] if params.get("date", "").startswith("ge") else None
        wanted_id = params.get("identifier")
        with self.lock:
            rows = list(self.resources[kind].values())
        found = []
        for row in rows:
            if since is not None and (_when(row["meta"]["lastUpdated"]) or since) < since:
                continue
            if "status" in params and row.get("status") != params["status"]:
                continue
            if day is not None and str(row.get("start", ""))[:10] < day:
                continue
            if wanted_id is not None and wanted_id not in {
                    f"{i.get('system')}|{i.get('value')}" for i in row.get("identifier", ())}:
                continue
            found.append(row)
        if params.get("_sort") == "_lastUpdated":
            found.sort(key=lambda r: (r["meta"]["lastUpdated"], int(r["id"])))
        return found


class FhirSimulator:
    def __init__(self, server: FhirServer | None = None) -> None:
        self.server = server or FhirServer()
        self.router = APIRouter(tags=["fhir simulator"], include_in_schema=False)
        _routes(self)

    def gate(self, request: Request) -> Response | None:
        self.server.seen.append((request.method, request.url.path))
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {self.server.token}".encode()):
            return _outcome(401, "Invalid or missing bearer token.")
        if self.server.fail_next > 0:
            self.server.fail_next -= 1
            return _outcome(500, "Simulated server error.")
        return None

    def lost(self) -> bool:
        if self.server.lose_next > 0:
            self.server.lose_next -= 1
            return True
        return False


def _bundle(request: Request, kind: str, rows: list[dict[str, Any]], offset: int,
            count: int, server_time: str) -> dict[str, Any]:
    page = rows[offset:offset + count]
    base = str(request.url).split("?", 1)[0]
    params = dict(request.query_params)
    links = [{"relation": "self", "url": str(request.url)}]
    if offset + count < len(rows):
        following = {**params, "_offset": str(offset + count), "_count": str(count)}
        query = "&".join(f"{k}={v}" for k, v in following.items())
        links.append({"relation": "next", "url": f"{base}?{query}"})
    return {"resourceType": "Bundle", "type": "searchset", "total": len(rows),
            "meta": {"lastUpdated": server_time}, "link": links,
            "entry": [{"fullUrl": f"{base}/{r['id']}", "resource": r,
                       "search": {"mode": "match"}} for r in page]}


def _routes(sim: FhirSimulator) -> None:
    router, server = sim.router, sim.server
    fhir_json = "application/fhir+json"

    def search(kind: str) -> Callable[[Request], Any]:
        async def handler(request: Request) -> Response:
            if (refused := sim.gate(request)) is not None:
                return refused
            try:
                count = min(int(request.query_params.get("_count", MAX_COUNT)), MAX_COUNT)
                offset = int(request.query_params.get("_offset", 0))
            except ValueError:
                return _outcome(400, "_count and _offset must be integers.")
            if count < 1 or offset < 0:
                return _outcome(400, "_count must be positive.")
            server_time = _instant(server.now())  # read before the rows: later changes next
            rows = server.search(kind, dict(request.query_params))
            return JSONResponse(_bundle(request, kind, rows, offset, count, server_time),
                                media_type=fhir_json)
        return handler

    for kind in TYPES:
        router.add_api_route(f"/{kind}", search(kind), methods=["GET"])

    @router.get("/Appointment/{rid}")
    async def read_appointment(rid: str, request: Request) -> Response:
        if (refused := sim.gate(request)) is not None:
            return refused
        row = server.resources["Appointment"].get(rid)
        if row is None:
            return _outcome(404, "Appointment not found.")
        return JSONResponse(row, media_type=fhir_json)

    @router.put("/Appointment/{rid}")
    async def update_appointment(rid: str, request: Request) -> Response:
        if (refused := sim.gate(request)) is not None:
            return refused
        body = await request.json()
        if rid not in server.resources["Appointment"]:
            return _outcome(404, "Appointment not found.")
        if body.get("resourceType") != "Appointment" or str(body.get("id")) != rid:
            return _outcome(400, "The body must be Appointment/" + rid + ".")
        row = server.put({k: v for k, v in body.items() if k != "meta"}, rid)
        if sim.lost():
            return _outcome(502, "Simulated error after the update.")
        return JSONResponse(row, media_type=fhir_json)

    @router.post("/Communication")
    async def create_communication(request: Request) -> Response:
        if (refused := sim.gate(request)) is not None:
            return refused
        body = await request.json()
        if body.get("resourceType") != "Communication" or not body.get("subject"):
            return _outcome(400, "A Communication with a subject is required.")
        subject = str(body["subject"].get("reference", ""))
        if subject.removeprefix("Patient/") not in server.resources["Patient"]:
            return _outcome(422, "The subject is not a known Patient.")
        row = server.put({k: v for k, v in body.items() if k not in ("id", "meta")})
        if sim.lost():
            return _outcome(502, "Simulated error after the create.")
        return JSONResponse(row, status_code=201, media_type=fhir_json,
                            headers={"Location": f"Communication/{row['id']}/_history/1"})
