"""The inbox's rules and its safe read: which names are articles, and a file read
whole, only once it has settled, never through a link leading out of the inbox.

Source files are only ever read. `watch.py` and `cli/publishing.py` apply the same name
rules as ingest, so a file the watcher reports or a hook names is one ingest takes.
"""

from __future__ import annotations

import enum
import errno
import logging
import os
import stat
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from feeder.config import Config
from feeder.errors import FeederError
from feeder.intake.wire import parse
from feeder.model import Article, Rejection, RejectReason

log = logging.getLogger(__name__)

SUFFIX = ".txt"
# File times the database can hold (64-bit nanoseconds: the years 1678 to 2262).
# Filesystems with 64-bit seconds (tmpfs, btrfs) take times far outside it, even
# before year 1, which no datetime can hold either.
STORABLE_MTIME_NS = (-(2**63), 2**63 - 1)


class InboxError(FeederError):
    """The inbox cannot be listed, or a file given as in it is not."""


@dataclass(frozen=True)
class Delivery:
    """One file read from the inbox and parsed, waiting to be stored."""

    name: str
    size: int
    mtime_ns: int
    ctime_ns: int
    result: Article | Rejection

    @property
    def mtime(self) -> datetime:
        return datetime.fromtimestamp(self.mtime_ns / 1e9, UTC)

    @property
    def stamp(self) -> tuple[int, int, int]:
        """What tells a later scan the file is unchanged: size, mtime and ctime."""
        return self.size, self.mtime_ns, self.ctime_ns


class Deferred(enum.Enum):
    """A file left for a later run, which will read it whole."""

    SETTLING = "modified too recently"
    GROWING = "still being written"
    FUTURE = "dated in the future"


class Readiness(enum.Enum):
    """What is known of whether a file is fully written, which says when to read it."""

    UNKNOWN = "found by a scan"
    """Read once settled: unmodified for `settle_seconds`."""
    CLOSED = "seen closed"
    """The watcher saw it closed after writing: read now, but while it has not
    settled, a file that is not an article waits instead of being rejected (an
    upload in pieces closes the file after each one)."""
    DECLARED = "named as complete"
    """The caller says it is whole (`feeder ingest FILE`): read now, and what it
    holds is final, whatever its time."""


# A file dated this far ahead of the clock is in the future, not just written.
FUTURE_TOLERANCE_SECONDS = 60


@dataclass(frozen=True)
class ChangedFiles:
    """The outcome of comparing the inbox with the record of files seen."""

    names: list[str]  # in delivery order
    unchanged: int


def storable_name(name: str) -> str:
    """The name as the database and the log can hold it: a file name that is not
    UTF-8 comes from the OS with surrogate escapes, shown here as \\x escapes."""
    try:
        name.encode()
    except UnicodeEncodeError:
        return name.encode(errors="surrogateescape").decode(errors="backslashreplace")
    return name


def is_article_name(name: str) -> bool:
    """Hidden files are partial uploads (rsync, editors); other suffixes are not articles."""
    return not name.startswith(".") and name.lower().endswith(SUFFIX)


def inbox_names(config: Config) -> list[str]:
    """Candidate article files, in no particular order."""
    try:
        return [name for name in os.listdir(config.inbox) if is_article_name(name)]
    except OSError as error:
        raise InboxError(
            f"cannot list the inbox {config.inbox}: {error.strerror}; "
            f"create it or fix 'inbox' in {config.source}"
        ) from None


def names_in_inbox(inbox: Path, paths: Iterable[Path]) -> tuple[list[str], list[str]]:
    """The names of files given by path that are article files in the inbox, and
    for each path that is not, why."""
    names, problems = [], []
    for path in paths:
        if not os.path.lexists(path):
            problems.append(f"{path}: no such file")
        elif os.path.realpath(path.absolute().parent) != os.path.realpath(inbox):
            problems.append(f"{path} is not in the inbox {inbox}; feeder reads only files there")
        elif not is_article_name(path.name):
            problems.append(
                f"{path} is not an article file: articles are named *.txt and not hidden"
            )
        else:
            names.append(path.name)
    return names, problems


def changed_files(
    inbox: Path, names: Collection[str], recorded: Iterator[tuple[str, int, int, int | None]]
) -> ChangedFiles:
    """The names whose size, mtime or ctime differ from `recorded` (name, size,
    mtime_ns, ctime_ns, in name order), in delivery order: oldest mtime first,
    then by name. The ctime is what no tool can set: a same-size correction
    whose mtime was kept (`touch -r`, `rsync -t`) still changes it.

    Handling files in the order they arrived makes the outcome independent of
    how deliveries fall into runs: the copy delivered second is the duplicate,
    and a story is compared with content that arrived before it. One stat per
    file and nothing read; the sorted names and the recorded files are walked
    side by side, so the record is never all in memory.
    """
    folder = os.fspath(inbox)
    record = next(recorded, None)
    changed: list[tuple[int, str]] = []
    unchanged = 0
    for name in sorted(names):
        while record is not None and record[0] < name:
            record = next(recorded, None)
        path = f"{folder}/{name}"
        try:
            status = os.stat(path)
        except FileNotFoundError:
            if os.path.islink(path):
                changed.append((0, name))  # a dangling link: the read reports it
            continue  # removed since the listing
        except OSError:
            changed.append((0, name))  # the read reports why
            continue
        if record == (name, status.st_size, status.st_mtime_ns, status.st_ctime_ns):
            unchanged += 1
        elif stat.S_ISREG(status.st_mode):
            changed.append((status.st_mtime_ns, name))
    return ChangedFiles([name for _, name in sorted(changed)], unchanged)


class InboxReader:
    """Reads inbox files into Deliveries; a file that cannot be read is a Rejection, not an error."""

    def __init__(self, config: Config) -> None:
        self.config = config
        # Symbolic links are followed only to files inside the inbox.
        self.inbox = Path(os.path.realpath(config.inbox))

    def read(self, name: str, now: datetime, readiness: Readiness) -> Delivery | Deferred | None:
        """None for what is not an article file or is gone.

        `readiness` says what is known of whether the file is fully written.
        """
        if storable_name(name) != name:
            return self._bad_name(name)
        try:
            return self._read_path(name, f"{self.config.inbox}/{name}", now, readiness)
        except FileNotFoundError:
            return None  # removed since the listing
        except OSError as error:
            if error.errno == errno.ELOOP:
                return self._read_link(name, now, readiness)
            return self._unreadable(name, error)

    def _read_link(
        self, name: str, now: datetime, readiness: Readiness
    ) -> Delivery | Deferred | None:
        """A symbolic link is followed only to a file inside the inbox.

        What is checked is the file actually opened (the descriptor's path), not
        the path before opening: a link or folder swapped between a check and the
        open cannot lead the read out of the inbox.
        """
        try:
            descriptor = os.open(self.config.inbox / name, os.O_RDONLY | os.O_NONBLOCK)
        except FileNotFoundError:
            message = (
                f"the file is a symbolic link to {_link_target(self.config.inbox / name)}, "
                "which does not exist; put the file it names in place or remove the link"
            )
            return _refused(name, None, RejectReason.UNREADABLE, message)
        except OSError as error:
            return self._unreadable(name, error)
        try:
            target = _opened_path(descriptor)
            if target is None or not target.is_relative_to(self.inbox):
                message = (
                    f"the file is a symbolic link to {target or 'a file'} outside the inbox; "
                    "feeder reads only files inside it: copy the file into the inbox instead "
                    "of linking to it"
                )
                return _refused(name, None, RejectReason.OUTSIDE_INBOX, message)
            return self._read_open(name, descriptor, now, readiness)
        finally:
            os.close(descriptor)

    def _read_path(
        self, name: str, path: str, now: datetime, readiness: Readiness
    ) -> Delivery | Deferred | None:
        """Raises OSError only when `path` cannot be opened; ELOOP when it is a link,
        which `_read_link` opens and then checks. A FIFO named *.txt opens without
        waiting for a writer, and is then skipped as not a regular file.
        """
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            return self._read_open(name, descriptor, now, readiness)
        finally:
            os.close(descriptor)

    def _read_open(
        self, name: str, descriptor: int, now: datetime, readiness: Readiness
    ) -> Delivery | Deferred | None:
        try:
            status = os.fstat(descriptor)
            if not stat.S_ISREG(status.st_mode):
                return None  # a directory or device that happens to be named *.txt
            if not STORABLE_MTIME_NS[0] <= status.st_mtime_ns <= STORABLE_MTIME_NS[1]:
                return _refused(name, None, RejectReason.IMPOSSIBLE_FILE_TIME, _bad_time(status))
            age = now.timestamp() - status.st_mtime
            settled = age >= self.config.settle_seconds
            if readiness is not Readiness.DECLARED and age < -FUTURE_TOLERANCE_SECONDS:
                return Deferred.FUTURE
            if readiness is Readiness.UNKNOWN and not settled:
                log.debug("%s: modified %.1f s ago, waiting for it to settle", name, age)
                return Deferred.SETTLING
            limit = self.config.max_file_size
            if status.st_size > limit:
                message = (
                    f"the file is {status.st_size:,} bytes, over max_file_size ({limit:,}); "
                    f"raise max_file_size in {self.config.source} if it is a genuine article"
                )
                return _refused(name, status, RejectReason.TOO_LARGE, message)
            # One byte more than the size shows a file that grew.
            data = _read_up_to(descriptor, status.st_size + 1)
            after = os.fstat(descriptor)
        except OSError as error:
            return self._unreadable(name, error)
        if len(data) != after.st_size or (after.st_size, after.st_mtime_ns) != (
            status.st_size,
            status.st_mtime_ns,
        ):
            log.info("%s: still being written, leaving it for the next run", name)
            return Deferred.GROWING
        result = parse(data, name)
        if isinstance(result, Rejection) and readiness is Readiness.CLOSED and not settled:
            log.debug("%s: not yet an article, waiting for it to settle: %s", name, result.reason)
            return Deferred.SETTLING
        return Delivery(name, status.st_size, status.st_mtime_ns, status.st_ctime_ns, result)

    def _unreadable(self, name: str, error: OSError) -> Delivery:
        message = (
            f"cannot read the file: {error.strerror}; make it readable by the user feeder runs as"
        )
        return _refused(name, None, RejectReason.UNREADABLE, message)

    def _bad_name(self, name: str) -> Delivery:
        shown = storable_name(name)
        message = (
            f"the file name {shown!r} is not UTF-8 (written by a tool using a legacy "
            "encoding?); rename the file and feeder picks it up"
        )
        return _refused(shown, None, RejectReason.BAD_FILE_NAME, message)


def _refused(
    name: str, status: os.stat_result | None, reason: RejectReason, message: str
) -> Delivery:
    """A rejection decided without reading the file's content."""
    size, mtime_ns, ctime_ns = (
        (status.st_size, status.st_mtime_ns, status.st_ctime_ns) if status else (0, 0, 0)
    )
    return Delivery(name, size, mtime_ns, ctime_ns, Rejection(name, "", reason, message))


def _bad_time(status: os.stat_result) -> str:
    return (
        f"the file's modification time ({status.st_mtime:.0f} s from 1970) is impossible, "
        "outside the years 1678 to 2262; give it the current time with `touch` and feeder "
        "picks it up"
    )


def _opened_path(descriptor: int) -> Path | None:
    """Where an open file really is, as the kernel resolved it; None when unknown
    (a file deleted since, or no /proc), which is then not trusted as inside."""
    try:
        target = os.readlink(f"/proc/self/fd/{descriptor}")
    except OSError:
        return None
    return Path(target) if target.startswith("/") and not target.endswith(" (deleted)") else None


def _link_target(link: Path) -> str:
    """What a link names, for a message; one step, never resolved further."""
    try:
        return os.readlink(link)
    except OSError as error:
        return f"an unreadable target ({error.strerror})"


def _read_up_to(descriptor: int, size: int) -> bytes:
    """Read until `size` bytes or the end of the file, whichever comes first."""
    chunks = []
    while size > 0 and (chunk := os.read(descriptor, size)):
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)
