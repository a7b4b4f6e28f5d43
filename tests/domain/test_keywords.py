"""Keyword classification (C2–C5) and what each keyword does to consent, as tables."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from textdesk.domain.consent import (
    Answer,
    ConsentAction,
    ConsentState,
    FlagStatus,
    answer_text,
    business_days_after,
    can_resolve,
    keyword_effect,
)
from textdesk.domain.keywords import Keyword, classify, squeeze

K = Keyword


@pytest.mark.parametrize("body", [
    "STOP", "Stop", "stop", " stop. ", "STOP!!", "stop!", "S T O P", "\tStop\n", "STOP 🛑",
    "Stop.", "¡STOP!", "ＳＴＯＰ",  # full-width letters, as some keyboards send them
    "STOPALL", "Stop All", "stop-all", "UNSUBSCRIBE", "Unsubscribe.", "un-subscribe",
    "CANCEL", "cancel", "END", "end.", "QUIT", "Quit!", "REVOKE", "revoke",
    "OPTOUT", "opt-out", "Opt Out", "OPT OUT", "opt out!", "Opt_Out", "'stop'", '"STOP"',
])
def test_stop_family_is_recognised_whole_body(body: str) -> None:
    assert classify(body) is K.STOP


@pytest.mark.parametrize("body,expected", [
    ("START", K.START), ("start", K.START), (" Start! ", K.START), ("UNSTOP", K.START),
    ("un-stop", K.START), ("Unstop.", K.START),
    ("YES", K.YES), ("yes", K.YES), ("Yes!", K.YES), ("y e s", K.YES),
    ("HELP", K.HELP), ("help?", K.HELP), ("Help!", K.HELP), ("INFO", K.HELP), ("info.", K.HELP),
])
def test_start_yes_help(body: str, expected: Keyword) -> None:
    assert classify(body) is expected


@pytest.mark.parametrize("body", [
    "stop by tomorrow?", "Can I stop by tomorrow?", "don't stop", "Don't stop", "stopped",
    "nonstop", "the end", "cancel my appointment", "Cancel my 3pm please", "I quit smoking!",
    "yes please", "Yes, 9am works", "y", "yeah", "C", "helpful, thanks", "information please?",
    "starting tomorrow", "restart", "thanks", "", "   ", "!!!", "🛑", "Ok", "STOPS",
    "Will the pain stop?", "Please help me reschedule",
])
def test_non_keywords(body: str) -> None:
    assert classify(body) in (K.NONE, K.REVOCATION)
    assert classify(body) not in (K.STOP, K.START, K.YES, K.HELP)


@pytest.mark.parametrize("body", [
    "please stop texting me", "Stop texting me!", "stop messaging me", "quit texting me",
    "remove me from your list", "Remove me from your list please", "Please remove my number",
    "take me off your list", "don't text me", "Don't text me again", "do not text me",
    "Do NOT message me", "no more texts", "No more messages please", "unsubscribe me",
    "opt me out", "please opt me out", "I don't want these texts", "leave me alone",
    "wrong number", "Wrong number, who is this?", "STOP please", "stop now", "Stop it please",
    "please STOP", "unsubscribe me now", "Stop. Thank you", "I don’t want any more texts",
])
def test_free_text_revocations_are_flagged(body: str) -> None:
    assert classify(body) is K.REVOCATION


@pytest.mark.parametrize("body", [
    "stop by tomorrow?", "don't stop", "Can you stop the bleeding?", "I will stop by at 3",
    "Yes, see you then", "Thanks!", "Please call me", "Can I text you photos?",
    "Cancel my appointment", "text me the address", "I can't make it, please reschedule",
    "Did the doctor say to stop the medication?",
])
def test_ordinary_texts_are_not_flagged(body: str) -> None:
    assert classify(body) is K.NONE


@pytest.mark.parametrize("body,squeezed", [
    (" Stop. ", "stop"), ("OPT-OUT", "optout"), ("Opt Out!", "optout"), ("ＳＴＯＰ", "stop"),
])
def test_squeeze(body: str, squeezed: str) -> None:
    assert squeeze(body) == squeezed


S = ConsentState
OUT, IN_, NO = ConsentAction.OPT_OUT, ConsentAction.OPT_IN, None


@pytest.mark.parametrize("keyword,state,action,answer,flags", [
    (K.STOP, S.NONE, OUT, Answer.OPTED_OUT, False),
    (K.STOP, S.OPTED_IN, OUT, Answer.OPTED_OUT, False),
    (K.STOP, S.OPTED_OUT, OUT, Answer.OPTED_OUT, False),  # every STOP is confirmed
    (K.START, S.NONE, IN_, Answer.OPTED_IN, False),
    (K.START, S.OPTED_IN, IN_, Answer.OPTED_IN, False),
    (K.START, S.OPTED_OUT, IN_, Answer.OPTED_IN, False),
    (K.YES, S.OPTED_OUT, IN_, Answer.OPTED_IN, False),  # YES after an opt-out re-opts in
    (K.YES, S.OPTED_IN, NO, None, False),  # otherwise YES is an ordinary reply (G3)
    (K.YES, S.NONE, NO, None, False),
    (K.HELP, S.NONE, NO, Answer.HELP, False),
    (K.HELP, S.OPTED_OUT, NO, Answer.HELP, False),  # HELP is answered even after an opt-out
    (K.REVOCATION, S.OPTED_IN, NO, None, True),
    (K.REVOCATION, S.NONE, NO, None, True),
    (K.REVOCATION, S.OPTED_OUT, NO, None, False),  # nothing left to revoke
    (K.NONE, S.OPTED_OUT, NO, None, False),  # an ordinary reply never re-opts in
    (K.NONE, S.OPTED_IN, NO, None, False),
])
def test_keyword_effect(keyword: Keyword, state: ConsentState, action: ConsentAction | None,
                        answer: Answer | None, flags: bool) -> None:
    effect = keyword_effect(keyword, state)
    assert (effect.action, effect.answer, effect.flags_revocation) == (action, answer, flags)


@pytest.mark.parametrize("answer,must_contain", [
    (Answer.OPTED_OUT, ["Bright Smiles", "unsubscribed", "START"]),
    (Answer.OPTED_IN, ["Bright Smiles", "resubscribed", "STOP"]),
    (Answer.HELP, ["Bright Smiles", "(415) 555-0100", "STOP"]),
    (Answer.UNMONITORED, ["Bright Smiles", "does not take replies", "(415) 555-0100", "STOP"]),
])
def test_answer_texts_fit_one_segment_and_say_what_they_must(answer: Answer,
                                                             must_contain: list[str]) -> None:
    text = answer_text(answer, "Bright Smiles", "+14155550100")
    for part in must_contain:
        assert part in text
    assert len(text) <= 160


def test_help_without_a_phone_still_says_how_to_reach_the_office() -> None:
    assert "call the office" in answer_text(Answer.HELP, "Bright Smiles", None)


NY = ZoneInfo("America/New_York")


@pytest.mark.parametrize("now,expected", [
    (datetime(2026, 4, 6, 15, 0, tzinfo=UTC), datetime(2026, 4, 20, 15, 0, tzinfo=UTC)),  # Mon
    (datetime(2026, 4, 10, 15, 0, tzinfo=UTC), datetime(2026, 4, 24, 15, 0, tzinfo=UTC)),  # Fri
    (datetime(2026, 4, 11, 15, 0, tzinfo=UTC), datetime(2026, 4, 24, 15, 0, tzinfo=UTC)),  # Sat
    (datetime(2026, 4, 12, 15, 0, tzinfo=UTC), datetime(2026, 4, 24, 15, 0, tzinfo=UTC)),  # Sun
    # Monday 01:00 UTC is still Sunday evening in New York: counted from Sunday.
    (datetime(2026, 4, 6, 1, 0, tzinfo=UTC), datetime(2026, 4, 18, 1, 0, tzinfo=UTC)),
    # Across the spring DST change the local hour stays (10:00 EST → 10:00 EDT).
    (datetime(2026, 3, 2, 15, 0, tzinfo=UTC), datetime(2026, 3, 16, 14, 0, tzinfo=UTC)),
])
def test_revocation_due_in_ten_business_days(now: datetime, expected: datetime) -> None:
    assert business_days_after(now, 10, NY) == expected


@pytest.mark.parametrize("current,new,allowed", [
    (FlagStatus.OPEN, FlagStatus.CONFIRMED, True),
    (FlagStatus.OPEN, FlagStatus.DISMISSED, True),
    (FlagStatus.OPEN, FlagStatus.SUPERSEDED, True),
    (FlagStatus.CONFIRMED, FlagStatus.DISMISSED, False),
    (FlagStatus.DISMISSED, FlagStatus.CONFIRMED, False),
    (FlagStatus.SUPERSEDED, FlagStatus.CONFIRMED, False),
    (FlagStatus.CONFIRMED, FlagStatus.CONFIRMED, False),
])
def test_flag_transitions(current: FlagStatus, new: FlagStatus, allowed: bool) -> None:
    assert can_resolve(current, new) is allowed
