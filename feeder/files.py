"""Replacing a file so that readers only ever see the old bytes or the new ones.

Each write goes to a temp file of its own, a hidden name no other write uses,
and is moved into place with os.replace; so writers that do not share a lock
(the daemon's heartbeat beside a database, the publisher of a database kept in
the same folder or in `output_dir`) never write into each other's temp file.

The temp file lives in a folder the caller names, on the same filesystem as
the target. Files under `output_dir` are written through its one hidden
`TEMP_FOLDER`, so the temp files a killed writer left are found by listing
that small folder, never the folder of article pages; the publisher empties it
under the work lock before it writes. Other files (the heartbeat) use their
own folder, and their leftovers are found by the target's name.

A file whose bytes did not change is not touched, so its mtime (and so its
HTTP validators) stay put; a file whose bytes changed gets a later mtime in whole
seconds than the version it replaces, so its validators always change. Both the publisher and the page writer process use
this; it imports nothing heavier than the standard library, so that process
starts fast.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import time
from pathlib import Path

from feeder.errors import FeederError

# The hidden folder under output_dir that holds the temp files of its writes.
TEMP_FOLDER = ".feeder-tmp"
TEMP_SUFFIX = ".tmp"
# Keeps a temp name, which starts with its target's, within any filesystem's limit.
_NAME_PART = 100


# What a filesystem answers about one file's own name or place (a name too long,
# a folder where the file belongs, a name it cannot hold); anything else (a full
# disk, a read-only mount, no permission) is the whole output's problem.
_THIS_FILE_ONLY = frozenset(
    {errno.ENAMETOOLONG, errno.EISDIR, errno.ENOTDIR, errno.EINVAL, errno.EILSEQ}
)


class PublishError(FeederError):
    """A file could not be written; the message names it and says what to check.

    `this_file_only`: the cause is the file's own name or place, so other files
    can still be written."""

    def __init__(self, message: str, this_file_only: bool = False) -> None:
        super().__init__(message)
        self.this_file_only = this_file_only


def write_if_changed(
    path: Path, data: bytes, *, temp_dir: Path, durable: bool = True, mtime_ns: int | None = None
) -> bool:
    """Replace `path` atomically with `data` unless it already holds exactly that
    (and has the modification time `mtime_ns`, when given: a copy carrying the time
    of its source is replaced with that time already set); the temp file is made
    in `temp_dir`, which must be on the same filesystem."""
    try:
        previous_mtime_ns = path.stat().st_mtime_ns
        if path.read_bytes() == data and mtime_ns in (None, previous_mtime_ns):
            return False
        if mtime_ns is None:
            mtime_ns = _later_second(previous_mtime_ns)
    except OSError:
        pass  # missing or unreadable: write it anew, and report if that fails
    temp: Path | None = None
    try:
        temp, descriptor = _create_temp(temp_dir, path)
        with open(descriptor, "wb") as temp_file:
            temp_file.write(data)
            if durable:
                temp_file.flush()
                os.fsync(temp_file.fileno())
        if mtime_ns is not None:
            os.utime(temp, ns=(mtime_ns, mtime_ns))
        _replace(temp, path)
    except OSError as error:
        if temp is not None:
            with contextlib.suppress(OSError):
                temp.unlink()
        raise PublishError(
            f"cannot write {path}: {error.strerror}; check free space and that "
            f"{path.parent} is a writable folder; the next run retries",
            this_file_only=error.errno in _THIS_FILE_ONLY,
        ) from error
    return True


def _later_second(previous_mtime_ns: int) -> int | None:
    """The start of the second after the replaced version's, while the clock is
    still in that second (None once it has left it): both servers build ETag and
    Last-Modified from the mtime in whole seconds and the size, as nginx does, so
    a same-size rewrite within the second would otherwise look unchanged, and a
    client holding the old version would get 304 for the new one."""
    second = 1_000_000_000
    next_second = (previous_mtime_ns // second + 1) * second
    return next_second if time.time_ns() < next_second else None


def remove_temp_files(temp_dir: Path, target: Path | None = None) -> int:
    """Temp files a killed writer left in `temp_dir`: those of `target`, or all.

    Call it only where no other writer can be using them: the lock that lets
    one writer at a time write `target` (or every file using `temp_dir`) is held.
    """
    prefix = _temp_prefix(target) if target else "."
    try:
        names = os.listdir(temp_dir)
    except (FileNotFoundError, NotADirectoryError):
        return 0
    removed = 0
    for name in names:
        if name.startswith(prefix) and name.endswith(TEMP_SUFFIX):
            # One that cannot be removed (a read-only mount) is hidden and harmless,
            # and the write that follows reports the folder's problem in its own words.
            with contextlib.suppress(OSError):
                (temp_dir / name).unlink()
                removed += 1
    return removed


def _temp_prefix(target: Path) -> str:
    return f".{target.name[:_NAME_PART]}."


def _create_temp(temp_dir: Path, target: Path) -> tuple[Path, int]:
    """A new file no other write uses (O_EXCL), readable as the target would be
    (the umask applies, unlike mkstemp's 0600); its folder is made only when
    missing, not with a mkdir before each of thousands of pages."""
    temp = temp_dir / f"{_temp_prefix(target)}{secrets.token_hex(8)}{TEMP_SUFFIX}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    try:
        return temp, os.open(temp, flags, 0o666)
    except FileNotFoundError:
        temp_dir.mkdir(parents=True, exist_ok=True)
        return temp, os.open(temp, flags, 0o666)


def _replace(temp: Path, target: Path) -> None:
    try:
        os.replace(temp, target)
    except FileNotFoundError:
        target.parent.mkdir(parents=True, exist_ok=True)  # made only when missing
        os.replace(temp, target)
