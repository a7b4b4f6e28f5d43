"""Reminders with the clock moved: each fires once at its lead time, inside the send window."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.automation.support import beat, claim, opt_out, patient, template
from tests.conftest import fresh_database
from tests.helpers import Practice, make_practice
from textdesk.automation import reminders
from textdesk.kit.clock import FrozenClock
from textdesk.storage.db import Database
from textdesk.storage.models import Message, ReminderSend

NY_PHONE = "+12125550100"
BODY = "Hi {first_name}, see you {appt_date} at {appt_time} at {clinic_name}."


def rule(client: TestClient, practice: Practice, template_id: int, **data: object) -> int:
    r = client.post("/api/v1/reminder-rules", json={"template_id": template_id, **data},
                    headers=practice.auth)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def book(client: TestClient, practice: Practice, patient_id: int, start: str) -> int:
    r = client.post("/api/v1/appointments", json={"patient_id": patient_id, "start": start},
                    headers=practice.auth)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def sends(db: Database, appointment_id: int) -> list[ReminderSend]:
    with db.transaction() as session:
        return list(session.scalars(select(ReminderSend).where(
            ReminderSend.appointment_id == appointment_id).order_by(ReminderSend.id)))


def texts(db: Database, appointment_id: int) -> list[Message]:
    with db.transaction() as session:
        ids = [s.message_id for s in sends(db, appointment_id) if s.message_id]
        return [m for i in ids if (m := session.get(Message, i)) is not None]


@pytest.fixture
def setup(client: TestClient) -> tuple[Practice, int, int]:
    practice = make_practice(client)
    pid = patient(client, practice, NY_PHONE, first_name="Ana")
    return practice, pid, template(client, practice, BODY, "reminder")


def test_each_reminder_fires_once_at_its_lead_time(client: TestClient, db: Database,
                                                   clock: FrozenClock,
                                                   setup: tuple[Practice, int, int]) -> None:
    practice, pid, tid = setup
    seven, two, hours = (rule(client, practice, tid, lead=lead) for lead in ("7d", "2d", "2h"))
    appt = book(client, practice, pid, "2026-03-17T10:00:00-04:00")  # 14:00 UTC
    fired: list[int] = []
    for at, expected in [
        (datetime(2026, 3, 10, 13, 59, tzinfo=UTC), []),
        (datetime(2026, 3, 10, 14, 0, tzinfo=UTC), [seven]),
        (datetime(2026, 3, 10, 14, 1, tzinfo=UTC), []),  # the scheduler runs again: nothing
        (datetime(2026, 3, 15, 14, 0, tzinfo=UTC), [two]),
        (datetime(2026, 3, 16, 9, 0, tzinfo=UTC), []),
        (datetime(2026, 3, 17, 12, 0, tzinfo=UTC), [hours]),  # 08:00 EDT: the window is open
        (datetime(2026, 3, 17, 13, 0, tzinfo=UTC), []),
    ]:
        clock.set(at)
        before = {s.rule_id for s in sends(db, appt)}
        reminders.run(db, clock.now())
        reminders.run(db, clock.now())
        new = sorted({s.rule_id for s in sends(db, appt)} - before)
        assert new == expected, at
        fired += new
    assert fired == [seven, two, hours]
    bodies = {m.body for m in texts(db, appt)}
    assert bodies == {"Hi Ana, see you Tue Mar 17 at 10:00 AM at Main."}
    assert all(m.kind == "automated" and m.wait_reason is None for m in texts(db, appt))


@pytest.mark.parametrize(("start", "lead", "leaves"), [
    # due 22:30 EST → leaves 08:00 EST the next morning
    ("2026-03-04T11:30:00-05:00", "13h", datetime(2026, 3, 4, 13, 0, tzinfo=UTC)),
    # due 22:30 EST on Sat 7 Mar → DST starts overnight → leaves 08:00 EDT on Sunday
    ("2026-03-08T11:30:00-04:00", "12h", datetime(2026, 3, 8, 12, 0, tzinfo=UTC)),
    # due 22:30 EDT on Sat 31 Oct → DST ends overnight → leaves 08:00 EST on Sunday
    ("2026-11-01T11:30:00-05:00", "14h", datetime(2026, 11, 1, 13, 0, tzinfo=UTC)),
])
def test_a_reminder_due_at_2230_waits_until_0800_local(
        client: TestClient, db: Database, clock: FrozenClock,
        setup: tuple[Practice, int, int], start: str, lead: str, leaves: datetime) -> None:
    practice, pid, tid = setup
    rule(client, practice, tid, lead=lead)
    appt = book(client, practice, pid, start)
    hours = int(lead[:-1])
    clock.set(datetime.fromisoformat(start).astimezone(UTC) - timedelta(hours=hours))
    assert clock.now().astimezone(ZoneInfo("America/New_York")).strftime("%H:%M") == "22:30"
    reminders.run(db, clock.now())
    [text] = texts(db, appt)
    assert text.next_attempt_at == leaves and text.wait_reason == "quiet_hours"
    beat(db, clock)
    holds = client.get(f"/api/v1/messages/{text.id}", headers=practice.auth).json()["holds"]
    assert [h["code"] for h in holds] == ["quiet_hours"]
    clock.set(leaves - timedelta(minutes=1))
    beat(db, clock)
    assert [j.id for j in claim(db, clock)] == []
    clock.set(leaves)
    beat(db, clock)
    assert [j.id for j in claim(db, clock)] == [text.id]


def test_booked_late_only_the_closest_due_reminder_goes(
        client: TestClient, db: Database, clock: FrozenClock,
        setup: tuple[Practice, int, int]) -> None:
    practice, pid, tid = setup
    seven, two, hours = (rule(client, practice, tid, lead=lead) for lead in ("7d", "2d", "2h"))
    appt = book(client, practice, pid, "2026-03-03T15:00:00-05:00")  # tomorrow afternoon
    reminders.run(db, clock.now())
    rows = {s.rule_id: (s.status, s.skip_reason) for s in sends(db, appt)}
    assert rows == {seven: ("skipped", "reminder_superseded"), two: ("queued", None)}
    clock.set(datetime(2026, 3, 3, 18, 0, tzinfo=UTC))
    reminders.run(db, clock.now())
    assert len(texts(db, appt)) == 2 and hours in {s.rule_id for s in sends(db, appt)}


def test_too_soon_and_blocked_reminders_are_skipped_with_their_reason(
        client: TestClient, db: Database, clock: FrozenClock,
        setup: tuple[Practice, int, int]) -> None:
    practice, pid, tid = setup
    rule(client, practice, tid, lead="2h")
    early = book(client, practice, pid, "2026-03-03T07:30:00-05:00")  # before the window opens
    clock.set(datetime(2026, 3, 3, 10, 30, tzinfo=UTC))  # 05:30 local, the reminder is due
    reminders.run(db, clock.now())
    assert [(s.status, s.skip_reason) for s in sends(db, early)] == [
        ("skipped", "appointment_too_soon")]
    opt_out(client, practice, pid)
    later = book(client, practice, pid, "2026-03-03T15:00:00-05:00")
    clock.set(datetime(2026, 3, 3, 18, 0, tzinfo=UTC))
    reminders.run(db, clock.now())
    assert [(s.status, s.skip_reason) for s in sends(db, later)] == [("skipped", "opted_out")]


def test_a_cancelled_appointment_cancels_its_pending_reminder(
        client: TestClient, db: Database, clock: FrozenClock,
        setup: tuple[Practice, int, int]) -> None:
    practice, pid, tid = setup
    rule(client, practice, tid, lead="13h")
    appt = book(client, practice, pid, "2026-03-04T11:30:00-05:00")
    clock.set(datetime(2026, 3, 4, 3, 30, tzinfo=UTC))  # due; waits for 08:00
    reminders.run(db, clock.now())
    r = client.post(f"/api/v1/appointments/{appt}/cancel", headers=practice.auth)
    assert r.status_code == 200, r.text
    [text] = texts(db, appt)
    assert (text.status, text.cancel_reason) == ("canceled", "appointment_cancelled")


def test_a_moved_appointment_gets_its_reminders_again(
        client: TestClient, db: Database, clock: FrozenClock,
        setup: tuple[Practice, int, int]) -> None:
    practice, pid, tid = setup
    rule(client, practice, tid, lead="13h")
    appt = book(client, practice, pid, "2026-03-04T11:30:00-05:00")
    clock.set(datetime(2026, 3, 4, 3, 30, tzinfo=UTC))
    reminders.run(db, clock.now())
    [old] = texts(db, appt)
    r = client.patch(f"/api/v1/appointments/{appt}", json={"start": "2026-03-05T11:30:00-05:00"},
                     headers=practice.auth)
    assert r.status_code == 200, r.text
    with db.transaction() as session:
        moved = session.get(Message, old.id)
        assert moved is not None and moved.cancel_reason == "appointment_moved"
    clock.set(datetime(2026, 3, 5, 3, 30, tzinfo=UTC))
    reminders.run(db, clock.now())
    [new] = texts(db, appt)
    assert new.id != old.id and "Thu Mar 5 at 11:30 AM" in new.body


def test_two_schedulers_at_once_write_each_reminder_once(tmp_path, clock: FrozenClock) -> None:
    """Two connectors run the job at the same instant, each in its own process's session."""
    db = fresh_database(tmp_path)
    from tests.conftest import ADMIN_TOKEN
    from textdesk.config import Settings
    from textdesk.web.app import create_app

    settings = Settings(database_url=db.url, admin_token=ADMIN_TOKEN,
                        public_url="http://testserver")
    with TestClient(create_app(settings, db, clock)) as client:
        practice = make_practice(client)
        tid = template(client, practice, BODY, "reminder")
        rule(client, practice, tid, lead="1d")
        appts = [book(client, practice, patient(client, practice, f"+1212555{i:04d}"),
                      "2026-03-03T12:00:00-05:00") for i in range(1, 9)]
    clock.set(datetime(2026, 3, 2, 17, 0, tzinfo=UTC))  # the day-before reminders are due
    other = Database(db.url)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(database: Database) -> None:
        try:
            barrier.wait()
            reminders.run(database, clock.now())
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(d,)) for d in (db, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with db.transaction() as session:
        rows = list(session.scalars(select(ReminderSend)))
        count = session.scalar(select(func.count()).select_from(Message).where(
            Message.kind == "automated"))
    assert sorted(r.appointment_id for r in rows) == sorted(appts) and count == len(appts)
    other.dispose()
    db.dispose()


@pytest.mark.parametrize(("data", "code"), [
    ({"lead": "7x"}, "invalid_lead"),
    ({"lead": "0h"}, "invalid_lead"),
    ({"lead_minutes": "60"}, "invalid_lead"),
    ({"kind": "weekly", "lead": "1d"}, "invalid_kind"),
    ({"kind": "same_day", "send_time": "25:00"}, "invalid_send_time"),
    ({"lead": "1d", "excluded_weekdays": ["funday"]}, "invalid_excluded_weekdays"),
    ({"lead": "1d", "excluded_weekdays": list(range(7))}, "invalid_excluded_weekdays"),
])
def test_bad_rules_are_refused(client: TestClient, setup: tuple[Practice, int, int],
                               data: dict, code: str) -> None:
    practice, _pid, tid = setup
    r = client.post("/api/v1/reminder-rules", json={"template_id": tid, **data},
                    headers=practice.auth)
    assert r.status_code == 422 and r.json()["error"] == code
    assert client.get("/api/v1/reminder-rules", headers=practice.auth).json() == []


def test_a_rule_needs_a_reminder_or_confirmation_template(client: TestClient) -> None:
    practice = make_practice(client)
    tid = template(client, practice, "Hi {first_name}", "campaign")
    r = client.post("/api/v1/reminder-rules", json={"template_id": tid, "lead": "1d"},
                    headers=practice.auth)
    assert r.status_code == 422 and r.json()["error"] == "invalid_template_purpose"


@pytest.mark.parametrize(("body", "problem"), [
    ("Hi {last_name}", "unknown_field"),
    ("Your balance is {balance}", "unknown_field"),
    ("Hi {first_name", "unbalanced_braces"),
    ("Book {recall_link}", "field_not_available"),
])
def test_templates_are_checked_when_saved(client: TestClient, body: str, problem: str) -> None:
    practice = make_practice(client)
    r = client.post("/api/v1/templates", json={"name": "t", "purpose": "reminder", "body": body},
                    headers=practice.auth)
    assert r.status_code == 422 and r.json()["error"] == "invalid_template"
    assert [p["code"] for p in r.json()["problems"]] == [problem]
    assert client.get("/api/v1/templates", headers=practice.auth).json() == []


def test_a_practice_with_an_empty_window_does_not_stop_the_others(
        client: TestClient, db: Database, clock: FrozenClock) -> None:
    from textdesk.storage.models import Practice as PracticeRow

    broken = make_practice(client, name="Broken")
    tid = template(client, broken, BODY, "reminder")
    rule(client, broken, tid, lead="1d")
    book(client, broken, patient(client, broken, "+12125550100"), "2026-03-03T12:00:00-05:00")
    with db.transaction() as session:  # hours that leave no time inside 08:00–21:00
        row = session.get(PracticeRow, broken.id)
        assert row is not None
        row.quiet_start, row.quiet_end = "22:00", "23:00"
    fine = make_practice(client, name="Fine", number="+15005550007")
    rule(client, fine, template(client, fine, BODY, "reminder"), lead="1d")
    appt = book(client, fine, patient(client, fine, "+12125550101"), "2026-03-03T12:00:00-05:00")
    clock.set(datetime(2026, 3, 2, 17, 0, tzinfo=UTC))
    reminders.run(db, clock.now())
    assert len(texts(db, appt)) == 1
