"""The channels' durable outbox: what is to be delivered, kept until it is.

A delivery is written in the transaction of the change it follows (a story
saved, a feed replaced), so a crash before the commit sends nothing and a
kill -9 after it loses nothing. There is one row per channel and key: a newer
change of the same thing (a correction of a story not yet posted) replaces
the pending row and counts its attempts afresh, and `generation` tells the
sender whether what it sent is still the newest. Sends, pauses and each
channel's own records (`channel_records`) live beside it, so a new channel
needs no table of its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from feeder.store.database import Database, marks

# Sends older than this are forgotten: no rate limit looks back further.
SENDS_KEPT_SECONDS = 3600.0


@dataclass(frozen=True)
class OutboxItem:
    """One pending delivery, as the sender takes it."""

    id: int
    channel: str
    key: str
    destination: str
    payload: dict[str, Any]
    generation: int
    attempts: int


@dataclass(frozen=True)
class FailedItem:
    channel: str
    key: str
    destination: str
    attempts: int
    last_error: str | None


@dataclass(frozen=True)
class ChannelSummary:
    """What `feeder status` and `feeder channels list` show of one channel."""

    channel: str
    pending: int
    failed: int
    paused: dict[str, str]
    """Paused destination → why."""


class OutboxRecords(Database):
    def enqueue(
        self, channel: str, key: str, destination: str, payload: dict[str, Any], due: float
    ) -> None:
        """Call in the transaction of the change; replaces what is pending for the key."""
        self.connection.execute(
            "INSERT INTO outbox (channel, key, destination, payload, generation, due, created) "
            "VALUES (?, ?, ?, ?, 1, ?, ?) ON CONFLICT (channel, key) DO UPDATE SET "
            "destination = excluded.destination, payload = excluded.payload, "
            "generation = generation + 1, attempts = 0, due = excluded.due, failed = 0, "
            "last_error = NULL",
            [channel, key, destination, json.dumps(payload, ensure_ascii=False), due, due],
        )

    def due_items(
        self, channel: str, now: float, limit: int, skipped: Sequence[str] = ()
    ) -> list[OutboxItem]:
        """Oldest due first, leaving out failed ones, paused destinations and the
        `skipped` ones (those with a delivery in flight)."""
        rows = self.connection.execute(
            "SELECT id, channel, key, destination, payload, generation, attempts FROM outbox "
            "WHERE channel = ? AND failed = 0 AND due <= ? AND destination NOT IN "
            "(SELECT destination FROM channel_pauses WHERE channel = ?) "
            f"AND destination NOT IN ({marks(skipped)}) ORDER BY due, id LIMIT ?",
            [channel, now, channel, *skipped, limit],
        )
        return [
            OutboxItem(id, channel, key, destination, json.loads(payload), generation, attempts)
            for id, channel, key, destination, payload, generation, attempts in rows
        ]

    def next_due(self, channel: str) -> float | None:
        row = self.connection.execute(
            "SELECT min(due) FROM outbox WHERE channel = ? AND failed = 0 AND destination NOT IN "
            "(SELECT destination FROM channel_pauses WHERE channel = ?)",
            [channel, channel],
        ).fetchone()
        due: float | None = row[0]
        return due

    def settle(self, item: OutboxItem) -> None:
        """Delivered (or nothing left to do): gone, unless a newer change replaced it."""
        self.connection.execute(
            "DELETE FROM outbox WHERE id = ? AND generation = ?", [item.id, item.generation]
        )

    def retry(self, item: OutboxItem, at: float, error: str, max_attempts: int) -> bool:
        """One more failed attempt; returns True when that was the last one allowed."""
        self.connection.execute(
            "UPDATE outbox SET attempts = attempts + 1, due = ?, last_error = ?, "
            "failed = attempts + 1 >= ? WHERE id = ? AND generation = ?",
            [at, error, max_attempts, item.id, item.generation],
        )
        return item.attempts + 1 >= max_attempts

    def postpone(self, item: OutboxItem, at: float) -> None:
        """Not an attempt: a rate limit or the destination's own `retry_after`."""
        self.connection.execute(
            "UPDATE outbox SET due = ? WHERE id = ? AND generation = ?",
            [at, item.id, item.generation],
        )

    def give_up(self, item: OutboxItem, error: str) -> None:
        """Refused for good: kept as failed, for `feeder channels retry`."""
        self.connection.execute(
            "UPDATE outbox SET attempts = attempts + 1, failed = 1, last_error = ? "
            "WHERE id = ? AND generation = ?",
            [error, item.id, item.generation],
        )

    def pause(self, channel: str, destination: str, reason: str, now: float) -> None:
        self.connection.execute(
            "INSERT OR REPLACE INTO channel_pauses (channel, destination, reason, since) "
            "VALUES (?, ?, ?, ?)",
            [channel, destination, reason, now],
        )

    def retry_failed(self, channel: str | None, now: float) -> tuple[int, int]:
        """The operator's retry: failed deliveries due now with their attempts afresh,
        and paused destinations resumed. Returns how many of each."""
        where, parameters = ("channel = ?", [channel]) if channel else ("1", [])
        with self.transaction():
            retried = self.connection.execute(
                f"UPDATE outbox SET failed = 0, attempts = 0, due = ? WHERE failed = 1 AND {where}",
                [now, *parameters],
            ).rowcount
            resumed = self.connection.execute(
                f"DELETE FROM channel_pauses WHERE {where}", parameters
            ).rowcount
        return retried, resumed

    def record_send(self, channel: str, destination: str, at: float) -> None:
        self.connection.execute(
            "DELETE FROM channel_sends WHERE channel = ? AND destination = ? AND at < ?",
            [channel, destination, at - SENDS_KEPT_SECONDS],
        )
        self.connection.execute(
            "INSERT INTO channel_sends (channel, destination, at) VALUES (?, ?, ?)",
            [channel, destination, at],
        )

    def sends_since(self, channel: str, destination: str, since: float) -> list[float]:
        """When each send to the destination after `since` went out, oldest first."""
        return [
            at
            for (at,) in self.connection.execute(
                "SELECT at FROM channel_sends WHERE channel = ? AND destination = ? AND at > ? "
                "ORDER BY at",
                [channel, destination, since],
            )
        ]

    def channel_record(self, channel: str, key: str) -> dict[str, Any] | None:
        row = self.connection.execute(
            "SELECT value FROM channel_records WHERE channel = ? AND key = ?", [channel, key]
        ).fetchone()
        return json.loads(row[0]) if row else None

    def channel_records_like(self, channel: str, prefix: str) -> dict[str, dict[str, Any]]:
        """Every record of the channel whose key starts with `prefix`."""
        rows = self.connection.execute(
            "SELECT key, value FROM channel_records WHERE channel = ? AND key >= ? AND key < ?",
            [channel, prefix, prefix + "\U0010ffff"],
        )
        return {key: json.loads(value) for key, value in rows}

    def put_channel_record(self, channel: str, key: str, value: dict[str, Any]) -> None:
        self.connection.execute(
            "INSERT OR REPLACE INTO channel_records (channel, key, value) VALUES (?, ?, ?)",
            [channel, key, json.dumps(value, ensure_ascii=False)],
        )

    def drop_channel_record(self, channel: str, key: str) -> None:
        self.connection.execute(
            "DELETE FROM channel_records WHERE channel = ? AND key = ?", [channel, key]
        )

    def outbox_channels(self) -> list[str]:
        """Every channel with deliveries pending or failed."""
        return [row[0] for row in self.connection.execute("SELECT DISTINCT channel FROM outbox")]

    def channel_summaries(self, channels: Iterable[str]) -> list[ChannelSummary]:
        summaries = []
        for channel in channels:
            pending, failed = self.connection.execute(
                "SELECT count(*) FILTER (WHERE failed = 0), count(*) FILTER (WHERE failed = 1) "
                "FROM outbox WHERE channel = ?",
                [channel],
            ).fetchone()
            paused = dict(
                self.connection.execute(
                    "SELECT destination, reason FROM channel_pauses WHERE channel = ? "
                    "ORDER BY destination",
                    [channel],
                ).fetchall()
            )
            summaries.append(ChannelSummary(channel, pending, failed, paused))
        return summaries

    def failed_items(self, channel: str) -> list[FailedItem]:
        rows = self.connection.execute(
            "SELECT channel, key, destination, attempts, last_error FROM outbox "
            "WHERE channel = ? AND failed = 1 ORDER BY id",
            [channel],
        )
        return [FailedItem(*row) for row in rows]
