"""Staff users, their sign-in sessions and the sign-in throttle counters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from textdesk.storage.models import Base


class StaffUser(Base):
    """A person at the front desk who signs in to the pages of one practice."""

    __tablename__ = "staff_users"
    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-case
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id, never the password
    is_manager: Mapped[bool] = mapped_column(Boolean, default=False)  # may change settings
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_sign_in_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class StaffSession(Base):
    """One signed-in browser; the cookie holds the token, the table only its SHA-256."""

    __tablename__ = "staff_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class SignInThrottle(Base):
    """Consecutive failed sign-ins per key (`email:…` or `client:…`) and the wait they impose.

    Keyed by e-mail whether or not an account exists, so the answer never tells a guesser
    which addresses are real.
    """

    __tablename__ = "signin_throttles"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]


# --- users ------------------------------------------------------------------------------------

def user_by_email(session: Session, email: str) -> StaffUser | None:
    return session.scalar(select(StaffUser).where(StaffUser.email == email))


def get_user(session: Session, practice_id: int, user_id: int) -> StaffUser | None:
    return session.scalar(select(StaffUser).where(StaffUser.id == user_id,
                                                  StaffUser.practice_id == practice_id))


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
