"""The inbox's rules and its safe read: which names are articles, and a file read
whole, only once it has settled, never through a link leading out of the inbox.

Source files are only ever read. `watch.py` and `cli.py` apply the same name
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
from feeder.model import Article, Rejection, RejectReason
from feeder.wire import parse

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
    result: Article | Rejection

    @property
    def mtime(self) -> datetime:
        return datetime.fromtimestamp(self.mtime_ns / 1e9, UTC)


class Deferred(enum.Enum):
    """A file left for a later run, which will read it whole."""

    SETTLING = "modified too recently"
    GROWING = "still being written"


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


def names_in_inbox(inbox: Path, paths: Iterable[Path]) -> list[str]:
    """The names of files given by path, each checked to be an article file in the inbox."""
    names = []
    for path in paths:
        if not os.path.lexists(path):
            raise InboxError(f"{path}: no such file")
        if os.path.realpath(path.absolute().parent) != os.path.realpath(inbox):
            raise InboxError(f"{path} is not in the inbox {inbox}; feeder reads only files there")
        if not is_article_name(path.name):
            raise InboxError(
                f"{path} is not an article file: articles are named *.txt and not hidden"
            )
        names.append(path.name)
    return names


def changed_files(
    inbox: Path, names: Collection[str], recorded: Iterator[tuple[str, int, int]]
) -> ChangedFiles:
    """The names whose size or mtime differ from `recorded` (name, size, mtime_ns,
    in name order), in delivery order: oldest mtime first, then by name.

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
        if record == (name, status.st_size, status.st_mtime_ns):
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

    def read(self, name: str, now: datetime, complete: bool) -> Delivery | Deferred | None:
        """None for what is not an article file or is gone.

        `complete` says the file is known to be fully written (the watcher saw it
        closed), so it need not wait `settle_seconds` after `now`.
        """
        if storable_name(name) != name:
            return self._bad_name(name)
        try:
            return self._read_path(name, f"{self.config.inbox}/{name}", now, complete)
        except FileNotFoundError:
            return None  # removed since the listing
        except OSError as error:
            if error.errno == errno.ELOOP:
                return self._read_link(name, now, complete)
            return self._unreadable(name, error)

    def _read_link(self, name: str, now: datetime, complete: bool) -> Delivery | Deferred | None:
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
            return self._read_open(name, descriptor, now, complete)
        finally:
            os.close(descriptor)

    def _read_path(
        self, name: str, path: str, now: datetime, complete: bool
    ) -> Delivery | Deferred | None:
        """Raises OSError only when `path` cannot be opened; ELOOP when it is a link,
        which `_read_link` opens and then checks. A FIFO named *.txt opens without
        waiting for a writer, and is then skipped as not a regular file.
        """
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            return self._read_open(name, descriptor, now, complete)
        finally:
            os.close(descriptor)

    def _read_open(
        self, name: str, descriptor: int, now: datetime, complete: bool
    ) -> Delivery | Deferred | None:
        try:
            status = os.fstat(descriptor)
            if not stat.S_ISREG(status.st_mode):
                return None  # a directory or device that happens to be named *.txt
            if not STORABLE_MTIME_NS[0] <= status.st_mtime_ns <= STORABLE_MTIME_NS[1]:
                return _refused(name, None, RejectReason.IMPOSSIBLE_FILE_TIME, _bad_time(status))
            age = now.timestamp() - status.st_mtime
            if not complete and age < self.config.settle_seconds:
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
        return Delivery(name, status.st_size, status.st_mtime_ns, parse(data, name))

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
    size, mtime_ns = (status.st_size, status.st_mtime_ns) if status else (0, 0)
    return Delivery(name, size, mtime_ns, Rejection(name, "", reason, message))


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
