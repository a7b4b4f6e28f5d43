"""Lead stages, the transition table and the automation rules (pure, now is a parameter)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from textdesk.domain import leads
from textdesk.domain.eligibility import ACTIVE_LEAD_STAGES
from textdesk.domain.leads import LeadSettings, LeadStage

N, C, E = LeadStage.NEW, LeadStage.CONTACTED, LeadStage.ENGAGED
S, W, L = LeadStage.SCHEDULED, LeadStage.CLOSED_WON, LeadStage.CLOSED_LOST
T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
DEFAULTS = LeadSettings()

ALLOWED = {
    (N, C), (N, E), (N, S), (N, W), (N, L),
    (C, E), (C, S), (C, W), (C, L),
    (E, S), (E, W), (E, L),
    (S, E), (S, W), (S, L),
}


@pytest.mark.parametrize("current", list(LeadStage))
@pytest.mark.parametrize("new", list(LeadStage))
def test_every_transition_is_allowed_or_refused_by_the_table(current: LeadStage,
                                                             new: LeadStage) -> None:
    assert leads.can_move(current, new) is ((current, new) in ALLOWED)


@pytest.mark.parametrize("stage, active", [(N, True), (C, True), (E, True), (S, False),
                                           (W, False), (L, False)])
def test_active_stages_are_the_rule_engines(stage: LeadStage, active: bool) -> None:
    assert leads.is_active(stage) is active
    assert (stage.value in ACTIVE_LEAD_STAGES) is active


@pytest.mark.parametrize("stage", [W, L])
def test_closed_stages_are_terminal(stage: LeadStage) -> None:
    assert leads.TRANSITIONS[stage] == frozenset()
    assert stage not in leads.OPEN_STAGES


@pytest.mark.parametrize("current, booked_after, expected", [
    (N, timedelta(0), W),
    (C, timedelta(days=29, hours=23), W),
    (E, timedelta(days=30), W),  # the window's last instant still counts
    (E, timedelta(days=30, seconds=1), S),
    (N, timedelta(days=45), S),
    (S, timedelta(days=45), None),  # already scheduled: nothing to do
    (S, timedelta(days=3), W),
    (W, timedelta(days=1), None),  # a closed lead's history is not rewritten
    (L, timedelta(days=1), None),
])
def test_stage_after_booking(current: LeadStage, booked_after: timedelta,
                             expected: LeadStage | None) -> None:
    assert leads.stage_after_booking(current, T0, T0 + booked_after, DEFAULTS) == expected


def test_booking_window_follows_the_practice_setting() -> None:
    short = LeadSettings(appointment_window_days=7)
    assert leads.stage_after_booking(N, T0, T0 + timedelta(days=8), short) == S
    assert leads.stage_after_booking(N, T0, T0 + timedelta(days=6), short) == W


@pytest.mark.parametrize("stage, quiet_for, lost", [
    (N, timedelta(days=15), True),
    (C, timedelta(days=14, hours=23), False),
    (E, timedelta(days=16), True),
    (S, timedelta(days=99), False),  # booked: never lost for silence
    (W, timedelta(days=99), False),
    (L, timedelta(days=99), False),
])
def test_is_gone_quiet(stage: LeadStage, quiet_for: timedelta, lost: bool) -> None:
    assert leads.is_gone_quiet(stage, T0, T0 + quiet_for, DEFAULTS) is lost


@pytest.mark.parametrize("current, expected", [(N, C), (C, None), (E, None), (S, None),
                                               (W, None), (L, None)])
def test_stage_after_outbound(current: LeadStage, expected: LeadStage | None) -> None:
    assert leads.stage_after_outbound(current) == expected


@pytest.mark.parametrize("current, expected", [(N, E), (C, E), (E, None), (S, None),
                                               (W, None), (L, None)])
def test_stage_after_reply(current: LeadStage, expected: LeadStage | None) -> None:
    assert leads.stage_after_reply(current) == expected


@pytest.mark.parametrize("current, other_booking, expected", [
    (S, False, E), (S, True, None), (W, False, None), (E, False, None), (L, False, None)])
def test_stage_after_cancellation(current: LeadStage, other_booking: bool,
                                  expected: LeadStage | None) -> None:
    assert leads.stage_after_cancellation(current, other_booking) == expected


@pytest.mark.parametrize("last, now_after, allowed", [
    (None, timedelta(0), True),
    (T0, timedelta(hours=1), False),
    (T0, timedelta(hours=23, minutes=59), False),
    (T0, timedelta(hours=24), True),
    (T0, timedelta(days=3), True),
])
def test_redirect_at_most_once_a_day(last: datetime | None, now_after: timedelta,
                                     allowed: bool) -> None:
    assert leads.may_redirect(last, T0 + now_after) is allowed


@pytest.mark.parametrize("name, phone, expected", [
    ("Main", "+14155550100", "please contact Main directly at (415) 555-0100."),
    (None, "+14155550100", "please contact the clinic directly at (415) 555-0100."),
    ("Main", None, "please contact Main directly."),
])
def test_redirect_text_names_the_clinic_and_its_phone(name: str | None, phone: str | None,
                                                      expected: str) -> None:
    text = leads.redirect_text(name, phone)
    assert text.endswith(expected)
    assert len(text) <= 160


@pytest.mark.parametrize("stored, expected", [
    (None, LeadSettings(30, 15)),
    ({}, LeadSettings(30, 15)),
    ({"lead_appointment_window_days": 10}, LeadSettings(10, 15)),
    ({"lead_inactivity_days": 3, "other": 1}, LeadSettings(30, 3)),
    ({"lead_inactivity_days": 0}, LeadSettings(30, 15)),  # invalid stored values fall back
    ({"lead_inactivity_days": True}, LeadSettings(30, 15)),
    ({"lead_appointment_window_days": "7"}, LeadSettings(30, 15)),
])
def test_settings_from_practice_json(stored: dict[str, object] | None,
                                     expected: LeadSettings) -> None:
    assert leads.settings_from(stored) == expected


@pytest.mark.parametrize("stage", list(LeadStage))
def test_only_a_closed_lead_is_reopened(stage: LeadStage) -> None:
    assert leads.can_reopen(stage) is (stage in leads.CLOSED_STAGES)
