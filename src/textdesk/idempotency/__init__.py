"""Idempotent creating requests: the `Idempotency-Key` header, answered once per key."""
