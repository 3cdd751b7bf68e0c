"""The one interface of everything that follows publishing and story changes.

A channel is a class with a `name`, made per unit of work by `from_config`
(None when its configuration leaves it off), that overrides what it follows:

- `file_written` / `file_unchanged`: each file publishing replaced, or
  rendered again and found unchanged (a gzip copy must follow its source);
- `story_changed`: a story published, corrected, withdrawn or restored, told
  inside the transaction that changed it, so the deliveries it queues in the
  outbox commit with the change or not at all.

All of them run in the publishing thread: slow work (HTTP) belongs in the
outbox, delivered in `feeder run` by the channel's `Sender`
(`feeder.channels.sender`). A new channel is one module and one line in
`feeder.registered`; docs/channels.md shows how.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import ClassVar, Protocol, Self

from feeder.config import Config
from feeder.events import FileWritten, StoryEvent
from feeder.store import OutboxItem, Store


class Channel:
    name: ClassVar[str]

    def __init__(self, config: Config, store: Store) -> None:
        self.config = config
        self.store = store

    @classmethod
    def from_config(cls, config: Config, store: Store) -> Self | None:
        """None when the configuration leaves this channel off."""
        return cls(config, store)

    def file_written(self, event: FileWritten) -> None:
        """A file whose bytes publishing has just replaced."""

    def file_unchanged(self, event: FileWritten) -> None:
        """A file publishing rendered again and found holding its bytes."""

    def story_changed(self, event: StoryEvent, now: float) -> None:
        """Inside the transaction of the change: queue deliveries with
        `self.store.enqueue`, nothing slower."""

    @classmethod
    def problems(cls, config: Config) -> list[str]:
        """What keeps this channel from sending, for `feeder run`'s start-up check."""
        return []

    @classmethod
    def sender(cls, config: Config) -> Sender | None:
        """What delivers this channel's outbox in `feeder run`, if it has one; may
        raise a FeederError that says what to fix (a missing token)."""
        return None


@dataclass(frozen=True)
class Delivered:
    """Done; the item leaves the outbox. `calls`: how many sends it took, for the
    destination's rate limit (0 when there was nothing left to do)."""

    calls: int = 1


@dataclass(frozen=True)
class Retry:
    """Failed for now (network, 5xx): again after the backoff, counted as an attempt."""

    reason: str


@dataclass(frozen=True)
class Wait:
    """The destination asked for time (429 `retry_after`): not an attempt."""

    seconds: float


@dataclass(frozen=True)
class Failed:
    """Refused for good (a 400 for this message): this item alone is kept as failed."""

    reason: str


@dataclass(frozen=True)
class Pause:
    """The destination will refuse everything (401, 403): it waits for the operator."""

    reason: str


Outcome = Delivered | Retry | Wait | Failed | Pause


class Sender(Protocol):
    """Delivers one channel's outbox items in `feeder run`."""

    channel: str
    max_attempts: int
    retry_seconds: float
    """After a failure, doubling up to `retry_max_seconds`."""
    retry_max_seconds: float
    per_minute: int | None
    """At most this many sends a minute to one destination, or no limit."""

    def deliver(self, item: OutboxItem, store: Store) -> Awaitable[Outcome]:
        """`store` is the sender's own connection, for the channel's records."""
        ...

    async def close(self) -> None: ...
