"""Advisory file locks, so the daemon and manual commands take turns on one database.

flock locks vanish with the process that held them, so a killed process never
leaves a stale lock behind; the pid written inside only makes messages useful.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from feeder.errors import FeederError

POLL_SECONDS = 0.05


class LockBusy(FeederError):
    """Another process holds the lock; the message names it."""


def holder_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip() or 0) or None
    except (OSError, ValueError):
        return None


@contextmanager
def file_lock(path: Path, timeout: float, purpose: str) -> Iterator[int]:
    """Hold an exclusive lock on `path`, waiting up to `timeout` seconds (0: do not wait).

    Yields the locked descriptor: a child process given it holds the lock too,
    until both have closed it or exited.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockBusy(
                        f"{purpose}: another feeder process (pid {holder_pid(path) or 'unknown'}) "
                        f"holds {path}; wait for it to finish, or stop it, and try again"
                    ) from None
                time.sleep(POLL_SECONDS)
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()}\n".encode())
        yield descriptor
    finally:
        os.close(descriptor)


def is_locked(path: Path) -> bool:
    """Whether some process holds `path` now (probed with a shared lock, released at once)."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)
    return False
