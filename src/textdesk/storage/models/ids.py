"""The type of every id column: 64-bit on both databases (docs/decisions/0145-64-bit-ids.md)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer

# BIGINT on PostgreSQL. On SQLite an INTEGER already holds 64 bits, and only a column declared
# exactly `INTEGER PRIMARY KEY` is the rowid alias that numbers new rows by itself.
IdType = BigInteger().with_variant(Integer(), "sqlite")
