"""Tables of staff."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from textdesk.storage.models.core import Base


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
