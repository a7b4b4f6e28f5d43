"""Online backups of the SQLite database, and putting one back after checking it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    """The backup or restore cannot be done; the message says why."""


def sqlite_path(url: str) -> Path:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        raise BackupError("`textdesk backup` and `restore` are for the SQLite database; on "
                          "PostgreSQL use pg_dump and pg_restore (see the README).")
    return Path(parsed.database)


def backup(url: str, target: Path) -> int:
    """Copy the database to `target` with SQLite's backup API; returns the pages copied.

    The copy is one consistent snapshot, taken while `serve` keeps writing (WAL readers do not
    block writers): every text committed before it began is in it.
    """
    source_path = sqlite_path(url)
    if not source_path.exists():
        raise BackupError(f"There is no database at {source_path}.")
    if target.exists():
        raise BackupError(f"{target} exists already; give a new file.")
    source = sqlite3.connect(source_path, timeout=30)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # all pages in one step: one read transaction, one snapshot
        pages = int(copy.execute("PRAGMA page_count").fetchone()[0])
    finally:
        copy.close()
        source.close()
    problems = integrity_problems(target)
    if problems:
        target.unlink()
        raise BackupError(f"The copy failed its integrity check: {problems[0]}")
    return pages


def integrity_problems(path: Path) -> list[str]:
    """What `PRAGMA integrity_check` finds wrong with a database file (empty when sound)."""
    try:
        check = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = [str(r[0]) for r in check.execute("PRAGMA integrity_check").fetchall()]
            has_tables = check.execute(
                "SELECT count(*) FROM sqlite_master WHERE name = 'practices'").fetchone()[0]
        finally:
            check.close()
    except sqlite3.DatabaseError as error:
        return [f"not a SQLite database ({error})"]
    if rows != ["ok"]:
        return rows
    return [] if has_tables else ["it holds no textdesk tables"]


def restore(url: str, source: Path) -> None:
    """Put a checked backup in place of the database (stop serve and connectors first)."""
    target_path = sqlite_path(url)
    if not source.exists():
        raise BackupError(f"There is no backup at {source}.")
    problems = integrity_problems(source)
    if problems:
        raise BackupError(f"{source} is not a sound textdesk backup: {problems[0]}; "
                          "nothing was changed.")
    backup_file = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    target = sqlite3.connect(target_path, timeout=30)
    try:
        backup_file.backup(target)
    finally:
        target.close()
        backup_file.close()
