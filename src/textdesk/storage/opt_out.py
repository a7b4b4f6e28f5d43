"""The claims' SQL form of "may this text still reach a phone that opted out?", generated from
the domain's one predicate (`domain.messages.may_reach_opted_out`), never spelled again."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists

from textdesk.domain.consent import ConsentState
from textdesk.domain.messages import kinds_reaching_opted_out
from textdesk.storage.models import ConsentCurrent, Message


def stopped_by_opt_out() -> ColumnElement[bool]:
    """True for a message whose phone has an opt-out on record at this instant and whose kind
    may not reach an opted-out phone. A claim adds `~stopped_by_opt_out()` to its statement,
    so a STOP committed before the claim means the text never leaves."""
    opted_out = exists().where(
        ConsentCurrent.practice_id == Message.practice_id,
        ConsentCurrent.phone_e164 == Message.to_e164,
        ConsentCurrent.state == ConsentState.OPTED_OUT.value,
    )
    exempt = sorted(k.value for k in kinds_reaching_opted_out())
    return and_(opted_out, Message.kind.notin_(exempt))
