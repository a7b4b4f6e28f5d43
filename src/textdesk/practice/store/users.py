"""Staff users, their sign-in sessions and the sign-in throttle counters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from textdesk.storage.models.staff import SignInThrottle, StaffSession, StaffUser

# --- users ------------------------------------------------------------------------------------

def user_by_email(session: Session, email: str) -> StaffUser | None:
    return session.scalar(select(StaffUser).where(StaffUser.email == email))


def list_users(session: Session, practice_id: int) -> list[StaffUser]:
    return list(session.scalars(select(StaffUser).where(StaffUser.practice_id == practice_id)
                                .order_by(StaffUser.id)))


def add_user(session: Session, user: StaffUser) -> StaffUser:
    session.add(user)
    session.flush()
    return user


# --- sessions ---------------------------------------------------------------------------------

def add_session(session: Session, row: StaffSession) -> StaffSession:
    session.add(row)
    session.flush()
    return row


def session_by_token_hash(session: Session, token_hash: str
                          ) -> tuple[StaffSession, StaffUser] | None:
    row = session.execute(
        select(StaffSession, StaffUser).join(StaffUser, StaffUser.id == StaffSession.user_id)
        .where(StaffSession.token_hash == token_hash)).first()
    return (row[0], row[1]) if row else None


def delete_session(session: Session, token_hash: str) -> None:
    session.execute(delete(StaffSession).where(StaffSession.token_hash == token_hash))


def touch_session(session: Session, token_hash: str, now: datetime, expires_at: datetime
                  ) -> None:
    session.execute(update(StaffSession).where(StaffSession.token_hash == token_hash)
                    .values(last_seen_at=now, expires_at=expires_at)
                    .execution_options(synchronize_session=False))


def delete_expired_sessions(session: Session, now: datetime) -> None:
    session.execute(delete(StaffSession).where(StaffSession.expires_at < now))


# --- throttle ---------------------------------------------------------------------------------

def throttle(session: Session, key: str) -> SignInThrottle | None:
    return session.get(SignInThrottle, key)


def throttle_for_update(session: Session, key: str) -> SignInThrottle:
    row = session.get(SignInThrottle, key, with_for_update=True)
    if row is None:
        row = SignInThrottle(key=key, failures=0, last_failure_at=None, locked_until=None)
        session.add(row)
        session.flush()
    return row


def clear_throttle(session: Session, key: str) -> None:
    session.execute(delete(SignInThrottle).where(SignInThrottle.key == key))
