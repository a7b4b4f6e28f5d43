"""Practice-system connection: connect Open Dental or a FHIR server, read the sync status,
sync now.

The keys go in and are never shown again: the status carries no key, sealed or not.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from textdesk.domain.errors import NotFound
from textdesk.integrations import patient_import, service
from textdesk.integrations.service import FHIR, OPEN_DENTAL, SYSTEMS, SyncState
from textdesk.kit.web import BearerDep, PracticeDep, SessionDep, StateDep, current_practice
from textdesk.storage import directory as practice_store

router = APIRouter(prefix="/api/v1/integrations", tags=["integrations"])
patients_router = APIRouter(prefix="/api/v1/patients", tags=["patients"])


class OpenDentalConnection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    base_url: str = Field(description="e.g. https://api.opendental.com/api/v1")
    developer_key: str = Field(description="from Open Dental's API program")
    customer_key: str = Field(description="from the office's Open Dental API setup")
    clinic_id: int | None = Field(None, description="textdesk clinic for imported patients")
    clinics: dict[str, int] | None = Field(
        None, description="Open Dental ClinicNum → textdesk clinic id, e.g. {\"2\": 7}: "
                          "patients and appointments of that clinic are texted from its "
                          "numbers; others go to clinic_id (or the practice's first clinic)")


class FhirConnection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    base_url: str = Field(description="the server's FHIR R4 base, e.g. https://fhir.example.org/r4")
    token: str = Field("", description="bearer token (sent as Authorization: Bearer …); "
                                       "empty for a server that needs none")
    clinic_id: int | None = Field(None, description="textdesk clinic for imported patients")


class SyncError(BaseModel):
    kind: str
    message: str
    fix: str


class SyncStatus(BaseModel):
    system: str
    status: str = Field(description="not_synced_yet | syncing | ok | failing | off (another "
                        "system is connected)")
    base_url: str
    last_sync_at: datetime | None
    last_attempt_at: datetime | None
    last_error: SyncError | None
    write_back_waiting: int
    write_back_failed: int
    write_back_behind: bool
    last_counts: dict[str, int]
    clinics: dict[str, int] = Field(description="the system's clinic id → textdesk clinic id")
    clinic_id: int | None = Field(None, description="textdesk clinic for what `clinics` "
                                                    "does not name")
    secrets_set: list[str] = Field(default_factory=list,
                                   description="which keys are stored (never their values)")


class ClinicMap(BaseModel):
    model_config = ConfigDict(extra="forbid")
    clinics: dict[str, int] = Field(description="Open Dental ClinicNum → textdesk clinic id")
    clinic_id: int | None = Field(None, description="textdesk clinic for the others")


def _view(found: SyncState | None, system: str = OPEN_DENTAL) -> SyncStatus:
    if found is None:
        raise NotFound("integration_not_connected", f"{SYSTEMS[system]} is not connected.")
    error = (SyncError(kind=found.error_kind, message=found.error_message or "",
                       fix=found.fix or "") if found.error_kind else None)
    return SyncStatus(system=found.system, status=found.status, base_url=found.base_url,
                      last_sync_at=found.last_sync_at, last_attempt_at=found.last_attempt_at,
                      last_error=error, write_back_waiting=found.write_back_waiting,
                      write_back_failed=found.write_back_failed,
                      write_back_behind=found.write_back_behind,
                      last_counts={k: int(v) for k, v in found.counts.items()},
                      clinics=found.clinics, clinic_id=found.clinic_id,
                      secrets_set=list(found.secrets_set))


@router.put("/opendental")
def put_opendental(body: OpenDentalConnection, practice: PracticeDep, session: SessionDep,
                   app: StateDep) -> SyncStatus:
    now = app.clock.now()
    service.connect(session, practice, OPEN_DENTAL, body.model_dump(), app.settings, now)
    return _view(service.state(session, practice.id, OPEN_DENTAL, now))


@router.get("/opendental")
def get_opendental(practice: PracticeDep, session: SessionDep, app: StateDep) -> SyncStatus:
    return _view(service.state(session, practice.id, OPEN_DENTAL, app.clock.now()))


@router.put("/opendental/clinics")
def put_opendental_clinics(body: ClinicMap, practice: PracticeDep, session: SessionDep,
                           app: StateDep) -> SyncStatus:
    """Change only the ClinicNum map (the keys stay as they are); a changed map reads
    everything again at the next sync."""
    now = app.clock.now()
    service.set_clinics(session, practice, OPEN_DENTAL, body.clinics, body.clinic_id, now)
    return _view(service.state(session, practice.id, OPEN_DENTAL, now))


@router.post("/opendental/sync", status_code=202)
def sync_opendental(practice: PracticeDep, session: SessionDep, app: StateDep) -> SyncStatus:
    now = app.clock.now()
    service.request_sync(session, practice.id, OPEN_DENTAL, now)
    return _view(service.state(session, practice.id, OPEN_DENTAL, now))


@router.put("/fhir")
def put_fhir(body: FhirConnection, practice: PracticeDep, session: SessionDep,
             app: StateDep) -> SyncStatus:
    now = app.clock.now()
    service.connect(session, practice, FHIR, body.model_dump(), app.settings, now)
    return _view(service.state(session, practice.id, FHIR, now), FHIR)


@router.get("/fhir")
def get_fhir(practice: PracticeDep, session: SessionDep, app: StateDep) -> SyncStatus:
    return _view(service.state(session, practice.id, FHIR, app.clock.now()), FHIR)


@router.post("/fhir/sync", status_code=202)
def sync_fhir(practice: PracticeDep, session: SessionDep, app: StateDep) -> SyncStatus:
    now = app.clock.now()
    service.request_sync(session, practice.id, FHIR, now)
    return _view(service.state(session, practice.id, FHIR, now), FHIR)


# --- patients from a CSV file ---------------------------------------------------------------

class ImportColumn(BaseModel):
    header: str
    field: str | None = Field(description="what the column fills; null: not imported")


class ImportProblem(BaseModel):
    line: int = Field(description="line in the file (the header is line 1)")
    error: str
    message: str


class PatientImportOut(BaseModel):
    committed: bool = Field(description="false: a dry run, nothing was written")
    columns: list[ImportColumn]
    rows: int
    created: int
    updated: int
    unchanged: int
    consents: int = Field(description="rows with consent evidence (recorded where they "
                                      "change something: never over an opt-out)")
    errors: list[ImportProblem]


_CSV_BODY = {"requestBody": {"required": True, "content": {"text/csv": {"schema": {
    "type": "string", "maxLength": patient_import.MAX_BYTES,
    "example": "PatNum,FName,LName,WirelessPhone,consent_method,consent_at\n"
               "12,Ana,Silva,(212) 555-0100,written,2025-05-01\n"}}}}}


async def csv_upload(request: Request) -> patient_import.Parsed:
    """The body read and parsed before the request touches the database."""
    return patient_import.parse(await request.body())


def import_view(outcome: patient_import.Outcome) -> PatientImportOut:
    return PatientImportOut(
        committed=outcome.committed, rows=outcome.rows, created=outcome.created,
        updated=outcome.updated, unchanged=outcome.unchanged, consents=outcome.consents,
        columns=[ImportColumn(header=c.header, field=c.field) for c in outcome.columns],
        errors=[ImportProblem(**p) for p in outcome.problems])


@patients_router.post("/import", response_model=PatientImportOut, openapi_extra=_CSV_BODY)
def import_patients(parsed: Any = Depends(csv_upload), *, credentials: BearerDep,
                    app: StateDep, dry_run: bool = True) -> PatientImportOut:
    """Patients from a CSV (UTF-8, at most 1 MB and 10,000 rows). `dry_run=true` (the
    default) shows the column map and every bad row by line, writing nothing; `dry_run=false`
    writes the whole file, or nothing when any row is bad (422 `invalid_import`)."""
    now = app.clock.now()
    with app.db.transaction() as session:  # who asks (the file is already parsed)
        practice = current_practice(credentials, session)
        practice_id, country, timezone = (practice.id, practice.default_country,
                                          practice.timezone)
    judged = patient_import.judge(parsed, country, timezone, now)  # no transaction open
    with app.db.transaction() as session:
        found = practice_store.get_practice(session, practice_id)
        if found is None:
            raise NotFound("practice_not_found", "The practice is gone.")
        return import_view(patient_import.apply(session, found, judged, now,
                                                commit=not dry_run))
