"""Article pages written by a helper process, so creating files overlaps with parsing.

Creating a file costs ext4 tens of microseconds of kernel time, and in a bulk
ingest that is as much as parsing and storing the article the page shows. Once
a run has written `HELPER_AFTER_PAGES` pages itself, it hands the rest, a batch
at a time, to a child process (`python -m feeder.site.pagewriter`) that writes them
on the other core while this one renders the next batch and ingests the next
files. A run that writes fewer pages never starts the child (about 30 ms).

A batch counts as written only when the child says so; until then its pages
stay dirty in the database, so a crash of either process leaves them for the
next run. The child inherits the work lock, so a parent killed with SIGKILL
leaves the lock held until the child is gone too, and no other run writes
beside it; once orphaned it stops before the next page. It ignores SIGINT and
SIGTERM, so that stopping the parent stops it in order, not mid-batch.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import subprocess
import sys
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from feeder.files import PublishError, write_if_changed

log = logging.getLogger(__name__)

# Pages a run writes itself before starting the child; tests lower it.
HELPER_AFTER_PAGES = 2_000
# Batches handed over but not yet reported written: enough to keep the child
# busy while the next is rendered, few enough to bound memory.
MAX_IN_FLIGHT = 2
# How long close() waits for the child to finish what it was handed.
STOP_SECONDS = 10.0

# What the child is sent for each page: where to write it, and its bytes.
Page = tuple[Path, bytes]
# The (story id, revision) of each page in a batch, for marking them clean.
Stories = list[tuple[str, int]]


@dataclass(frozen=True)
class WrittenBatch:
    """Pages now on disk: the stories they show, and how many had changed bytes."""

    stories: Stories
    written: int


class PageWriter:
    """Writes batches of pages, by itself at first and then through the child.

    `write` and `finish` return the batches known to be on disk, oldest first;
    the caller marks those clean, and closes the writer before it releases the
    work lock.
    """

    def __init__(self, work_lock: int, temp_dir: Path) -> None:
        self.work_lock = work_lock
        self.temp_dir = temp_dir
        self._pages_seen = 0
        self._child: subprocess.Popen[bytes] | None = None
        self._in_flight: deque[Stories] = deque()

    def write(self, stories: Stories, pages: list[Page]) -> list[WrittenBatch]:
        self._pages_seen += len(pages)
        if self._child is None and self._pages_seen <= HELPER_AFTER_PAGES:
            written = _write(pages, self.temp_dir)
            return [WrittenBatch(stories, written)]
        done = self._collect(keep=MAX_IN_FLIGHT - 1)
        self._send(pages)
        self._in_flight.append(stories)
        return done

    def finish(self) -> list[WrittenBatch]:
        """Everything handed over, once the child has written it."""
        return self._collect(keep=0)

    def close(self) -> None:
        """Stop the child: in order after `finish`, at once after an error."""
        child, self._child = self._child, None
        if child is None:
            return
        assert child.stdin is not None
        if self._in_flight:
            child.kill()  # unreported pages stay dirty for the next run
            self._in_flight.clear()
        else:
            child.stdin.close()
        try:
            child.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()

    def _start(self) -> subprocess.Popen[bytes]:
        child = subprocess.Popen(
            [sys.executable, "-m", "feeder.site.pagewriter", str(os.getpid()), str(self.temp_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            pass_fds=[self.work_lock],
        )
        log.info("writing the remaining pages through a helper process (pid %d)", child.pid)
        return child

    def _send(self, pages: list[Page]) -> None:
        if self._child is None:
            self._child = self._start()
        assert self._child.stdin is not None
        try:
            pickle.dump(pages, self._child.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self._child.stdin.flush()
        except BrokenPipeError:
            raise self._died() from None

    def _collect(self, keep: int) -> list[WrittenBatch]:
        done = []
        while len(self._in_flight) > keep:
            assert self._child is not None and self._child.stdout is not None
            try:
                outcome, detail = pickle.load(self._child.stdout)
            except (EOFError, pickle.UnpicklingError):  # it died, maybe mid-reply
                raise self._died() from None
            stories = self._in_flight.popleft()
            if outcome == "error":
                raise PublishError(detail)
            done.append(WrittenBatch(stories, detail))
        return done

    def _died(self) -> PublishError:
        assert self._child is not None
        code = self._child.wait()
        return PublishError(
            f"the page writer process exited unexpectedly (exit code {code}); "
            "its pages stay marked for rewriting and the next run writes them"
        )


def _write(pages: list[Page], temp_dir: Path) -> int:
    """Pages are many and cheap to rebuild: atomic, but not fsynced one by one."""
    return sum(
        write_if_changed(path, data, temp_dir=temp_dir, durable=False) for path, data in pages
    )


def serve(parent_pid: int, temp_dir: Path, requests: BinaryIO, replies: BinaryIO) -> None:
    """The child's loop: a batch of pages in, ("ok", pages changed) or ("error", why) out."""
    while True:
        try:
            pages: list[Page] = pickle.load(requests)
        except EOFError:
            return  # the parent is done
        except pickle.UnpicklingError:
            return  # the parent was killed mid-batch: none of it is to be written
        try:
            written = 0
            for path, data in pages:
                if os.getppid() != parent_pid:
                    return  # orphaned: the work lock is no longer held for us
                written += _write([(path, data)], temp_dir)
            reply: tuple[str, object] = ("ok", written)
        except PublishError as error:
            reply = ("error", str(error))
        try:
            pickle.dump(reply, replies)
            replies.flush()
        except BrokenPipeError:
            return  # the parent is gone; what was written stays dirty for the next run


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    serve(int(sys.argv[1]), Path(sys.argv[2]), sys.stdin.buffer, sys.stdout.buffer)


if __name__ == "__main__":
    main()
