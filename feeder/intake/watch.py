"""Inbox events → ingest requests, so an article reaches its feeds the moment it lands.

A file closed after writing, or renamed into the inbox, is complete and needs
no settling time. A bare "created" event is not (the writer may still be at
work), so it only asks for a run once `settle_seconds` have passed. Events can
be lost (network filesystems, overflow); the daemon's polling is the safety net.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from watchdog.events import (
    DirCreatedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileMovedEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from feeder.intake.inbox import is_article_name

log = logging.getLogger(__name__)

# Called with a file name and whether the file is known to be complete.
OnArrival = Callable[[str, bool], None]


class InboxWatcher(FileSystemEventHandler):
    def __init__(self, inbox: Path, on_arrival: OnArrival) -> None:
        self.inbox = inbox.resolve()
        self.on_arrival = on_arrival
        self.observer = _observer()

    def start(self) -> None:
        self.observer.schedule(self, str(self.inbox), recursive=False)
        self.observer.start()
        log.info("watching %s for new files", self.inbox)

    def stop(self) -> None:
        self.observer.stop()
        self.observer.join(timeout=5)

    def on_closed(self, event: FileClosedEvent) -> None:
        self._arrived(event.src_path, complete=True)

    def on_moved(self, event: DirMovedEvent | FileMovedEvent) -> None:
        self._arrived(event.dest_path, complete=True)

    def on_created(self, event: DirCreatedEvent | FileCreatedEvent) -> None:
        if not event.is_directory:
            self._arrived(event.src_path, complete=False)

    def _arrived(self, path: str | bytes, complete: bool) -> None:
        file = Path(path if isinstance(path, str) else path.decode(errors="surrogateescape"))
        if file.parent == self.inbox and is_article_name(file.name):
            log.debug("%s: %s", file.name, "complete" if complete else "created")
            self.on_arrival(file.name, complete)


def _observer() -> BaseObserver:
    """On Linux, ask inotify to report files moved in from elsewhere as moves, not creations."""
    try:
        return Observer(generate_full_events=True)  # type: ignore[call-arg]
    except TypeError:  # other platforms' observers have no such option
        return Observer()
