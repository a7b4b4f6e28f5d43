"""The Open Dental REST adapter (httpx): the documented API, read page by page.

`Authorization: ODFHIR {DeveloperKey}/{CustomerKey}`; lists come 100 at a time with
`Limit`/`Offset`; incremental reads pass `DateTStamp` = the `serverDateTime` the previous read
returned (the office's clock, never ours). Office times are the office's local time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx

from textdesk.integrations.base import (
    Changes,
    CommlogEntry,
    ErrorKind,
    ExternalAppointment,
    ExternalPatient,
    PracticeSystemError,
    TextOk,
)
from textdesk.integrations.opendental.mapping import appointment_from_od, patient_from_od

PAGE_SIZE = 100
OD_TIME = "%Y-%m-%d %H:%M:%S"
T = TypeVar("T")
TEXT_OK_TO_OD = {TextOk.YES: "Yes", TextOk.NO: "No", TextOk.UNKNOWN: "Unknown"}


class OpenDentalClient:
    name = "opendental"

    def __init__(self, base_url: str, developer_key: str, customer_key: str, *,
                 timezone: str = "America/New_York", timeout: float = 15.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.zone = ZoneInfo(timezone)
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"), timeout=timeout, transport=transport,
            headers={"Authorization": f"ODFHIR {developer_key}/{customer_key}",
                     "Content-Type": "application/json"})

    def close(self) -> None:
        self.http.close()

    # -- reading ---------------------------------------------------------------------------
    def patients_since(self, cursor: str | None) -> Changes[ExternalPatient]:
        return self._changes("/patients/Simple", cursor, patient_from_od)

    def appointments_since(self, cursor: str | None) -> Changes[ExternalAppointment]:
        return self._changes("/appointments", cursor,
                             lambda row: appointment_from_od(row, self.zone))

    def _changes(self, path: str, cursor: str | None,
                    convert: Callable[[dict[str, Any]], T]) -> Changes[T]:
        changes: Changes[T] = Changes(iter(()))

        def pages() -> Iterator[list[T]]:
            for rows in self.pages(path, {"DateTStamp": cursor} if cursor else {}):
                if changes.cursor is None and rows and rows[0].get("serverDateTime"):
                    changes.cursor = _overlap(str(rows[0]["serverDateTime"]))
                yield [convert(row) for row in rows]
        changes.pages = pages()
        return changes

    def appointment_ids_from(self, start: datetime) -> set[str]:
        day = start.astimezone(self.zone).date().isoformat()
        return {str(row["AptNum"]) for rows in self.pages("/appointments", {"dateStart": day})
                for row in rows}

    def pages(self, path: str, params: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        """Every page of a list: ask again with the next Offset while a page is full."""
        offset = 0
        while True:
            rows = self._call("GET", path, params={**params, "Offset": offset})
            yield rows
            if len(rows) < PAGE_SIZE:
                return
            offset += len(rows)

    # -- writing back ----------------------------------------------------------------------
    def find_commlog(self, entry: CommlogEntry) -> str | None:
        wanted = self._commlog_body(entry)
        for rows in self.pages("/commlogs", {"PatNum": wanted["PatNum"]}):
            for row in rows:
                if all(str(row.get(k)) == str(v) for k, v in wanted.items()):
                    return str(row["CommlogNum"])
        return None

    def write_commlog(self, entry: CommlogEntry) -> str:
        row = self._call("POST", "/commlogs", json=self._commlog_body(entry))
        return str(row.get("CommlogNum", "")) if isinstance(row, dict) else ""

    def confirm_appointment(self, external_id: str) -> str:
        self._call("PUT", f"/appointments/{int(external_id)}/Confirm",
                   json={"confirmVal": "Confirmed"})
        return external_id

    def set_text_ok(self, patient_external_id: str, text_ok: TextOk) -> str:
        self._call("PUT", f"/patients/{int(patient_external_id)}",
                   json={"TxtMsgOk": TEXT_OK_TO_OD[text_ok]})
        return patient_external_id

    def _commlog_body(self, entry: CommlogEntry) -> dict[str, Any]:
        local = entry.at.astimezone(self.zone).replace(tzinfo=None)
        return {"PatNum": int(entry.patient_external_id), "Note": entry.note,
                "CommDateTime": local.strftime(OD_TIME), "Mode_": "Text",
                "SentOrReceived": "Received" if entry.is_inbound else "Sent"}

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise PracticeSystemError(ErrorKind.UNREACHABLE,
                                      f"Open Dental did not answer in time ({path}).") from exc
        except httpx.TransportError as exc:
            raise PracticeSystemError(ErrorKind.UNREACHABLE,
                                      f"Open Dental could not be reached ({type(exc).__name__})."
                                      ) from exc
        return _answer(response, path)


def _overlap(server_time: str) -> str:
    """One second before the office's clock reading: whether Open Dental's "after" includes
    the second itself or not, a row changed in that second is read again, never missed."""
    earlier = datetime.strptime(server_time, OD_TIME) - timedelta(seconds=1)
    return earlier.strftime(OD_TIME)


def _answer(response: httpx.Response, path: str) -> Any:
    status = response.status_code
    if status in (401, 403):
        raise PracticeSystemError(ErrorKind.BAD_KEY,
                                  "Open Dental refused the developer key or customer key.")
    if status == 429 or status >= 500:
        raise PracticeSystemError(ErrorKind.SERVER_ERROR,
                                  f"Open Dental answered {status} ({path}).")
    if status >= 400:
        raise PracticeSystemError(ErrorKind.REJECTED,
                                  f"Open Dental refused the request: {status} ({path}).")
    if not response.content:
        return None
    return response.json()

