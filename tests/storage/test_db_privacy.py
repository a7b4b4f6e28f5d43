"""Database errors never carry a statement's parameters (phones, bodies) into logs."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from textdesk.storage.db import Database


def test_integrity_errors_hide_parameters(db: Database) -> None:
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO practices (name, api_token_hash, sms_enabled, "
                          "default_country, allowed_countries, url_policy, quiet_start, "
                          "quiet_end, timezone, settings, created_at) VALUES ('A', 'h', false, "
                          "'US', '[]', 'warn', '08:00', '21:00', 'UTC', '{}', "
                          "CURRENT_TIMESTAMP)"))
    with pytest.raises(IntegrityError) as caught, db.engine.begin() as conn:
        conn.execute(text("INSERT INTO practices (name, api_token_hash, sms_enabled, "
                          "default_country, allowed_countries, url_policy, quiet_start, "
                          "quiet_end, timezone, settings, created_at) VALUES (:name, 'h', "
                          "false, 'US', '[]', 'warn', '08:00', '21:00', 'UTC', '{}', "
                          "CURRENT_TIMESTAMP)"), {"name": "+14155550123"})
    assert "+14155550123" not in str(caught.value)
