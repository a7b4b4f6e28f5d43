"""Random sequences of patient texts and staff actions against a model of consent one can read.

The model is written from the behaviours (C1–C5), not from the code: STOP opts out, START
opts in, YES opts in only after an opt-out, HELP changes nothing, an ordinary reply changes
nothing, a free-text revocation is flagged unless already opted out, and staff may record
consent either way. The code under test classifies real text bodies and folds real events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings, strategies as st

from textdesk.domain.consent import (
    NO_CONSENT,
    Answer,
    ConsentAction,
    ConsentEventView,
    ConsentScope,
    ConsentStatus,
    apply,
    fold,
    keyword_effect,
)
from textdesk.domain.keywords import classify

BODIES = {
    "stop": ["STOP", "stop", " Stop. ", "STOP!!", "opt-out", "Opt Out", "unsubscribe", "QUIT",
             "end", "Cancel", "revoke", "STOPALL"],
    "start": ["START", "start", "Unstop", "UNSTOP!"],
    "yes": ["YES", "yes", "Yes!"],
    "help": ["HELP", "help?", "INFO", "info"],
    "revocation": ["please stop texting me", "remove me from your list", "don't text me",
                   "STOP please", "no more texts"],
    "ordinary": ["stop by tomorrow?", "don't stop", "Thanks!", "C", "Yes, 9 works", "ok",
                 "Can I come at 10?", "I'll be late", "start time?", "help me reschedule"],
}

patient_texts = st.sampled_from(sorted(BODIES)).flatmap(
    lambda group: st.tuples(st.just(group), st.sampled_from(BODIES[group])))
staff_actions = st.tuples(
    st.sampled_from(["staff_opt_in", "staff_opt_out"]),
    st.sampled_from([ConsentScope.ALL, ConsentScope.MARKETING]))
steps = st.lists(st.one_of(patient_texts, staff_actions), max_size=40)


@dataclass
class Model:
    state: str = "none"
    marketing: bool = False
    answers: list[str] = field(default_factory=list)
    flags: int = 0

    def text(self, group: str) -> None:
        if group == "stop":
            self.state, self.marketing = "opted_out", False
            self.answers.append("opted_out")
        elif group == "start" or (group == "yes" and self.state == "opted_out"):
            self.state = "opted_in"
            self.answers.append("opted_in")
        elif group == "help":
            self.answers.append("help")
        elif group == "revocation" and self.state != "opted_out":
            self.flags += 1

    def staff(self, action: str, scope: ConsentScope) -> None:
        if action == "staff_opt_in":
            self.state = "opted_in"
            self.marketing = self.marketing or scope is ConsentScope.MARKETING
        elif scope is ConsentScope.ALL:
            self.state, self.marketing = "opted_out", False
        else:
            self.marketing = False


@settings(max_examples=300, deadline=None)
@given(steps)
def test_consent_follows_the_model(sequence: list[tuple[object, object]]) -> None:
    model = Model()
    status: ConsentStatus = NO_CONSENT
    history: list[ConsentEventView] = []
    answers: list[Answer] = []
    flags = 0
    at = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    for first, second in sequence:
        at += timedelta(minutes=1)
        event = None
        if first in ("staff_opt_in", "staff_opt_out"):
            assert isinstance(second, ConsentScope)
            model.staff(str(first), second)
            action = ConsentAction.OPT_IN if first == "staff_opt_in" else ConsentAction.OPT_OUT
            event = ConsentEventView(action, second, "verbal", at)
        else:
            model.text(str(first))
            effect = keyword_effect(classify(str(second)), status.state)
            if effect.action is not None:
                event = ConsentEventView(effect.action, ConsentScope.ALL, "keyword", at)
            if effect.answer is not None:
                answers.append(effect.answer)
            flags += effect.flags_revocation
        if event is not None:
            history.append(event)
            status = apply(status, event)
        assert status.state.value == model.state
        assert status.marketing == model.marketing
        assert status.is_opted_out == (model.state == "opted_out")
    assert [a.value for a in answers] == model.answers
    assert flags == model.flags
    assert fold(history) == status  # the current state is exactly what the history adds up to
