"""After a publish: record a delivery for each subscriber of every feed that changed.

This is all WebSub adds to publishing: a channel told of each file written
that runs one statement per changed feed, in the publishing process, which
may be the daemon or a manual `feeder ingest`. The deliveries wait in the
outbox for the hub's worker (feeder.channels.websub.worker); a worker in this
process is woken at once, one in another process finds them within a second.
Should this fail (it is logged, and publishing goes on), the worker finds the
feed's new version within a minute all the same.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from typing import Self

from feeder.channels.channel import Channel
from feeder.channels.dispatch import wake_senders
from feeder.channels.websub.state import QUEUE_DELIVERIES
from feeder.config import Config
from feeder.events import FileWritten
from feeder.feeds.hubs import topic_path
from feeder.store import Store


class WebSub(Channel):
    name = "websub"

    @classmethod
    def from_config(cls, config: Config, store: Store) -> Self | None:
        return cls(config, store) if config.websub.enabled else None

    def file_written(self, event: FileWritten) -> None:
        if event.feed_format is None or topic_path(self.config, event.url) is None:
            return
        version = hashlib.sha256(event.data).hexdigest()
        queue(self.store, event.url, version, self.config.websub.external_hubs, time.time())
        wake_senders()


def queue(store: Store, topic: str, version: str, hubs: Iterable[str], now: float) -> None:
    """Queue the new version for every live subscriber that lacks it, and a ping
    for each external hub.

    One statement per table, whatever the number of subscribers, so it costs
    publishing next to nothing. A pending older version is replaced, and
    counts its attempts afresh.
    """
    with store.transaction():
        store.connection.execute(
            f"{QUEUE_DELIVERIES} ON CONFLICT (channel, key) DO UPDATE SET "
            "payload = excluded.payload, generation = generation + 1, attempts = 0, "
            "due = excluded.due, failed = 0, last_error = NULL",
            [version, now, now, topic, now, version],
        )
        for hub in hubs:
            store.connection.execute(
                "INSERT INTO outbox (channel, key, destination, payload, generation, due, created) "
                "VALUES ('websub-ping', json_array(?, ?), ?, json_object('hub', ?, 'topic', ?), "
                "1, ?, ?) ON CONFLICT (channel, key) DO UPDATE SET generation = generation + 1, "
                "attempts = 0, due = excluded.due, failed = 0, last_error = NULL",
                [hub, topic, hub, hub, topic, now, now],
            )
