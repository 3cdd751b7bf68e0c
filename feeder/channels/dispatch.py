"""The channels of one unit of work, told of what it publishes and changes.

A channel that raises on a file is logged with the file and the others still
run: publishing never fails because of what follows it. `story_changed` runs
inside the story's transaction and is not caught: a delivery that cannot be
queued must not be lost silently, so the change is not committed without it
and the next run tries again. Once the change is committed, the senders in
this process are woken (`wakes`); those in another process find it within
their poll.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from feeder.channels.channel import Channel
from feeder.config import Config
from feeder.events import FileWritten, story_event
from feeder.model import Entry, StoryChange
from feeder.store import Store

log = logging.getLogger(__name__)

_wakes: list[Callable[[], None]] = []
_wakes_guard = threading.Lock()


def add_wake(wake: Callable[[], None]) -> None:
    """A sender in this process, to be woken when something is queued."""
    with _wakes_guard:
        _wakes.append(wake)


def remove_wake(wake: Callable[[], None]) -> None:
    with _wakes_guard:
        if wake in _wakes:
            _wakes.remove(wake)


def wake_senders() -> None:
    with _wakes_guard:
        wakes = list(_wakes)
    for wake in wakes:
        wake()


class Channels:
    """The active channels, in registration order; the store's story listener."""

    def __init__(self, config: Config, store: Store, types: Iterable[type[Channel]]) -> None:
        self.config = config
        self.active = [
            channel for kind in types if (channel := kind.from_config(config, store)) is not None
        ]
        # Building events costs a bulk ingest of 100,000 stories seconds: only for those
        # who follow stories.
        self.following_stories = [
            channel
            for channel in self.active
            if type(channel).story_changed is not Channel.story_changed
        ]

    def file_written(self, event: FileWritten) -> None:
        self._tell("file_written", event)

    def file_unchanged(self, event: FileWritten) -> None:
        self._tell("file_unchanged", event)

    def recorded(self, changes: list[tuple[StoryChange, Entry]]) -> None:
        if not self.following_stories:
            return
        now = time.time()
        for change, entry in changes:
            event = story_event(self.config, change, entry)
            for channel in self.following_stories:
                channel.story_changed(event, now)

    def committed(self) -> None:
        wake_senders()

    def _tell(self, method: str, event: FileWritten) -> None:
        for channel in self.active:
            try:
                getattr(channel, method)(event)
            except Exception:  # any channel's failure, which must not stop publishing
                log.exception(
                    "%s: written, but channel %s failed on it", event.relative_path, channel.name
                )
