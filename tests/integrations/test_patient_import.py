"""Patients from a CSV file: the column map before commit, every bad row by line, consent only
with evidence, all or nothing, a second import updates."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.helpers import Practice, make_patient, make_practice
from textdesk.storage.db import Database
from textdesk.storage.models import ConsentEvent, ExternalRecord, Patient

GOOD = (
    "PatNum,FName,LName,Cell Phone,Clinic,Consent Method,Consent Date,Birthdate\n"
    "1,Ana,Silva,(212) 555-0100,Main,written,2025-05-01,1980-01-01\n"
    "2,Ben,Kim,(212) 555-0101,,,,\n"
    "3,Cy,Berg,,,,,\n"
    "4,Di,Okafor,(212) 555-0103,,opted_out,05/02/2025 14:30,\n"
)


def post(client: TestClient, practice: Practice, body: str | bytes, dry_run: bool = True):  # noqa: ANN201
    return client.post(f"/api/v1/patients/import?dry_run={'true' if dry_run else 'false'}",
                       content=body.encode() if isinstance(body, str) else body,
                       headers={**practice.auth, "Content-Type": "text/csv"})


def count(db: Database, model: type) -> int:
    with db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_a_dry_run_shows_the_column_map_and_writes_nothing(client: TestClient,
                                                           db: Database) -> None:
    practice = make_practice(client)
    r = post(client, practice, GOOD)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["committed"] is False and body["errors"] == []
    assert [(c["header"], c["field"]) for c in body["columns"]] == [
        ("PatNum", "external_id"), ("FName", "first_name"), ("LName", "last_name"),
        ("Cell Phone", "wireless_phone"), ("Clinic", "clinic"),
        ("Consent Method", "consent_method"), ("Consent Date", "consent_at"),
        ("Birthdate", None)]
    assert (body["rows"], body["created"], body["consents"]) == (4, 4, 2)
    assert count(db, Patient) == 0


def test_commit_imports_with_consent_evidence_then_a_second_import_updates(
        client: TestClient, db: Database) -> None:
    practice = make_practice(client)
    r = post(client, practice, GOOD, dry_run=False)
    assert r.status_code == 200, r.text
    assert r.json()["committed"] is True and r.json()["created"] == 4
    assert count(db, Patient) == 4
    with db.transaction() as s:
        events = list(s.scalars(select(ConsentEvent).order_by(ConsentEvent.id)))
    assert [(e.phone_e164, e.action, e.source) for e in events] == [
        ("+12125550100", "opt_in", "import"), ("+12125550103", "opt_out", "import")]
    assert "written" in (events[0].note or "") and "2025-05-01" in (events[0].note or "")
    # Ben has no evidence: not consent.
    with db.transaction() as s:
        ben = s.scalar(select(Patient).where(Patient.first_name == "Ben"))
        assert ben is not None
    verdict = client.get(f"/api/v1/patients/{ben.id}/can-text", headers=practice.auth).json()
    assert [b["code"] for b in verdict["blockers"]] == ["not_opted_in"]
    again = post(client, practice, GOOD.replace("Kim", "Kimura"), dry_run=False).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 1, 3)
    assert count(db, Patient) == 4 and count(db, ExternalRecord) == 4
    assert count(db, ConsentEvent) == 2  # nothing new: the same facts change nothing


def test_each_bad_row_is_named_by_line_and_a_commit_writes_nothing(client: TestClient,
                                                                   db: Database) -> None:
    practice = make_practice(client)
    bad = (
        "id,first_name,last_name,mobile,clinic,consent_method,consent_at\n"
        "1,Ana,Silva,(212) 555-0100,,,\n"
        "2,,Nameless,(212) 555-0101,,,\n"
        "3,Ben,Kim,(212) 123-4567,,,\n"
        "4,Cy,Berg,(212) 555-0102,,written,\n"
        "5,Di,Okafor,(212) 555-0103,,smoke signal,2025-05-01\n"
        "6,Ed,Cohen,(212) 555-0104,,written,2999-01-01\n"
        "1,Fa,Twice,(212) 555-0105,,,\n"
        "7,Gus,Nguyen,(212) 555-0106,Nowhere,,\n"
        "8,Hana,Rossi,,,verbal,2025-05-01\n"
        "9,Ivan,Extra,(212) 555-0107,,,,surplus\n"
    )
    r = post(client, practice, bad, dry_run=False)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "invalid_import"
    assert [(e["line"], e["error"]) for e in body["errors"]] == [
        (3, "missing_first_name"), (4, "phone_invalid"), (5, "consent_without_evidence"),
        (6, "invalid_consent_method"), (7, "consent_in_future"),
        (8, "duplicate_external_id"), (9, "clinic_not_found"), (10, "consent_without_phone"),
        (11, "too_many_cells")]
    assert count(db, Patient) == 0 and count(db, ConsentEvent) == 0
    preview = post(client, practice, bad).json()  # a dry run shows the same, and the good
    assert preview["created"] == 1 and len(preview["errors"]) == 9


def test_an_import_never_undoes_an_opt_out_here(client: TestClient, db: Database) -> None:
    practice = make_practice(client)
    made = make_patient(client, practice, "(212) 555-0100", first_name="Ana", opted_in=False)
    r = client.post(f"/api/v1/patients/{made['id']}/consent", headers=practice.auth,
                    json={"action": "opt_out", "scope": "all", "source": "verbal"})
    assert r.status_code == 201
    body = ("first_name,last_name,phone,consent_method,consent_at\n"
            "Ana,Doe,(212) 555-0100,written,2025-05-01\n")
    r = post(client, practice, body, dry_run=False)
    assert r.status_code == 200 and r.json()["unchanged"] == 1  # matched by phone and name
    verdict = client.get(f"/api/v1/patients/{made['id']}/can-text",
                         headers=practice.auth).json()
    assert [b["code"] for b in verdict["blockers"]] == ["opted_out"]


def test_files_that_cannot_be_read_are_refused_before_anything(client: TestClient) -> None:
    practice = make_practice(client)
    for body, code in ((b"\xff\xfe\x00bad", "csv_not_utf8"), (b"", "csv_empty"),
                       (b"last_name,phone\nSilva,1\n", "csv_no_first_name"),
                       (b"first,fname\nA,B\n", "csv_duplicate_column"),
                       (("first_name\n" + "A\n" * 10_001).encode(), "csv_too_many_rows")):
        r = post(client, practice, body)
        assert r.status_code == 400, (code, r.text)
        assert r.json()["error"] == code
    r = post(client, practice, b"first_name\n" + b"A" * 1_000_001)
    assert r.status_code == 413
    unauthenticated = client.post("/api/v1/patients/import", content=b"first_name\nA\n",
                                  headers={"Content-Type": "text/csv"})
    assert unauthenticated.status_code == 401
