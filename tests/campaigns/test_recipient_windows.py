"""Campaign texts keep each recipient's clock, count like any other text and name their true
hold; the connector's scheduler, not a read, completes a campaign."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from tests.automation.support import campaign, campaign_texts, claim, patient
from tests.helpers import make_practice
from textdesk.campaigns import service as campaigns
from textdesk.domain.schedule import is_allowed, practice_window
from textdesk.domain.segments import PRICE_PER_SEGMENT_USD, count_segments
from textdesk.kit.clock import FrozenClock
from textdesk.storage.db import Database

NY, LA = "America/New_York", "America/Los_Angeles"


@pytest.mark.parametrize(("k", "extra"), [(2, 1), (3, 1), (6, 1), (10, 1), (1, 13), (2, 40)])
def test_a_campaign_text_counts_and_costs_whole_segments(client: TestClient, db: Database,
                                                         k: int, extra: int) -> None:
    """153·k+1 septets are k+1 segments (154 still fit one); 166 are 2, not 2.078."""
    practice = make_practice(client)
    patient(client, practice, "+12125550101", first_name="Ana")
    body = "Hi {first_name} " + "x" * (153 * k + extra - len("Hi Ana "))
    made = campaign(client, practice, body=body)
    [text] = campaign_texts(db, made["id"])
    manual = count_segments(text.body)
    assert len(text.body) == 153 * k + extra
    assert text.segments == manual.segments == k + 1
    assert Decimal(text.cost_usd) == PRICE_PER_SEGMENT_USD * (k + 1) == manual.cost()
    shown = client.get(f"/api/v1/messages/{text.id}", headers=practice.auth).json()
    assert shown["segments"] == k + 1 and isinstance(shown["segments"], int)


def test_new_york_goes_now_while_los_angeles_waits_for_its_own_window(
        client: TestClient, db: Database, clock: FrozenClock) -> None:
    """Practice hours 13:00–16:00; 14:38 in New York (open), 11:38 in Los Angeles (shut)."""
    practice = make_practice(client)
    r = client.patch("/api/v1/practice", json={"quiet_hours": {"start": "13:00",
                                                               "end": "16:00"}},
                     headers=practice.auth)
    assert r.status_code == 200, r.text
    patient(client, practice, "+12125550101")
    patient(client, practice, "+14155550102")
    patient(client, practice, "+13105550103")
    clock.set(datetime(2026, 3, 4, 19, 38, tzinfo=UTC))
    made = campaign(client, practice)
    texts = {t.to_e164: t for t in campaign_texts(db, made["id"])}
    assert texts["+12125550101"].next_attempt_at == clock.now()
    assert texts["+12125550101"].wait_reason is None
    window = practice_window("13:00", "16:00")
    for la in ("+14155550102", "+13105550103"):
        assert texts[la].wait_reason == "quiet_hours"
        assert texts[la].next_attempt_at >= datetime(2026, 3, 4, 21, 0, tzinfo=UTC)
        assert is_allowed(texts[la].next_attempt_at, (LA,), window)
    assert [j.to for j in claim(db, clock)] == ["+12125550101"]


def test_a_campaign_started_at_night_holds_quiet_hours_not_rate_limited(
        client: TestClient, db: Database, clock: FrozenClock) -> None:
    practice = make_practice(client)
    for i in range(4):
        patient(client, practice, f"+1212555{i:04d}")
    clock.set(datetime(2026, 3, 3, 4, 0, tzinfo=UTC))  # 23:00 in New York
    made = campaign(client, practice)
    texts = campaign_texts(db, made["id"])
    assert {t.wait_reason for t in texts} == {"quiet_hours"}
    holds = client.get(f"/api/v1/messages/{texts[2].id}", headers=practice.auth).json()
    assert "rate_limited" not in [h["code"] for h in holds["holds"]]
    clock.set(datetime(2026, 3, 3, 15, 0, tzinfo=UTC))  # 10:00: open, the pace holds them
    made = campaign(client, practice, name="day")
    day = campaign_texts(db, made["id"])
    assert [t.wait_reason for t in day] == [None, "rate_limited", "rate_limited",
                                            "rate_limited"]


def test_only_the_scheduler_completes_a_campaign(client: TestClient, db: Database,
                                                 clock: FrozenClock) -> None:
    practice = make_practice(client)
    patient(client, practice, "+12125550101")
    made = campaign(client, practice)
    assert len(claim(db, clock)) == 1
    with db.transaction() as session:
        for text in campaign_texts(db, made["id"]):
            session.get(type(text), text.id).status = "sent"  # type: ignore[union-attr]
    shown = client.get(f"/api/v1/campaigns/{made['id']}", headers=practice.auth).json()
    assert shown["status"] == "running"  # a read changes nothing
    assert campaigns.complete_finished(db, clock.now()) == 1
    shown = client.get(f"/api/v1/campaigns/{made['id']}", headers=practice.auth).json()
    assert shown["status"] == "completed"
    assert campaigns.complete_finished(db, clock.now()) == 0
