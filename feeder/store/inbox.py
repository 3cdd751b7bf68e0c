"""Files seen in the inbox, and the rejected ones with their reasons."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from feeder.model import Rejection
from feeder.store.database import Database, chunks, from_utc_text, marks, utc_text


class RecordedFile(NamedTuple):
    """A file as last seen: a named tuple, as a rescan reads one per file in the inbox."""

    name: str
    size: int
    mtime_ns: int
    ctime_ns: int | None  # None: recorded before feeder kept it


@dataclass(frozen=True)
class FileOutcome:
    """What became of a file: new, updated, unchanged, duplicate or rejected, and its story."""

    outcome: str
    story_id: str | None


@dataclass(frozen=True)
class StoredReject:
    name: str
    reason: str
    message: str
    first_seen: datetime
    last_seen: datetime


class InboxRecords(Database):
    def recorded_files(self, names: list[str] | None = None) -> Iterator[RecordedFile]:
        """Every file seen in the inbox, or those of `names` (sorted) that were seen,
        in name order.

        Read as the caller walks them: a rescan compares every file in the inbox.
        Python orders str as SQLite orders UTF-8 text, by code point.
        """
        if names is None:
            return map(
                RecordedFile._make,
                self.connection.execute(
                    "SELECT name, size, mtime_ns, ctime_ns FROM files ORDER BY name"
                ),
            )
        return map(
            RecordedFile._make,
            itertools.chain.from_iterable(
                self.connection.execute(
                    f"SELECT name, size, mtime_ns, ctime_ns FROM files WHERE name IN ({marks(chunk)}) "
                    "ORDER BY name",
                    chunk,
                )
                for chunk in chunks(names)
            ),
        )

    def record_file(
        self,
        name: str,
        stamp: tuple[int, int, int],
        sha256: str,
        outcome: str,
        story_id: str | None,
    ) -> None:
        """`stamp` is (size, mtime_ns, ctime_ns) as the file was read."""
        self.connection.execute(
            "INSERT OR REPLACE INTO files (name, size, mtime_ns, ctime_ns, sha256, outcome, "
            "story_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [name, *stamp, sha256, outcome, story_id],
        )

    def file_outcome(self, name: str) -> FileOutcome | None:
        row = self.connection.execute(
            "SELECT outcome, story_id FROM files WHERE name = ?", [name]
        ).fetchone()
        return FileOutcome(*row) if row else None

    def record_reject(self, rejection: Rejection, now: datetime) -> bool:
        """Returns whether this is news (a new file or a new reason), worth a log line."""
        previous: tuple[str, str] | None = self.connection.execute(
            "SELECT sha256, reason FROM rejects WHERE name = ?", [rejection.source_name]
        ).fetchone()
        self.connection.execute(
            "INSERT INTO rejects (name, sha256, reason, message, first_seen, last_seen) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET sha256 = excluded.sha256, "
            "reason = excluded.reason, message = excluded.message, last_seen = excluded.last_seen",
            [
                rejection.source_name,
                rejection.sha256,
                rejection.reason.value,
                rejection.message,
                utc_text(now),
                utc_text(now),
            ],
        )
        return previous != (rejection.sha256, rejection.reason.value)

    def clear_reject(self, name: str) -> None:
        self.connection.execute("DELETE FROM rejects WHERE name = ?", [name])

    def forget_missing_rejects(self, present_names: set[str]) -> list[str]:
        """A rejected file that left the inbox is no longer a problem to report."""
        gone = [
            name
            for (name,) in self.connection.execute("SELECT name FROM rejects")
            if name not in present_names
        ]
        for name in gone:
            self.clear_reject(name)
        return gone

    def note_future_file(self, name: str, mtime: datetime, now: datetime) -> bool:
        """Returns whether this is news (a file not noted before, or newly dated)."""
        previous = self.connection.execute(
            "SELECT mtime FROM future_files WHERE name = ?", [name]
        ).fetchone()
        if previous == (utc_text(mtime),):
            return False
        self.connection.execute(
            "INSERT OR REPLACE INTO future_files (name, mtime, first_seen) VALUES (?, ?, ?)",
            [name, utc_text(mtime), utc_text(now)],
        )
        return True

    def forget_future_file(self, name: str) -> None:
        self.connection.execute("DELETE FROM future_files WHERE name = ?", [name])

    def forget_missing_future(self, present_names: set[str]) -> None:
        for (name,) in self.connection.execute("SELECT name FROM future_files").fetchall():
            if name not in present_names:
                self.forget_future_file(name)

    def future_files(self) -> list[tuple[str, datetime]]:
        """Files waiting because they are dated in the future, with that date."""
        rows = self.connection.execute("SELECT name, mtime FROM future_files ORDER BY mtime, name")
        return [(name, from_utc_text(mtime)) for name, mtime in rows]

    def reject(self, name: str) -> StoredReject | None:
        row = self.connection.execute(
            "SELECT name, reason, message, first_seen, last_seen FROM rejects WHERE name = ?",
            [name],
        ).fetchone()
        if row is None:
            return None
        name, reason, message, first, last = row
        return StoredReject(name, reason, message, from_utc_text(first), from_utc_text(last))

    def rejects(self) -> list[StoredReject]:
        rows = self.connection.execute(
            "SELECT name, reason, message, first_seen, last_seen FROM rejects ORDER BY name"
        )
        return [
            StoredReject(name, reason, message, from_utc_text(first), from_utc_text(last))
            for name, reason, message, first, last in rows
        ]
