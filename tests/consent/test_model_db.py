"""Random sequences of patient texts and staff actions, through the webhook, the API and a real
database, against a model of consent one can read (C1–C5, C8).

Each example uses a phone of its own, so examples share the database without sharing state.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from functools import partial

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings, strategies as st

from tests import helpers
from tests.consent.support import (
    answers_to,
    consent_events,
    consent_state,
    messages_with,
    text_in,
)
from tests.helpers import Practice, make_patient
from textdesk.storage.db import Database

# These tests are about textdesk's own keyword answers: the carrier's are off on the
# practice's number (`keyword_replies=textdesk`).
make_practice = partial(helpers.make_practice, keyword_replies="textdesk")

BODIES = {
    "stop": ["STOP", " Stop. ", "opt-out", "Opt Out", "unsubscribe", "QUIT", "end"],
    "start": ["START", "Unstop"],
    "yes": ["YES", "yes!"],
    "help": ["HELP", "info"],
    "revocation": ["please stop texting me", "remove me from your list", "STOP please"],
    "ordinary": ["stop by tomorrow?", "don't stop", "Thanks!", "C", "ok see you"],
}
STAFF = ["staff_opt_in", "staff_opt_out", "staff_opt_out_marketing", "staff_sends",
         "staff_confirms_flag", "staff_dismisses_flag"]

step = st.one_of(
    st.sampled_from(sorted(BODIES)).flatmap(
        lambda group: st.tuples(st.just(group), st.sampled_from(BODIES[group]))),
    st.tuples(st.sampled_from(STAFF), st.just("")))
_phones = itertools.count(2_000_000)


@dataclass
class Model:
    state: str = "opted_in"  # the patient starts with verbal consent on record
    events: int = 1
    answers: dict[str, int] = field(default_factory=lambda: {"opted_out": 0, "opted_in": 0,
                                                             "help": 0})
    open_flags: int = 0
    pending_texts: int = 0

    def opt_out(self) -> None:
        self.state, self.events, self.open_flags, self.pending_texts = (
            "opted_out", self.events + 1, 0, 0)

    def opt_in(self) -> None:
        self.state, self.events = "opted_in", self.events + 1

    def text(self, group: str) -> None:
        if group == "stop":
            self.opt_out()
            self.answers["opted_out"] += 1
        elif group == "start" or (group == "yes" and self.state == "opted_out"):
            self.opt_in()
            self.answers["opted_in"] += 1
        elif group == "help":
            self.answers["help"] += 1
        elif group == "revocation" and self.state != "opted_out":
            self.open_flags += 1


class Office:
    """Staff actions through the public API."""

    def __init__(self, client: TestClient, practice: Practice, patient_id: int) -> None:
        self.client, self.practice, self.patient_id = client, practice, patient_id

    def consent(self, action: str, scope: str = "all") -> None:
        r = self.client.post(f"/api/v1/patients/{self.patient_id}/consent",
                             json={"action": action, "scope": scope, "source": "verbal"},
                             headers=self.practice.auth)
        assert r.status_code == 201, r.text

    def send(self) -> int:
        r = self.client.post("/api/v1/messages", json={"patient_id": self.patient_id,
                                                       "body": "See you at 9."},
                             headers=self.practice.auth)
        assert r.status_code in (201, 422), r.text
        return r.status_code

    def open_flags(self, phone: str) -> list[int]:
        flags = self.client.get("/api/v1/consent-flags", headers=self.practice.auth).json()
        return [f["id"] for f in flags if f["phone"] == phone]

    def resolve_first_flag(self, phone: str, action: str) -> bool:
        flags = self.open_flags(phone)
        if not flags:
            return False
        r = self.client.post(f"/api/v1/consent-flags/{flags[0]}/{action}",
                             headers=self.practice.auth)
        assert r.status_code == 200, r.text
        return True


def apply_staff(office: Office, model: Model, action: str, phone: str) -> None:
    if action == "staff_opt_in":
        office.consent("opt_in")
        model.opt_in()
    elif action == "staff_opt_out":
        office.consent("opt_out")
        model.opt_out()
    elif action == "staff_opt_out_marketing":
        office.consent("opt_out", "marketing")  # campaigns only: texting goes on
        model.events += 1
    elif action == "staff_sends":
        status = office.send()
        assert status == (201 if model.state == "opted_in" else 422)
        model.pending_texts += status == 201
    elif action == "staff_confirms_flag":
        if office.resolve_first_flag(phone, "confirm"):
            model.opt_out()
    elif office.resolve_first_flag(phone, "dismiss"):
        model.open_flags -= 1


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(step, min_size=1, max_size=12))
def test_consent_through_the_whole_stack_follows_the_model(
        client: TestClient, db: Database, sequence: list[tuple[str, str]]) -> None:
    practice = getattr(client, "_consent_practice", None)
    if practice is None:
        practice = make_practice(client)
        client._consent_practice = practice  # type: ignore[attr-defined]
    digits = f"{next(_phones):07d}"
    phone = f"+1415{digits}"
    patient = make_patient(client, practice, f"(415) {digits[:3]}-{digits[3:]}")
    office, model = Office(client, practice, patient["id"]), Model()
    for kind, body in sequence:
        if kind in BODIES:
            text_in(client, practice, phone, body)
            model.text(kind)
        else:
            apply_staff(office, model, kind, phone)
        assert consent_state(client, practice, phone) == model.state

    assert len(consent_events(db, practice.id, phone)) == model.events
    answers = answers_to(db, practice.id, phone)
    for name, count in model.answers.items():
        assert sum(a.created_by == f"auto:{name}" for a in answers) == count
    assert len(office.open_flags(phone)) == model.open_flags
    manual = messages_with(db, practice.id, phone, kind="manual", status="pending")
    assert len(manual) == model.pending_texts
    if model.state == "opted_out":  # only a STOP confirmation or a HELP answer may still leave
        waiting = messages_with(db, practice.id, phone, direction="outbound", status="pending")
        assert {m.created_by for m in waiting} <= {"auto:opted_out", "auto:help"}
