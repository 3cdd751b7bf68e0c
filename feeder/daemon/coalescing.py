"""Ingest requests gathered while a run is busy, so a burst of events is as few runs as can be.

No scheduler in here: the daemon decides when to start a run; this decides
what a run covers and whether another must follow at once. A file that lands
while a run is busy is not left for the next interval: the run goes round again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from threading import Event, Lock


@dataclass(frozen=True)
class IngestWork:
    """What one ingest run is to look at."""

    only: list[str] | None  # the files named by events; None to scan the whole inbox
    complete: list[str]  # those known to be fully written, which need not settle


class IngestCoalescer:
    """Thread-safe: events arrive from the watcher's thread, runs on the scheduler's."""

    def __init__(self) -> None:
        self._guard = Lock()
        # Files named by events since the last run, and whether each is known complete.
        self._arrived: dict[str, bool] = {}
        self._scan_requested = False
        self._running = False
        self._rerun_requested = False

    def file_arrived(self, name: str, complete: bool) -> None:
        """A file named by an event; it stays complete once any event said it is."""
        with self._guard:
            self._arrived[name] = complete or self._arrived.get(name, False)

    def request(self) -> bool:
        """Whether a run should be started for what arrived; while one is running,
        it runs again instead, and this says no."""
        with self._guard:
            if self._running:
                self._rerun_requested = True
                return False
            return True

    def run(self, ingest: Callable[[IngestWork], None], stop: Event, scan: bool = False) -> None:
        """Call `ingest` for what was asked for, again at once while more is asked
        for during a call, until nothing is left or `stop` is set.

        Called while another thread is in here, it hands its work to that thread
        and returns at once.
        """
        with self._guard:
            self._scan_requested |= scan
            if self._running:
                self._rerun_requested = True
                return
            self._running = True
        try:
            while not stop.is_set():
                with self._guard:
                    arrived, self._arrived = self._arrived, {}
                    scan, self._scan_requested = self._scan_requested, False
                    self._rerun_requested = False
                if scan or arrived:
                    complete = [name for name, done in arrived.items() if done]
                    ingest(IngestWork(None if scan else list(arrived), complete))
                with self._guard:
                    # Decided under the same lock an event takes to ask for a rerun,
                    # so no event falls between this check and the run's end.
                    if not self._rerun_requested:
                        self._running = False
                        return
        finally:
            with self._guard:
                self._running = False
