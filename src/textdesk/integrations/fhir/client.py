"""The HL7 FHIR R4 adapter (httpx) for medical practices: Patient and Appointment in,
Communication out.

Searches ask `_count` resources a page and follow the Bundle's `next` link; incremental reads
pass `_lastUpdated=ge{cursor}`, the cursor being the server's own time of the first page
(Bundle.meta.lastUpdated, else the HTTP Date header) less one second. Every resource read or
written is validated with the `fhir.resources` models (R4B: Patient, Appointment and
Communication are the same as in R4). `Authorization: Bearer {token}` when a token is set.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.communication import Communication
from fhir.resources.R4B.patient import Patient
from pydantic import ValidationError

from textdesk.integrations.base import (
    Changes,
    CommlogEntry,
    ErrorKind,
    ExternalAppointment,
    ExternalPatient,
    ExternalStatus,
    PracticeSystemError,
    TextOk,
)

log = logging.getLogger(__name__)
PAGE_SIZE = 100
FHIR_JSON = "application/fhir+json"
TEXT_ID_SYSTEM = "urn:textdesk:text"  # Communication.identifier of each text written back
T = TypeVar("T")
# Appointment.status → what it means for reminders (proposed, pending, waitlist: not booked).
STATUS = {"booked": ExternalStatus.SCHEDULED, "arrived": ExternalStatus.COMPLETED,
          "fulfilled": ExternalStatus.COMPLETED, "checked-in": ExternalStatus.COMPLETED,
          "cancelled": ExternalStatus.CANCELLED, "noshow": ExternalStatus.CANCELLED,
          "entered-in-error": ExternalStatus.CANCELLED}


class FhirClient:
    name = "fhir"

    def __init__(self, base_url: str, token: str = "", *, timeout: float = 15.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        headers = {"Accept": FHIR_JSON, "Content-Type": FHIR_JSON}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.http = httpx.Client(base_url=base_url.rstrip("/") + "/", timeout=timeout,
                                 transport=transport, headers=headers)

    def close(self) -> None:
        self.http.close()

    # -- reading ---------------------------------------------------------------------------
    def patients_since(self, cursor: str | None) -> Changes[ExternalPatient]:
        return self._changes("Patient", cursor, patient_from_fhir)

    def appointments_since(self, cursor: str | None) -> Changes[ExternalAppointment]:
        return self._changes("Appointment", cursor, appointment_from_fhir)

    def _changes(self, kind: str, cursor: str | None,
                 convert: Callable[[dict[str, Any]], T | None]) -> Changes[T]:
        changes: Changes[T] = Changes(iter(()))
        params: dict[str, Any] = {"_count": PAGE_SIZE, "_sort": "_lastUpdated"}
        if cursor:
            params["_lastUpdated"] = f"ge{cursor}"

        def pages() -> Iterator[list[T]]:
            for resources, server_time in self.search(kind, params):
                if changes.cursor is None and server_time is not None:
                    changes.cursor = (server_time - timedelta(seconds=1)).isoformat()
                yield [found for r in resources if (found := convert(r)) is not None]
        changes.pages = pages()
        return changes

    def appointment_ids_from(self, start: datetime) -> set[str]:
        params = {"_count": PAGE_SIZE, "status": "booked",
                  "date": f"ge{start.astimezone(UTC).strftime('%Y-%m-%d')}"}
        return {str(r.get("id")) for resources, _t in self.search("Appointment", params)
                for r in resources}

    def search(self, kind: str, params: dict[str, Any]
               ) -> Iterator[tuple[list[dict[str, Any]], datetime | None]]:
        """Each page of a search: its resources of `kind` and the server's time; the next
        page is the Bundle's `next` link, as the server wrote it."""
        url: str | None = kind
        query: dict[str, Any] | None = params
        while url is not None:
            response = self._call("GET", url, params=query)
            body = response.json()
            # The Bundle's frame is validated here, each resource on its own when converted
            # (one invalid resource is left out, not the whole page).
            bundle = _valid(Bundle, {k: v for k, v in body.items() if k != "entry"}
                            if isinstance(body, dict) else body)
            if bundle is None:
                raise PracticeSystemError(ErrorKind.REJECTED,
                                          f"The FHIR server's {kind} search is not a Bundle.")
            when = bundle.meta.lastUpdated if bundle.meta and bundle.meta.lastUpdated else None
            yield ([e["resource"] for e in body.get("entry") or ()
                    if isinstance(e.get("resource"), dict)
                    and e["resource"].get("resourceType") == kind],
                   _aware(when) if when else _date_header(response))
            url = next((link.url for link in bundle.link or () if link.relation == "next"),
                       None)
            query = None

    # -- writing back ----------------------------------------------------------------------
    def find_commlog(self, entry: CommlogEntry) -> str | None:
        if not entry.key:
            return None
        for resources, _t in self.search("Communication", {
                "identifier": f"{TEXT_ID_SYSTEM}|{entry.key}"}):
            for resource in resources:
                return str(resource.get("id"))
        return None

    def write_commlog(self, entry: CommlogEntry) -> str:
        body = communication(entry).model_dump(mode="json", exclude_none=True)
        response = self._call("POST", "Communication", json=body)
        found = response.json() if response.content else {}
        if isinstance(found, dict) and found.get("id"):
            return str(found["id"])
        location = response.headers.get("location", "")
        return location.split("Communication/", 1)[-1].split("/", 1)[0]

    def confirm_appointment(self, external_id: str) -> str:
        """The patient's participation becomes `accepted` (the appointment stays booked)."""
        path = f"Appointment/{external_id}"
        resource = self._call("GET", path).json()
        for participant in resource.get("participant") or ():
            reference = str((participant.get("actor") or {}).get("reference") or "")
            if reference.startswith("Patient/"):
                participant["status"] = "accepted"
        if _valid(Appointment, resource) is None:
            raise PracticeSystemError(ErrorKind.REJECTED, f"{path} is not a valid Appointment.")
        self._call("PUT", path, json=resource)
        return external_id

    def set_text_ok(self, patient_external_id: str, text_ok: TextOk) -> str:
        """FHIR R4 has no Text OK field: the opt-out is kept here, with its evidence, and each
        text (STOP included) is on the chart as a Communication."""
        return ""

    def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.http.request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            raise PracticeSystemError(ErrorKind.UNREACHABLE,
                                      "The FHIR server did not answer in time.") from exc
        except httpx.TransportError as exc:
            raise PracticeSystemError(ErrorKind.UNREACHABLE, "The FHIR server could not be "
                                      f"reached ({type(exc).__name__}).") from exc
        status = response.status_code
        what = response.request.url.path.rstrip("/").rsplit("/", 1)[-1]
        if status in (401, 403):
            raise PracticeSystemError(ErrorKind.BAD_KEY, "The FHIR server refused the token.")
        if status == 429 or status >= 500:
            raise PracticeSystemError(ErrorKind.SERVER_ERROR,
                                      f"The FHIR server answered {status} ({what}).")
        if status >= 400:
            raise PracticeSystemError(ErrorKind.REJECTED, "The FHIR server refused the "
                                      f"request: {status} ({what}).")
        return response


def patient_from_fhir(resource: dict[str, Any]) -> ExternalPatient | None:
    patient = _valid(Patient, resource)
    if patient is None or not patient.id:
        return None
    names = patient.name or []
    name = next((n for n in names if n.use in ("official", "usual")), names[0] if names else None)
    given = (name.given or [""])[0] if name else ""
    return ExternalPatient(
        external_id=str(patient.id), first_name=(given or "").strip() or "Patient",
        last_name=str(name.family or "").strip() if name else "",
        wireless_phone=mobile(patient), text_ok=TextOk.UNKNOWN,
        is_active=patient.active is not False)


def mobile(patient: Patient) -> str:
    """The number that takes texts: telecom `system=sms`, else `system=phone` with
    `use=mobile`."""
    telecom = [t for t in patient.telecom or () if t.value and (t.period is None
                                                               or t.period.end is None)]
    for wanted in (lambda t: t.system == "sms", lambda t: t.system == "phone"
                   and t.use == "mobile"):
        found = next((t for t in telecom if wanted(t)), None)
        if found is not None:
            return str(found.value).strip()
    return ""


def appointment_from_fhir(resource: dict[str, Any]) -> ExternalAppointment | None:
    appointment = _valid(Appointment, resource)
    if appointment is None or not appointment.id:
        return None
    actors = [str(p.actor.reference or "") for p in appointment.participant or () if p.actor]
    patient = next((a.split("/", 1)[1] for a in actors if a.startswith("Patient/")), None)
    if patient is None:
        return None
    provider = next((p.actor.display or str(p.actor.reference).split("/", 1)[1]
                     for p in appointment.participant or ()
                     if p.actor and str(p.actor.reference or "").startswith("Practitioner/")),
                    "")
    status = STATUS.get(str(appointment.status), ExternalStatus.IGNORED)
    if appointment.start is None:
        if status is not ExternalStatus.CANCELLED:
            return None  # nothing to remind of without a time
        start = datetime(1970, 1, 1, tzinfo=UTC)
    else:
        start = _aware(appointment.start)
    return ExternalAppointment(external_id=str(appointment.id), patient_external_id=patient,
                               start_at=start, status=status, provider=str(provider))


def communication(entry: CommlogEntry) -> Communication:
    """One text on the patient's record: sent by the practice, or received from the patient."""
    patient = {"reference": f"Patient/{entry.patient_external_id}"}
    data: dict[str, Any] = {
        "resourceType": "Communication", "status": "completed", "subject": patient,
        "medium": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                          "v3-ParticipationMode", "code": "SMSWRIT",
                                "display": "SMS"}]}],
        "payload": [{"contentString": entry.note}]}
    if entry.key:
        data["identifier"] = [{"system": TEXT_ID_SYSTEM, "value": entry.key}]
    if entry.is_inbound:
        data["received"] = entry.at.astimezone(UTC).isoformat()
        data["sender"] = patient
    else:
        data["sent"] = entry.at.astimezone(UTC).isoformat()
        data["recipient"] = [patient]
    return Communication.model_validate(data)


M = TypeVar("M")


def _valid(model: Callable[..., M], resource: Any) -> M | None:
    try:
        return model.model_validate(resource)  # type: ignore[attr-defined, no-any-return]
    except (ValidationError, ValueError, TypeError) as error:
        kind = resource.get("resourceType") if isinstance(resource, dict) else "?"
        rid = resource.get("id") if isinstance(resource, dict) else "?"
        log.warning("FHIR %s/%s is not valid and was left out: %s", kind, rid,
                    str(error).splitlines()[0][:200])
        return None


def _aware(value: datetime) -> datetime:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)


def _date_header(response: httpx.Response) -> datetime | None:
    try:
        return _aware(parsedate_to_datetime(response.headers["date"]))
    except (KeyError, TypeError, ValueError):
        return None
