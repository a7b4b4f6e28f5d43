"""Signed, expiring links to one media file: what the carrier fetches an outbound MMS from.

A link is `/m/<id>.<expiry>.<signature>`: the file's id and the second it stops working,
signed (HMAC, itsdangerous) with a secret every textdesk process of the deployment derives
alike from its settings, so a link the connector writes is honoured by the web server.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from itsdangerous import BadSignature, Signer

from textdesk.config import Settings

LINK_PREFIX = "/m/"
_SALT = "textdesk-media-link"


def link_secret(settings: Settings) -> str:
    """The signing secret: from the secret key, else the session secret, else the carrier's
    auth token (all shared by the deployment's processes); never the raw value itself."""
    base = settings.secret_key or settings.session_secret or settings.twilio_auth_token
    return hashlib.sha256(f"{_SALT}:{base}".encode()).hexdigest()


def signed_path(secret: str, media_id: int, expires_at: datetime) -> str:
    value = f"{media_id}.{int(expires_at.timestamp())}"
    return LINK_PREFIX + Signer(secret, salt=_SALT).sign(value).decode()


def signed_url(settings: Settings, media_id: int, now: datetime) -> str:
    """The absolute link (under TEXTDESK_PUBLIC_URL), valid for `media_link_seconds`."""
    expires = datetime.fromtimestamp(now.timestamp() + settings.media_link_seconds, UTC)
    return settings.public_url.rstrip("/") + signed_path(link_secret(settings), media_id,
                                                         expires)


def media_id_of(secret: str, token: str, now: datetime) -> int | None:
    """The file a link names while it is valid; None for a forged, altered or expired one."""
    if len(token) > 200:
        return None
    try:
        value = Signer(secret, salt=_SALT).unsign(token).decode()
    except (BadSignature, UnicodeDecodeError):
        return None
    media_id, _, expires = value.partition(".")
    if not media_id.isdigit() or not expires.isdigit():
        return None
    if int(expires) <= now.timestamp():
        return None
    return int(media_id)
