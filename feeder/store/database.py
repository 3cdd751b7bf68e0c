"""The database file: connection settings, write transactions and schema upgrades.

One database file in WAL mode so readers (status, the server, regeneration)
never wait for the writer, with short `BEGIN IMMEDIATE` write transactions so
two processes never deadlock upgrading a read lock. sqlite-utils builds and
migrates the schema; every query is plain SQL on the sqlite3 connection, so a
run that migrates nothing never imports sqlite-utils (a sixth of start-up).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence, Sized
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from feeder.errors import FeederError
from feeder.model import Entry, StoryChange
from feeder.store.schema import MIGRATIONS

if TYPE_CHECKING:
    import sqlite_utils

BUSY_TIMEOUT_SECONDS = 30.0
WAL_RETRY_SECONDS = 0.02
# Values bound in one `IN (...)` list (`chunks`).
VALUES_PER_QUERY = 500
T = TypeVar("T")
# Page cache in KiB (SQLite's default is 2 MB): room for the indexes a bulk
# ingest updates at random places, so they are not re-read for every insert.
CACHE_KIB = 16 * 1024
# WAL pages between automatic checkpoints (SQLite's default is 1,000, about a
# batch of articles). Each checkpoint fsyncs; at 10,000 (40 MB of WAL) a bulk
# ingest spends a third less time committing, and readers are not slowed.
CHECKPOINT_PAGES = 10_000


class StoreError(FeederError):
    """The database cannot be opened or used; the message says which file and why."""


class DatabaseBusy(StoreError):
    """Another process held the database's write lock for longer than the busy timeout."""


def utc_text(moment: datetime) -> str:
    """Timestamps are stored as UTC ISO 8601 text, which sorts in time order."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def from_utc_text(text: str) -> datetime:
    return datetime.fromisoformat(text)


def marks(values: Sized) -> str:
    """One `?` per value, for an `IN (...)` list or a row of columns."""
    return ", ".join("?" * len(values))


def chunks(values: Sequence[T], size: int = VALUES_PER_QUERY) -> Iterator[Sequence[T]]:
    """Values for `IN (...)` lists of at most `size`, well under SQLite's limit on
    the parameters of one statement."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


class StoryListener(Protocol):
    """Told of the stories a transaction changed: `recorded` inside it, before the
    commit (what it writes commits with the change, or not at all), and
    `committed` once the change is durable."""

    def recorded(self, changes: list[tuple[StoryChange, Entry]]) -> None: ...

    def committed(self) -> None: ...


class Database:
    """An open database at the latest schema; the query mixins of `Store` build on it.

    Every query that publishes, corrects, withdraws or restores a story calls
    `story_changed`; the `story_listener` (feeder.channels) hears of them all."""

    story_listener: StoryListener | None = None

    def __init__(self, path: Path, busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self._story_changes: list[tuple[StoryChange, Entry]] = []
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.connection = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
            self._use_wal()
            # In WAL mode NORMAL never corrupts; a power cut can only lose the last commits.
            self.connection.execute("PRAGMA synchronous=NORMAL")
            self.connection.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
            self.connection.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_PAGES}")
            self._migrate()
        except (OSError, sqlite3.Error) as error:
            raise StoreError(f"cannot open database {path}: {error}") from error

    def _use_wal(self) -> None:
        """Switching a new file to WAL needs a lock SQLite will not wait for (its busy
        handler is skipped to avoid a deadlock), so two processes or threads opening
        a new database at once retry here within the busy timeout."""
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                self.connection.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as error:
                busy = error.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY
                if not busy or time.monotonic() > deadline:
                    raise
                time.sleep(WAL_RETRY_SECONDS)

    @cached_property
    def db(self) -> sqlite_utils.Database:
        """sqlite-utils on the same connection, for schema work; imported only when used."""
        import sqlite_utils

        return sqlite_utils.Database(self.connection)

    def close(self) -> None:
        self.connection.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction that takes the write lock up front, so it cannot deadlock."""
        try:
            self.connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                raise
            # feeder's own processes take turns under the work lock, so this is another program.
            raise DatabaseBusy(
                f"database {self.path} is locked: another program has held its write lock for "
                f"over {self.busy_timeout:g} s; this run stopped, and the next one picks up what it "
                "did not store; if it repeats, stop what holds it (an sqlite3 shell, a backup job)"
            ) from None
        self._story_changes = []
        try:
            yield
            changes, self._story_changes = self._story_changes, []
            if changes:
                self.stories_changed(changes)
            if changes and self.story_listener is not None:
                self.story_listener.recorded(changes)
            self.connection.execute("COMMIT")
            if changes and self.story_listener is not None:
                self.story_listener.committed()
        except BaseException as error:
            self._story_changes = []
            if self.connection.in_transaction:
                self.connection.execute("ROLLBACK")
            reported = self._write_error(error)
            if reported is not None:
                raise reported from error
            raise

    def _write_error(self, error: BaseException) -> StoreError | None:
        """A full disk, a failing one or a read-only file: the operator's to fix, in one line."""
        if not isinstance(error, sqlite3.OperationalError):
            return None
        advice = {
            sqlite3.SQLITE_FULL: f"free space on the disk holding {self.path.parent}",
            sqlite3.SQLITE_IOERR: f"check the disk holding {self.path.parent} (see the kernel log)",
            sqlite3.SQLITE_READONLY: (
                f"give the user feeder runs write access to {self.path} and its folder"
            ),
        }.get(error.sqlite_errorcode & 0xFF)
        if advice is None:
            return None  # a bug, not the machine: keep its traceback
        return StoreError(
            f"cannot write the database {self.path}: {error}; {advice}; nothing of this "
            "transaction was stored, and the next run retries it"
        )

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads that all see the database as it was at the first, whatever
        commits meanwhile (a read transaction, which WAL never blocks)."""
        self.connection.execute("BEGIN")
        try:
            yield
        finally:
            if self.connection.in_transaction:
                self.connection.execute("ROLLBACK")

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A part of the open transaction that is undone alone when it fails."""
        self.connection.execute("SAVEPOINT part")
        changes_before = len(self._story_changes)
        try:
            yield
        except BaseException:
            del self._story_changes[changes_before:]
            self.connection.execute("ROLLBACK TO part")
            self.connection.execute("RELEASE part")
            raise
        self.connection.execute("RELEASE part")

    def story_changed(self, change: StoryChange, entry: Entry) -> None:
        """Call in a transaction, for its listener; `entry` as the story now stands
        (as it stood, for a withdrawal)."""
        self._story_changes.append((change, entry))

    def stories_changed(self, changes: list[tuple[StoryChange, Entry]]) -> None:
        """The transaction's story changes (none undone by a savepoint), just
        before it commits: for a mixin to write what must commit with them
        once for the whole transaction, not once per savepoint."""

    def schema_version(self) -> int:
        return int(self.connection.execute("PRAGMA user_version").fetchone()[0])

    def journal_mode(self) -> str:
        return str(self.connection.execute("PRAGMA journal_mode").fetchone()[0])

    def integrity_check(self) -> str:
        """SQLite's own verdict: "ok", or the problems it found, one per line."""
        return "\n".join(row[0] for row in self.connection.execute("PRAGMA integrity_check"))

    def optimize(self) -> None:
        self.connection.execute("PRAGMA optimize")

    def _migrate(self) -> None:
        """Upgrade in one transaction that reads the version too, so two processes
        opening a new database at once cannot both run a migration."""
        if self.schema_version() == len(MIGRATIONS):
            return
        with self.transaction():
            version = self.schema_version()
            if version > len(MIGRATIONS):
                raise StoreError(
                    f"database {self.path} has schema version {version}, newer than this feeder "
                    f"({len(MIGRATIONS)}); upgrade feeder"
                )
            for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
                migration(self.db)
                self.connection.execute(f"PRAGMA user_version = {number}")
