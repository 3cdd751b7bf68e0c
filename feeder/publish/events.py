"""What follows publishing: listeners of `FILE_WRITTEN`, told about each file written.

Work that follows a publish (a WebSub ping, a precompressed copy, a CDN purge)
is one module that subscribes here, not a call added to `feeder.publish.publisher`, as
Pelican's `feed_written` signal does it. An event is emitted only when a file's
bytes changed and it was replaced, so an unchanged feed pings no one.

Listeners run in the publishing thread, in subscription order, while the work
lock is held: slow work (HTTP) belongs in a queue the listener fills. A listener
that raises is logged with the file it was told about and the others still run:
publishing never fails because of what follows it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from feeder.feeds.model import FeedFormat

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileWritten:
    """One file publishing has just replaced with new bytes."""

    relative_path: str
    """Under the output directory and under the base URL: `feeds/all.rss`."""
    path: Path
    url: str
    """Where subscribers fetch it (base URL + relative path)."""
    media_type: str | None
    """The registered type readers are served, without charset."""
    data: bytes
    feed_format: FeedFormat | None = None
    """Set for feeds only, like `feed_slug` (`all` for all news)."""
    feed_slug: str | None = None
    durable: bool = True
    """False: written without an fsync of its own; the publisher makes its batch
    durable at once before recording it written, and a file of one follows suit."""


Listener = Callable[[FileWritten], None]


class Listeners:
    """A list of listeners; `subscribe` also works as a decorator."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Listener:
        self._listeners.append(listener)
        return listener

    def unsubscribe(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    def emit(self, event: FileWritten) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # any listener's failure, which must not stop publishing
                log.exception(
                    "%s: written, but %s failed on it", event.relative_path, _name(listener)
                )


def _name(listener: Listener) -> str:
    """`feeder.channels.websub.ping`: the module says where to look."""
    name = getattr(listener, "__name__", None)
    return f"{listener.__module__}.{name}" if name else repr(listener)


FILE_WRITTEN = Listeners()
# Told, with the same event, about each file publishing rendered again and found
# already holding its bytes: for listeners whose own file must match the source,
# since a crash or a failure between a file's replacement and their work leaves
# theirs behind (a stale gzip copy), and nothing else would notice.
FILE_UNCHANGED = Listeners()
