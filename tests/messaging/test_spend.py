"""The month's spend is kept as texts are sent (decision 0196): it always equals the sum of
the costs of the texts each clinic sent that month, whatever way a text came to be sent."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.helpers import Practice, make_patient, make_practice
from tests.practice.test_api_can_text import carrier_answers, post
from textdesk.domain.messages import Step
from textdesk.kit.clock import FrozenClock
from textdesk.messaging.delivery import advance
from textdesk.messaging.recipients import month_start
from textdesk.messaging.store import messages as message_store
from textdesk.storage.db import Database
from textdesk.storage.models import ClinicSpend, Message


def summed(db: Database, practice: Practice, since: datetime, until: datetime) -> Decimal:
    """The sum the spending limit used to read, from the texts themselves."""
    with db.read() as session:
        total = session.scalar(select(func.coalesce(func.sum(Message.cost_usd), 0)).where(
            Message.practice_id == practice.id, Message.clinic_id == practice.clinic_id,
            Message.direction == "outbound", Message.sent_at >= since, Message.sent_at < until))
    return Decimal(str(total)).quantize(Decimal("0.0001"))


def kept(db: Database, practice: Practice, since: datetime) -> Decimal:
    with db.read() as session:
        spent = message_store.month_spend(session, practice.id, practice.clinic_id, since)
    return Decimal(str(spent)).quantize(Decimal("0.0001"))


def test_the_kept_spend_is_what_each_clinic_sent_each_month(
        client: TestClient, db: Database, clock: FrozenClock) -> None:
    first = make_practice(client, limit=100)
    second = make_practice(client, name="Second Dental", number="+15005550007", limit=100)
    patients = {p.id: make_patient(client, p) for p in (first, second)}
    this_month = month_start(clock.now())
    next_month = month_start(this_month + timedelta(days=32))
    after = month_start(next_month + timedelta(days=32))
    for practice, count in ((first, 3), (second, 2)):
        for i in range(count):
            assert post(client, practice, patients[practice.id]["id"],
                        "A longer text " * (i * 6 + 1)).status_code == 201
    assert carrier_answers(db, clock) == 5
    # A text the carrier refused was never sent: it costs nothing.
    assert post(client, first, patients[first.id]["id"]).status_code == 201
    assert carrier_answers(db, clock, error_code=21612) == 1
    # A report of `delivered` before the carrier's answer was recorded sends it too.
    r = post(client, second, patients[second.id]["id"], "Delivered first")
    with db.transaction() as session:
        message = session.get(Message, r.json()["id"])
        assert message is not None
        assert advance(session, message, Step.DELIVER, clock.now(), source="callback")
        # Inside the same transaction the limit already counts it.
        assert message_store.month_spend(session, second.id, second.clinic_id, this_month) == (
            summed(db, second, this_month, next_month) + message.cost_usd)
    # A send undone with its savepoint costs nothing.
    r = post(client, first, patients[first.id]["id"], "Undone")
    with db.transaction() as session:
        message = session.get(Message, r.json()["id"])
        assert message is not None
        undone = session.begin_nested()
        assert advance(session, message, Step.DELIVER, clock.now(), source="callback")
        undone.rollback()
    # A send inside a savepoint that is released counts once, when the transaction commits.
    r = post(client, second, patients[second.id]["id"], "Kept")
    with db.transaction() as session:
        message = session.get(Message, r.json()["id"])
        assert message is not None
        with session.begin_nested():
            assert advance(session, message, Step.DELIVER, clock.now(), source="callback")
        # The release wrote nothing: the spend row is written last, at the commit.
        row = session.scalar(select(ClinicSpend.cost_usd).where(
            ClinicSpend.clinic_id == second.clinic_id,
            ClinicSpend.month == message_store.month_key(this_month)))
        assert Decimal(str(row)).quantize(Decimal("0.0001")) == kept(db, second, this_month)
        assert message_store.month_spend(session, second.id, second.clinic_id, this_month) == (
            summed(db, second, this_month, next_month) + message.cost_usd)
    clock.set(next_month + timedelta(seconds=5))
    assert post(client, first, patients[first.id]["id"], "Next month").status_code == 201
    assert carrier_answers(db, clock) >= 1
    for practice in (first, second):
        assert kept(db, practice, this_month) == summed(db, practice, this_month, next_month)
        assert kept(db, practice, next_month) == summed(db, practice, next_month, after)
    assert kept(db, first, this_month) > 0 and kept(db, second, this_month) > 0
    assert kept(db, first, next_month) > 0 and kept(db, second, next_month) == 0
