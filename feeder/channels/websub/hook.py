"""After a publish: record a delivery for each subscriber of every feed that changed.

This is all WebSub adds to publishing: a listener of the post-publish hook
(`feeder.publish.events.FILE_WRITTEN`) that runs one statement per changed feed, in
the publishing process, which may be the daemon or a manual `feeder ingest`.
The deliveries wait in SQLite for the worker; a worker in this process is
woken at once, one in another process finds them within a second. Should the
listener fail (it is logged, and publishing goes on), the worker finds the
feed's new version within a minute all the same.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from feeder.config import Config
from feeder.feeds.hubs import topic_path
from feeder.publish.events import FILE_WRITTEN, FileWritten
from feeder.store import Store

_listeners: list[Callable[[], None]] = []
_listeners_guard = threading.Lock()


def add_listener(wake: Callable[[], None]) -> None:
    with _listeners_guard:
        _listeners.append(wake)


def remove_listener(wake: Callable[[], None]) -> None:
    with _listeners_guard:
        if wake in _listeners:
            _listeners.remove(wake)


def wake_listeners() -> None:
    with _listeners_guard:
        listeners = list(_listeners)
    for wake in listeners:
        wake()


@contextmanager
def queueing(config: Config, store: Store) -> Iterator[None]:
    """While a unit of work publishes (under the work lock), queue a delivery of each
    feed it changes for every subscriber: a FILE_WRITTEN listener for its duration."""
    if not config.websub.enabled:
        yield
        return

    def queue_deliveries(event: FileWritten) -> None:
        if event.feed_format is None or topic_path(config, event.url) is None:
            return
        version = hashlib.sha256(event.data).hexdigest()
        _queue(store, event.url, version, config.websub.external_hubs, time.time())
        wake_listeners()

    FILE_WRITTEN.subscribe(queue_deliveries)
    try:
        yield
    finally:
        FILE_WRITTEN.unsubscribe(queue_deliveries)


def _queue(store: Store, topic: str, version: str, hubs: Iterable[str], now: float) -> None:
    """Queue the new version for every live subscriber that lacks it, and a ping
    for each external hub (tables: feeder.channels.websub.state).

    One statement per table, whatever the number of subscribers, so it costs
    publishing next to nothing. A pending older version is replaced, and
    counts its attempts afresh.
    """
    with store.transaction():
        store.connection.execute(
            "INSERT INTO websub_deliveries (subscription_id, version, generation, attempts, due) "
            "SELECT id, ?, 1, 0, ? FROM websub_subscriptions WHERE topic = ? AND expires > ? "
            "AND delivered_version IS NOT ? ON CONFLICT (subscription_id) DO UPDATE SET "
            "version = excluded.version, generation = generation + 1, attempts = 0, "
            "due = excluded.due, failed = 0, last_error = NULL",
            [version, now, topic, now, version],
        )
        for hub in hubs:
            store.connection.execute(
                "INSERT INTO websub_pings (hub, topic, generation, attempts, due) "
                "VALUES (?, ?, 1, 0, ?) ON CONFLICT (hub, topic) DO UPDATE SET "
                "generation = generation + 1, attempts = 0, due = excluded.due, failed = 0, "
                "last_error = NULL",
                [hub, topic, now],
            )
