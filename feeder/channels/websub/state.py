"""The hub's state in SQLite: requests awaiting verification, subscriptions,
pending deliveries and pings to other hubs (tables made by store migration 9).

Everything a restart or a SIGKILL must not lose is here, and nothing else:
what is in flight lives in the worker's memory only, so after a crash every
delivery that was not recorded as done is simply due again (at least once).
A subscription has at most one pending delivery, of the newest version of its
feed: a version superseded before it went out is never sent, and one already
delivered (`delivered_version`) is never queued again.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from feeder.store import Store


class Mode(enum.Enum):
    SUBSCRIBE = "subscribe"
    UNSUBSCRIBE = "unsubscribe"


@dataclass(frozen=True)
class SubscriptionRequest:
    callback: str
    topic: str
    mode: Mode
    # None for an unsubscribe, which has no lease.
    lease_seconds: int | None
    secret: str | None


@dataclass(frozen=True)
class Intent(SubscriptionRequest):
    """A subscription request accepted (202) and not yet verified with the subscriber."""

    id: int


@dataclass(frozen=True)
class Full:
    """A limit a request would pass: one host's (`callback_host` set) or the hub's."""

    callback_host: str | None
    count: int


@dataclass(frozen=True)
class PendingRequest:
    callback: str
    topic: str
    mode: Mode
    requested: float


@dataclass(frozen=True)
class Subscription:
    callback: str
    topic: str
    expires: float
    has_secret: bool
    pending: bool
    failed: bool
    last_error: str | None


@dataclass(frozen=True)
class DueDelivery:
    subscription_id: int
    generation: int
    attempts: int
    callback: str
    topic: str
    secret: str | None
    delivered_version: str | None


@dataclass(frozen=True)
class DuePing:
    hub: str
    topic: str
    generation: int
    attempts: int


class Outcome(enum.Enum):
    DELIVERED = "delivered"
    # The callback answered 410 Gone: the subscriber wants no more (WebSub 7).
    GONE = "gone"
    FAILED = "failed"
    # The subscriber already has the feed's current version.
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Attempt:
    """What one delivery or ping came to; `retry_at` is when to try again after a failure."""

    outcome: Outcome
    version: str | None = None
    error: str | None = None
    retry_at: float = 0.0


@dataclass(frozen=True)
class PendingDelivery:
    callback: str
    topic: str
    attempts: int
    failed: bool
    last_error: str | None


@dataclass(frozen=True)
class TopicSummary:
    topic: str
    subscribers: int
    pending: int
    failed: int


# The hub's queue is the channels' outbox (feeder.store.outbox): channel `websub`
# keyed by subscription id, one pending version each, and `websub-ping` keyed by
# [hub, topic] for pings of external hubs.
_DELIVERY_OF_SUBSCRIPTION = "d.channel = 'websub' AND d.key = CAST(s.id AS TEXT)"
_PING = "channel = 'websub-ping' AND key = json_array(?, ?) AND generation = ?"
# Parameters: version, due, created, topic, now, version.
QUEUE_DELIVERIES = (
    "INSERT INTO outbox (channel, key, destination, payload, generation, due, created) "
    "SELECT 'websub', CAST(id AS TEXT), callback_host, json_object('version', ?), 1, ?, ? "
    "FROM websub_subscriptions WHERE topic = ? AND expires > ? AND delivered_version IS NOT ?"
)


class HubState:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.connection = store.connection

    # --- requests --------------------------------------------------------------

    def add_intent(
        self,
        request: SubscriptionRequest,
        callback_host: str,
        now: float,
        max_per_host: int,
        max_in_all: int,
    ) -> Full | None:
        """Keep a request for verification unless it would pass a limit; counted and
        kept in one write transaction, so requests arriving together cannot all slip
        under a limit. `callback_host` is what the per-host limit counts: the address
        the callback's host resolved to. A newer request for the same callback and
        topic replaces an unverified one, and like a renewal adds nothing to the count.
        """
        union = (
            "SELECT callback, topic, callback_host FROM websub_subscriptions UNION "
            "SELECT callback, topic, callback_host FROM websub_intents"
        )
        with self.store.transaction():
            for_host, in_all = self.connection.execute(
                f"SELECT COUNT(*) FILTER (WHERE callback_host = ?), COUNT(*) FROM ({union}) "
                "WHERE NOT (callback = ? AND topic = ?)",
                [callback_host, request.callback, request.topic],
            ).fetchone()
            if for_host >= max_per_host:
                return Full(callback_host, for_host)
            if in_all >= max_in_all:
                return Full(None, in_all)
            self.connection.execute(
                "INSERT OR REPLACE INTO websub_intents "
                "(callback, topic, mode, lease_seconds, secret, callback_host, requested) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    request.callback,
                    request.topic,
                    request.mode.value,
                    request.lease_seconds,
                    request.secret,
                    callback_host,
                    now,
                ],
            )
        return None

    def intents(self, limit: int) -> list[Intent]:
        rows = self.connection.execute(
            "SELECT id, callback, topic, mode, lease_seconds, secret FROM websub_intents "
            "ORDER BY id LIMIT ?",
            [limit],
        )
        return [
            Intent(callback, topic, Mode(mode), lease, secret, id)
            for id, callback, topic, mode, lease, secret in rows
        ]

    def settle_intent(
        self, intent: Intent, confirmed: bool, now: float, version: str | None
    ) -> None:
        """The verification's answer: a confirmed subscribe starts or renews the lease
        (a renewal keeps what was delivered), a confirmed unsubscribe ends it.

        A new subscriber counts as having the feed's current `version`: it is sent
        the next change, not the feed it just subscribed to. A request removed
        (`feeder websub remove`) or replaced by a newer one while it was being
        verified comes to nothing.
        """
        with self.store.transaction():
            if confirmed and intent.mode is Mode.SUBSCRIBE:
                self.connection.execute(
                    "INSERT INTO websub_subscriptions (callback, topic, callback_host, secret, "
                    "lease_seconds, expires, created, delivered_version) "
                    "SELECT callback, topic, callback_host, secret, lease_seconds, "
                    "? + lease_seconds, ?, ? FROM websub_intents WHERE id = ? "
                    "ON CONFLICT (callback, topic) DO UPDATE SET secret = excluded.secret, "
                    "lease_seconds = excluded.lease_seconds, expires = excluded.expires, "
                    "callback_host = excluded.callback_host",
                    [now, now, version, intent.id],
                )
            settled = self.connection.execute(
                "DELETE FROM websub_intents WHERE id = ?", [intent.id]
            ).rowcount
            if settled and confirmed and intent.mode is Mode.UNSUBSCRIBE:
                self._delete_subscriptions(
                    "callback = ? AND topic = ?", [intent.callback, intent.topic]
                )

    # --- subscriptions -----------------------------------------------------------

    def subscriptions(self) -> list[Subscription]:
        rows = self.connection.execute(
            "SELECT s.callback, s.topic, s.expires, s.secret IS NOT NULL, "
            "d.id IS NOT NULL AND d.failed = 0, coalesce(d.failed, 0), d.last_error "
            f"FROM websub_subscriptions s LEFT JOIN outbox d ON {_DELIVERY_OF_SUBSCRIPTION} "
            "ORDER BY s.topic, s.callback"
        )
        return [
            Subscription(callback, topic, expires, bool(secret), bool(pending), bool(failed), error)
            for callback, topic, expires, secret, pending, failed, error in rows
        ]

    def remove_callback(self, callback: str) -> tuple[int, int]:
        """Every subscription and request of one callback URL; returns how many
        subscriptions and requests awaiting verification there were."""
        with self.store.transaction():
            requests = self.connection.execute(
                "DELETE FROM websub_intents WHERE callback = ?", [callback]
            ).rowcount
            return self._delete_subscriptions("callback = ?", [callback]), requests

    def expire(self, now: float) -> list[tuple[str, str]]:
        """Subscriptions whose lease has ended, removed; returns their (callback, topic)."""
        with self.store.transaction():
            ended = self.connection.execute(
                "SELECT callback, topic FROM websub_subscriptions WHERE expires <= ?", [now]
            ).fetchall()
            if ended:
                self._delete_subscriptions("expires <= ?", [now])
        return ended

    def _delete_subscriptions(self, where: str, parameters: list[object]) -> int:
        self.connection.execute(
            "DELETE FROM outbox WHERE channel = 'websub' AND key IN "
            f"(SELECT CAST(id AS TEXT) FROM websub_subscriptions WHERE {where})",
            parameters,
        )
        return self.connection.execute(
            f"DELETE FROM websub_subscriptions WHERE {where}", parameters
        ).rowcount

    def summary(self) -> list[TopicSummary]:
        rows = self.connection.execute(
            "SELECT s.topic, COUNT(*), COUNT(d.id) FILTER (WHERE d.failed = 0), "
            "COUNT(d.id) FILTER (WHERE d.failed = 1) "
            f"FROM websub_subscriptions s LEFT JOIN outbox d ON {_DELIVERY_OF_SUBSCRIPTION} "
            "GROUP BY s.topic ORDER BY s.topic"
        )
        return [TopicSummary(*row) for row in rows]

    def deliveries(self) -> list[PendingDelivery]:
        """Deliveries waiting to go out, and those given up on."""
        rows = self.connection.execute(
            "SELECT s.callback, s.topic, d.attempts, d.failed, d.last_error "
            f"FROM websub_subscriptions s JOIN outbox d ON {_DELIVERY_OF_SUBSCRIPTION} "
            "ORDER BY s.topic, s.callback"
        )
        return [
            PendingDelivery(callback, topic, attempts, bool(failed), error)
            for callback, topic, attempts, failed, error in rows
        ]

    def requests(self) -> list[PendingRequest]:
        """Requests awaiting verification, oldest first."""
        rows = self.connection.execute(
            "SELECT callback, topic, mode, requested FROM websub_intents ORDER BY id"
        )
        return [
            PendingRequest(callback, topic, Mode(mode), requested)
            for callback, topic, mode, requested in rows
        ]

    def pending_intents(self) -> int:
        count: int = self.connection.execute("SELECT COUNT(*) FROM websub_intents").fetchone()[0]
        return count

    # --- distribution ------------------------------------------------------------

    def topics(self) -> list[str]:
        """Every topic someone subscribes to."""
        return [
            topic
            for (topic,) in self.connection.execute(
                "SELECT DISTINCT topic FROM websub_subscriptions ORDER BY topic"
            )
        ]

    def queue_missed(self, versions: dict[str, str], now: float) -> int:
        """Queue the current version of each topic (topic → version) for subscribers that
        lack it and have nothing pending: publishing never queued it (its listener
        failed, or a program without it published). Returns how many were queued."""
        queued = 0
        with self.store.transaction():
            for topic, version in versions.items():
                queued += self.connection.execute(
                    f"{QUEUE_DELIVERIES} AND CAST(id AS TEXT) NOT IN "
                    "(SELECT key FROM outbox WHERE channel = 'websub')",
                    [version, now, now, topic, now, version],
                ).rowcount
        return queued

    def due_deliveries(self, now: float, limit: int) -> list[DueDelivery]:
        rows = self.connection.execute(
            "SELECT s.id, d.generation, d.attempts, s.callback, s.topic, s.secret, "
            "s.delivered_version FROM outbox d JOIN websub_subscriptions s "
            f"ON {_DELIVERY_OF_SUBSCRIPTION} WHERE d.failed = 0 AND d.due <= ? AND s.expires > ? "
            "ORDER BY d.due LIMIT ?",
            [now, now, limit],
        )
        return [DueDelivery(*row) for row in rows]

    def due_pings(self, now: float, limit: int) -> list[DuePing]:
        rows = self.connection.execute(
            "SELECT payload ->> 'hub', payload ->> 'topic', generation, attempts FROM outbox "
            "WHERE channel = 'websub-ping' AND failed = 0 AND due <= ? ORDER BY due LIMIT ?",
            [now, limit],
        )
        return [DuePing(*row) for row in rows]

    def next_due(self) -> float | None:
        """When the earliest waiting delivery or ping is due."""
        row = self.connection.execute(
            "SELECT min(due) FROM outbox WHERE channel IN ('websub', 'websub-ping') AND failed = 0"
        ).fetchone()
        due: float | None = row[0]
        return due

    def record_deliveries(
        self, attempts: Iterable[tuple[DueDelivery, Attempt]], max_attempts: int
    ) -> None:
        """In one transaction, so a thousand deliveries cost one commit.

        Each change applies only to the generation that was sent: if a newer
        version was queued meanwhile, that row stays pending.
        """
        with self.store.transaction():
            for delivery, attempt in attempts:
                key = [str(delivery.subscription_id), delivery.generation]
                if attempt.outcome is Outcome.GONE:
                    self._delete_subscriptions("id = ?", [delivery.subscription_id])
                    continue
                if attempt.outcome is Outcome.FAILED:
                    self.connection.execute(
                        "UPDATE outbox SET attempts = attempts + 1, due = ?, "
                        "last_error = ?, failed = attempts + 1 >= ? "
                        "WHERE channel = 'websub' AND key = ? AND generation = ?",
                        [attempt.retry_at, attempt.error, max_attempts, *key],
                    )
                    continue
                if attempt.outcome is Outcome.DELIVERED:
                    self.connection.execute(
                        "UPDATE websub_subscriptions SET delivered_version = ? WHERE id = ?",
                        [attempt.version, delivery.subscription_id],
                    )
                self.connection.execute(
                    "DELETE FROM outbox WHERE channel = 'websub' AND key = ? AND generation = ?",
                    key,
                )

    def record_pings(self, attempts: Iterable[tuple[DuePing, Attempt]], max_attempts: int) -> None:
        with self.store.transaction():
            for ping, attempt in attempts:
                key = [ping.hub, ping.topic, ping.generation]
                if attempt.outcome is Outcome.FAILED:
                    self.connection.execute(
                        "UPDATE outbox SET attempts = attempts + 1, due = ?, last_error = ?, "
                        f"failed = attempts + 1 >= ? WHERE {_PING}",
                        [attempt.retry_at, attempt.error, max_attempts, *key],
                    )
                else:
                    self.connection.execute(
                        f"DELETE FROM outbox WHERE {_PING}",
                        key,
                    )
