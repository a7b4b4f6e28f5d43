"""Secrets sealed at rest (practice-system keys, webhook signing secrets): Fernet with a key
derived from TEXTDESK_SECRET_KEY and what the secret is for (its context)."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from textdesk.domain.errors import Conflict

_CONTEXT = b"textdesk practice-system keys v1"


def _fernet(secret_key: str | None, context: bytes) -> Fernet:
    if not secret_key:
        raise Conflict("secret_key_missing",
                       "The server has no TEXTDESK_SECRET_KEY, so keys cannot be stored safely.",
                       fix="Set TEXTDESK_SECRET_KEY (a long random string) and restart.")
    digest = hashlib.sha256(context + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(secret_key: str | None, value: str, context: bytes = _CONTEXT) -> str:
    return _fernet(secret_key, context).encrypt(value.encode()).decode()


def unseal(secret_key: str | None, token: str, context: bytes = _CONTEXT) -> str:
    try:
        return _fernet(secret_key, context).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise Conflict("secret_key_changed",
                       "The stored keys cannot be read with this TEXTDESK_SECRET_KEY.",
                       fix="Restore the previous TEXTDESK_SECRET_KEY, or enter the keys again."
                       ) from exc
