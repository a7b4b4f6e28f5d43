"""Consent: the opt-in / opt-out history of a phone and the state it adds up to."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


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
