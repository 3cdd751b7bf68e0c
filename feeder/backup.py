"""A consistent copy of the database while the daemon may be writing to it.

Copying the file with `cp` while feeder writes can give a torn copy (and
misses what is still in the WAL file); SQLite's online backup API copies a
snapshot of the committed state instead. The copy is marked as one: restored,
it seals its next archive pages under new URLs (`feeder.store.archive_pages`),
since the live database may have sealed pages after it that readers have seen.
The copy is written to a temp file
beside its destination, checked, synced and moved into place, so a
destination either holds a complete, checked backup or is left as it was.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from feeder.errors import FeederError
from feeder.store.archive_pages import mark_restored_copy

BUSY_TIMEOUT_SECONDS = 30.0


class BackupError(FeederError):
    """The backup could not be made; the message names the file and the cause."""


@dataclass(frozen=True)
class Backup:
    path: Path
    size: int
    articles: int


def backup_destination(database: Path, destination: Path, now: datetime) -> Path:
    """A folder gets a dated file, so that a nightly `feeder backup /backups` keeps each night."""
    if destination.is_dir():
        return destination / f"{database.stem}-{now:%Y%m%d-%H%M%S}{database.suffix}"
    return destination


def backup_database(database: Path, destination: Path) -> Backup:
    """Copy `database` to `destination` in one step: a copy taken in one step is a
    snapshot, where one taken page by page restarts whenever the daemon commits."""
    if not database.is_file():
        raise BackupError(f"there is no database at {database}; check 'database' in the config")
    folder = destination.parent
    try:
        descriptor, temp_name = tempfile.mkstemp(prefix=".feeder-backup-", dir=folder)
    except OSError as error:
        raise BackupError(
            f"cannot write a backup in {folder}: {error.strerror}; pick a writable folder"
        ) from error
    os.close(descriptor)
    try:
        articles = _copy(database, Path(temp_name))
        with open(temp_name, "rb+") as copy:
            os.fsync(copy.fileno())
        os.replace(temp_name, destination)
    except (OSError, sqlite3.Error) as error:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        cause = error.strerror if isinstance(error, OSError) else str(error)
        raise BackupError(
            f"cannot back up {database} to {destination}: {cause}; check free space there "
            "and retry (the database itself is untouched)"
        ) from error
    return Backup(destination, destination.stat().st_size, articles)


def _copy(database: Path, target_path: Path) -> int:
    """Copy and check; returns the number of articles in the copy."""
    source = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_SECONDS)
    target = sqlite3.connect(target_path)
    try:
        source.backup(target)
        # A single self-contained file, without a WAL beside it.
        target.execute("PRAGMA journal_mode=DELETE")
        if _has_table(target, "archive_state"):
            mark_restored_copy(target)
            target.commit()
        verdict = target.execute("PRAGMA quick_check").fetchone()[0]
        if verdict != "ok":
            raise sqlite3.DatabaseError(f"the copy failed its check: {verdict}")
        if not _has_table(target, "articles"):
            return 0
        return int(target.execute("SELECT COUNT(*) FROM articles").fetchone()[0])
    finally:
        target.close()
        source.close()


def _has_table(connection: sqlite3.Connection, name: str) -> bool:
    return (
        connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [name]
        ).fetchone()
        is not None
    )
