"""What a phone's consent is now, and who is blocked: the reads every feature makes of consent."""

from __future__ import annotations

from sqlalchemy.orm import Session

from textdesk.consent.store import consent as consent_store
from textdesk.consent.store.consent import (
    current_status as current_status,
    history as history,
    phones_opted_out as phones_opted_out,
)
from textdesk.consent.store.flags import (
    is_blocked as is_blocked,
    open_flags_for_phone as open_flags_for_phone,
)


def is_opted_out(session: Session, practice_id: int, e164: str | None) -> bool:
    return consent_store.current_status(session, practice_id, e164).is_opted_out
