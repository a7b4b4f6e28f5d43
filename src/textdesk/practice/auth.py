"""Staff sign-in: argon2 passwords, server-side sessions, CSRF tokens and the sign-in throttle."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from textdesk.domain.errors import Invalid, NotFound
from textdesk.domain.signin import (
    counted_failures,
    delay_after,
    is_plausible_email,
    normalize_email,
)
from textdesk.practice.store import users as user_store

# Reads other features make here; the store stays private to this package.
from textdesk.practice.store.users import (
    list_users as list_users,
)
from textdesk.storage import directory as practice_store
from textdesk.storage.models import Practice, StaffSession, StaffUser

SESSION_IDLE = timedelta(hours=12)  # a front-desk shift; a forgotten laptop signs itself out
SESSION_MAX = timedelta(days=7)
TOUCH_EVERY = timedelta(minutes=5)  # polling pages must not write on every request
MIN_PASSWORD = 8

_hasher = PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verified against when no account exists, so that both answers take as long."""
    return _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- users ------------------------------------------------------------------------------------

def create_user(session: Session, practice_id: int, email: str, name: str, password: str,
                now: datetime, *, is_manager: bool = False) -> StaffUser:
    if practice_store.get_practice(session, practice_id) is None:
        raise NotFound("practice_not_found", "No such practice.")
    if not is_plausible_email(email):
        raise Invalid("invalid_email", "Give a valid e-mail address.")
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise Invalid("weak_password", f"A password needs at least {MIN_PASSWORD} characters.")
    email = normalize_email(email)
    if user_store.user_by_email(session, email) is not None:
        raise Invalid("email_taken", "A staff user with that e-mail already exists.")
    return user_store.add_user(session, StaffUser(
        practice_id=practice_id, email=email, name=(name or email).strip()[:200],
        password_hash=hash_password(password), is_manager=is_manager, is_active=True,
        created_at=now))


# --- signing in -------------------------------------------------------------------------------

@dataclass(frozen=True)
class SignInResult:
    """Either a session token for the cookie, or why not (failures are recorded, not raised)."""

    token: str | None = None
    user: StaffUser | None = None
    error: str | None = None  # invalid_credentials | signin_throttled
    retry_after_seconds: int = 0


def _keys(email: str, client: str) -> list[str]:
    return [f"email:{email}"[:300], f"client:{client}"[:300]]


def _wait(session: Session, keys: list[str], now: datetime) -> int:
    wait = timedelta(0)
    for key in keys:
        row = user_store.throttle(session, key)
        if row is not None and row.locked_until is not None and row.locked_until > now:
            wait = max(wait, row.locked_until - now)
    return int(wait.total_seconds() + 0.999)


def _record_failure(session: Session, keys: list[str], now: datetime) -> None:
    for key in keys:
        row = user_store.throttle_for_update(session, key)
        row.failures = counted_failures(row.failures, row.last_failure_at, now) + 1
        row.last_failure_at = now
        delay = delay_after(row.failures)
        row.locked_until = now + delay if delay else None


def sign_in(session: Session, email: str, password: str, client: str,
            now: datetime) -> SignInResult:
    """Check a password; repeated failures per e-mail and per client slow the next try."""
    email = normalize_email(email)
    keys = _keys(email, client)
    wait = _wait(session, keys, now)
    if wait:
        return SignInResult(error="signin_throttled", retry_after_seconds=wait)
    user = user_store.user_by_email(session, email) if email else None
    matches = _password_matches(user.password_hash if user else _dummy_hash(), password or "")
    if user is None or not matches or not user.is_active:
        _record_failure(session, keys, now)
        return SignInResult(error="invalid_credentials")
    for key in keys:
        user_store.clear_throttle(session, key)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_sign_in_at = now
    return SignInResult(token=start_session(session, user, now), user=user)


# --- sessions ---------------------------------------------------------------------------------

def start_session(session: Session, user: StaffUser, now: datetime) -> str:
    token = secrets.token_urlsafe(32)
    user_store.add_session(session, StaffSession(
        token_hash=token_hash(token), user_id=user.id, practice_id=user.practice_id,
        created_at=now, last_seen_at=now, expires_at=now + SESSION_IDLE))
    return token


@dataclass(frozen=True)
class Staff:
    """Who is signed in, and to which practice; every page query is scoped by `practice.id`."""

    user: StaffUser
    practice: Practice
    token: str


@dataclass(frozen=True)
class Identified:
    """Who a session token names, and the bookkeeping that finding out asks for: a session
    found over its limits is to be deleted, a live one's idle expiry slid."""

    staff: Staff | None
    ended: str | None = None  # the token hash of a session to delete
    touch: bool = False

    @property
    def needs_write(self) -> bool:
        return self.ended is not None or self.touch


def look_up(session: Session, token: str | None, now: datetime) -> Identified:
    """Who is signed in, reading only (a GET's read-only transaction may call it)."""
    if not token:
        return Identified(None)
    found = user_store.session_by_token_hash(session, token_hash(token))
    if found is None:
        return Identified(None)
    row, user = found
    if row.expires_at <= now or now - row.created_at > SESSION_MAX or not user.is_active:
        return Identified(None, ended=row.token_hash)
    practice = practice_store.get_practice(session, user.practice_id)
    if practice is None or practice.id != row.practice_id:
        return Identified(None)
    return Identified(Staff(user, practice, token), touch=now - row.last_seen_at >= TOUCH_EVERY)


def settle(session: Session, found: Identified, now: datetime) -> None:
    """Write what `look_up` found due (in a transaction that may write)."""
    if found.ended is not None:
        user_store.delete_session(session, found.ended)
    if found.touch and found.staff is not None:
        user_store.touch_session(session, token_hash(found.staff.token), now,
                                 now + SESSION_IDLE)


def identify(session: Session, token: str | None, now: datetime) -> Staff | None:
    """`look_up` and `settle` in one (writing) transaction."""
    found = look_up(session, token, now)
    settle(session, found, now)
    return found.staff


def sign_out(session: Session, token: str | None, now: datetime) -> None:
    if token:
        user_store.delete_session(session, token_hash(token))
    user_store.delete_expired_sessions(session, now)


# --- CSRF -------------------------------------------------------------------------------------

def csrf_token(secret: str, token: str, purpose: str = "session") -> str:
    """A per-session token for forms: an HMAC of the session, so nothing more is stored."""
    mac = hmac.new(secret.encode(), f"{purpose}|{token_hash(token)}".encode(), hashlib.sha256)
    return mac.hexdigest()


def csrf_matches(secret: str, token: str | None, given: str | None,
                 purpose: str = "session") -> bool:
    if not token or not given:
        return False
    return hmac.compare_digest(csrf_token(secret, token, purpose), given)
