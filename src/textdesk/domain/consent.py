"""Consent: the opt-in / opt-out history of a phone and the state it adds up to."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum

import phonenumbers

from textdesk.domain.keywords import Keyword
from textdesk.domain.messages import MessageKind


class ConsentAction(StrEnum):
    OPT_IN = "opt_in"  # consent given
    OPT_OUT = "opt_out"  # consent revoked


class ConsentScope(StrEnum):
    ALL = "all"  # every text from the practice
    MARKETING = "marketing"  # campaigns only


class ConsentSource(StrEnum):
    WEB_FORM = "web_form"  # the patient filled in a form
    VERBAL = "verbal"  # staff recorded spoken consent (who and when)
    KEYWORD = "keyword"  # STOP / START … texted by the patient
    IMPORT = "import"  # imported with evidence
    CARRIER = "carrier"  # the carrier reported the number opted out (21610)
    CAMPAIGN_UNSUBSCRIBE = "campaign_unsubscribe"  # unsubscribed from a campaign
    STAFF = "staff"  # staff confirmed a flagged free-text revocation
    PRACTICE_SYSTEM = "practice_system"  # Text OK recorded in the practice system (Open Dental)


class ConsentState(StrEnum):
    NONE = "none"  # no record: not opted in
    OPTED_IN = "opted_in"  # may receive texts
    OPTED_OUT = "opted_out"  # must not receive texts


@dataclass(frozen=True)
class ConsentEventView:
    action: ConsentAction
    scope: ConsentScope
    source: str
    at: datetime


@dataclass(frozen=True)
class ConsentStatus:
    state: ConsentState  # for all texts
    marketing: bool  # whether campaign texts are allowed too
    last_change_at: datetime | None
    last_source: str | None

    @property
    def is_opted_out(self) -> bool:
        return self.state is ConsentState.OPTED_OUT


NO_CONSENT = ConsentStatus(ConsentState.NONE, False, None, None)


def fold(events: Iterable[ConsentEventView]) -> ConsentStatus:
    """The state a history adds up to, events taken oldest first."""
    status = NO_CONSENT
    for event in events:
        status = apply(status, event)
    return status


def apply(status: ConsentStatus, event: ConsentEventView) -> ConsentStatus:
    """One event on top of a state: an opt-out of all texts wins over any marketing consent."""
    if event.scope is ConsentScope.ALL:
        if event.action is ConsentAction.OPT_OUT:
            return ConsentStatus(ConsentState.OPTED_OUT, False, event.at, event.source)
        return ConsentStatus(ConsentState.OPTED_IN, status.marketing, event.at, event.source)
    if event.action is ConsentAction.OPT_OUT:
        return ConsentStatus(status.state, False, event.at, event.source)
    # Marketing consent implies consent to be texted at all.
    return ConsentStatus(ConsentState.OPTED_IN, True, event.at, event.source)


def import_changes(status: ConsentStatus, action: ConsentAction) -> bool:
    """Whether consent learned from an import (the practice's system, a CSV file) is recorded
    on top of `status`: an opt-out where the phone is not opted out yet; an opt-in only where
    nothing is on record, so an import never undoes a STOP or a consent given here."""
    if action is ConsentAction.OPT_OUT:
        return not status.is_opted_out
    return status.state is ConsentState.NONE


# --- what a keyword does (C2, C4, C5) --------------------------------------------------------

class Answer(StrEnum):
    OPTED_OUT = "opted_out"  # the one confirmation of a STOP
    OPTED_IN = "opted_in"  # the one confirmation of a START (or YES after an opt-out)
    HELP = "help"  # who is texting, how to reach them, how to opt out
    UNMONITORED = "unmonitored"  # the line takes no replies (G5)

    @property
    def kind(self) -> MessageKind:
        """STOP's confirmation and HELP are the answers carriers require even after an
        opt-out; the others are ordinary automatic answers."""
        return (MessageKind.COMPLIANCE if self in (Answer.OPTED_OUT, Answer.HELP)
                else MessageKind.SYSTEM)


class KeywordOwner(StrEnum):
    """Who answers STOP / START / HELP on a number: exactly one party does."""

    CARRIER = "carrier"  # the carrier replies itself (Twilio's default); textdesk only records
    TEXTDESK = "textdesk"  # the carrier's handling is off; textdesk sends the one answer


# The answers a carrier's own keyword handling sends in textdesk's place.
CARRIER_ANSWERS = frozenset({Answer.OPTED_OUT, Answer.OPTED_IN, Answer.HELP})


@dataclass(frozen=True)
class KeywordEffect:
    action: ConsentAction | None  # the consent event to record, if any
    answer: Answer | None  # the automated text to send back, if any
    flags_revocation: bool = False  # a probable opt-out for staff to confirm (C3)
    answered_by_carrier: bool = False  # the carrier sent the answer itself

    @property
    def is_handled(self) -> bool:
        """Whether the text was a keyword that was answered (by textdesk or the carrier)."""
        return self.action is not None or self.answer is not None or self.answered_by_carrier


NO_EFFECT = KeywordEffect(None, None)


def keyword_effect(keyword: Keyword, state: ConsentState) -> KeywordEffect:
    """What a classified inbound text does to consent, given the phone's current state.

    Only START, UNSTOP and YES-after-an-opt-out opt back in (C4); YES at any other time is an
    ordinary reply (it may confirm an appointment, G3). A revocation from a phone already
    opted out needs no flag: there is nothing left to revoke.
    """
    if keyword is Keyword.STOP:
        return KeywordEffect(ConsentAction.OPT_OUT, Answer.OPTED_OUT)
    if keyword is Keyword.START:
        return KeywordEffect(ConsentAction.OPT_IN, Answer.OPTED_IN)
    if keyword is Keyword.YES and state is ConsentState.OPTED_OUT:
        return KeywordEffect(ConsentAction.OPT_IN, Answer.OPTED_IN)
    if keyword is Keyword.HELP:
        return KeywordEffect(None, Answer.HELP)
    if keyword is Keyword.REVOCATION and state is not ConsentState.OPTED_OUT:
        return KeywordEffect(None, None, flags_revocation=True)
    return NO_EFFECT


def with_carrier_keyword(effect: KeywordEffect, keyword: Keyword,
                         carrier_keyword: str | None) -> KeywordEffect:
    """Add what the carrier says it did (Twilio's OptOutType: STOP, START or HELP).

    A STOP the carrier acted on is an opt-out here too, whatever the word: the carrier blocks
    every text to the phone from now on. A START opts in for a word textdesk does not know as
    one (an opt-in keyword set at the carrier), but YES keeps textdesk's own rule (C4: an
    opt-in only right after an opt-out), so a YES to a confirmation stays a confirmation.
    """
    if carrier_keyword == "STOP" and effect.action is not ConsentAction.OPT_OUT:
        return KeywordEffect(ConsentAction.OPT_OUT, Answer.OPTED_OUT)
    if (carrier_keyword == "START" and effect.action is None
            and keyword not in (Keyword.YES, Keyword.STOP)):
        return KeywordEffect(ConsentAction.OPT_IN, Answer.OPTED_IN)
    if carrier_keyword == "HELP" and effect.answer is None and effect.action is None:
        return KeywordEffect(None, Answer.HELP)
    return effect


def answer_owner(effect: KeywordEffect, owner: KeywordOwner,
                 carrier_answered: str | None) -> KeywordEffect:
    """Exactly one party answers a keyword. With the carrier owning keywords and the carrier
    having answered this text (`carrier_answered`: STOP, START or HELP), textdesk records the
    consent change but sends no answer of its own; a word the carrier does not answer (REVOKE,
    say) still gets textdesk's, or the patient would get none."""
    if (owner is KeywordOwner.CARRIER and carrier_answered is not None
            and effect.answer in CARRIER_ANSWERS):
        return replace(effect, answer=None, answered_by_carrier=True)
    return effect


def answer_text(answer: Answer, practice_name: str, phone: str | None) -> str:
    """The automated text for an answer; short enough for one GSM-7 segment in most cases."""
    call = f"call {display_phone(phone)}" if phone else "call the office"
    name = practice_name.strip() or "Your practice"
    return {
        Answer.OPTED_OUT: f"{name}: you are unsubscribed and will get no more texts from us. "
                          "Reply START to resubscribe.",
        Answer.OPTED_IN: f"{name}: you are resubscribed to texts from us. "
                         "Reply STOP to unsubscribe, HELP for help.",
        Answer.HELP: f"{name}: for help, {call}. Msg & data rates may apply. "
                     "Reply STOP to unsubscribe.",
        Answer.UNMONITORED: f"{name}: this number does not take replies. Please {call}. "
                            "Reply STOP to unsubscribe.",
    }[answer]


def display_phone(e164: str) -> str:
    """A phone as people read it: national format at home, international elsewhere."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    fmt = (phonenumbers.PhoneNumberFormat.NATIONAL if number.country_code == 1
           else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(number, fmt)


# --- flagged free-text revocations (C3) ------------------------------------------------------

class FlagStatus(StrEnum):
    """A probable opt-out waiting for staff.

    ```
    open ─► confirmed    (staff recorded the opt-out)
      ├───► dismissed    (staff judged it was not a revocation)
      └───► superseded   (an opt-out was recorded another way: STOP, carrier, staff form)
    ```
    """

    OPEN = "open"  # waiting for staff, due within REVOCATION_DUE_BUSINESS_DAYS
    CONFIRMED = "confirmed"  # staff confirmed: an opt-out with source `staff` is on record
    DISMISSED = "dismissed"  # staff judged the text was not a revocation
    SUPERSEDED = "superseded"  # the phone opted out by other means first


FLAG_TRANSITIONS: dict[FlagStatus, frozenset[FlagStatus]] = {
    FlagStatus.OPEN: frozenset({FlagStatus.CONFIRMED, FlagStatus.DISMISSED,
                                FlagStatus.SUPERSEDED}),
    FlagStatus.CONFIRMED: frozenset(),
    FlagStatus.DISMISSED: frozenset(),
    FlagStatus.SUPERSEDED: frozenset(),
}

# The FCC's 2024 revocation rule gives a sender at most 10 business days to honour a revocation.
REVOCATION_DUE_BUSINESS_DAYS = 10


def can_resolve(current: FlagStatus, new: FlagStatus) -> bool:
    return new in FLAG_TRANSITIONS[current]


def business_days_after(now: datetime, days: int, tz: tzinfo) -> datetime:
    """`now` moved forward by `days` working days (Monday–Friday) in the practice's time zone.

    Public holidays are not known here, so they count as working days: the due date errs early.
    """
    moment = now.astimezone(tz)
    added = 0
    while added < days:
        moment += timedelta(days=1)
        if moment.weekday() < 5:
            added += 1
    return moment.astimezone(UTC)
