"""What the fediverse accounts keep: key pairs, followers, other servers' keys.

Queries on the store's connection (schemas 15 and 16); the caller holds the
transaction where several statements must agree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from feeder.channels.fediverse.keys import new_key_pair
from feeder.store import Store

CHANNEL = "fediverse"


@dataclass(frozen=True)
class RemoteKey:
    """Another server's actor key, as its actor document gave it."""

    key_id: str
    owner: str
    public_pem: str
    inbox: str
    shared_inbox: str
    fetched: float


@dataclass(frozen=True)
class FollowerCount:
    handle: str
    followers: int
    servers: int


class FediverseState:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.connection = store.connection

    def key_pair(self, handle: str, now: float) -> tuple[str, str]:
        """(private PEM, public PEM), made and kept on first use."""
        row = self.connection.execute(
            "SELECT private_pem, public_pem FROM fediverse_keys WHERE handle = ?", [handle]
        ).fetchone()
        if row is not None:
            return row[0], row[1]
        private, public = new_key_pair()
        with self.store.transaction():
            self.connection.execute(
                "INSERT OR IGNORE INTO fediverse_keys (handle, private_pem, public_pem, created) "
                "VALUES (?, ?, ?, ?)",
                [handle, private, public, now],
            )
        # Another process may have made one first: its key is the one.
        row = self.connection.execute(
            "SELECT private_pem, public_pem FROM fediverse_keys WHERE handle = ?", [handle]
        ).fetchone()
        return row[0], row[1]

    def add_follower(
        self, handle: str, actor: str, inbox: str, shared_inbox: str, host: str, now: float
    ) -> None:
        self.connection.execute(
            "INSERT INTO fediverse_followers (handle, actor, inbox, shared_inbox, host, since) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (handle, actor) DO UPDATE SET "
            "inbox = excluded.inbox, shared_inbox = excluded.shared_inbox",
            [handle, actor, inbox, shared_inbox, host, now],
        )

    def follows_from_host(self, host: str) -> int:
        row = self.connection.execute(
            "SELECT count(*) FROM fediverse_followers WHERE host = ?", [host]
        ).fetchone()
        return int(row[0])

    def is_follower(self, handle: str, actor: str) -> bool:
        return (
            self.connection.execute(
                "SELECT 1 FROM fediverse_followers WHERE handle = ? AND actor = ?", [handle, actor]
            ).fetchone()
            is not None
        )

    def remove_follower(self, handle: str, actor: str) -> int:
        return self.connection.execute(
            "DELETE FROM fediverse_followers WHERE handle = ? AND actor = ?", [handle, actor]
        ).rowcount

    def remove_actor(self, actor: str) -> list[str]:
        """Every follow of a deleted actor; returns the handles it followed."""
        handles = [
            handle
            for (handle,) in self.connection.execute(
                "SELECT handle FROM fediverse_followers WHERE actor = ?", [actor]
            )
        ]
        self.connection.execute("DELETE FROM fediverse_followers WHERE actor = ?", [actor])
        return handles

    def remove_inbox(self, shared_inbox: str) -> int:
        """A server that answers 410 Gone for its inbox has left: its follows go."""
        return self.connection.execute(
            "DELETE FROM fediverse_followers WHERE shared_inbox = ?", [shared_inbox]
        ).rowcount

    def follower_count(self, handle: str) -> int:
        row = self.connection.execute(
            "SELECT count(*) FROM fediverse_followers WHERE handle = ?", [handle]
        ).fetchone()
        return int(row[0])

    def counts(self) -> list[FollowerCount]:
        rows = self.connection.execute(
            "SELECT handle, count(*), count(DISTINCT shared_inbox) FROM fediverse_followers "
            "GROUP BY handle ORDER BY handle"
        )
        return [FollowerCount(*row) for row in rows]

    def shared_inboxes(self, handle: str) -> list[str]:
        """Where one activity of the account reaches every follower: one per server."""
        return [
            inbox
            for (inbox,) in self.connection.execute(
                "SELECT DISTINCT shared_inbox FROM fediverse_followers WHERE handle = ? "
                "ORDER BY shared_inbox",
                [handle],
            )
        ]

    def remote_key(self, key_id: str) -> RemoteKey | None:
        row = self.connection.execute(
            "SELECT key_id, owner, public_pem, inbox, shared_inbox, fetched "
            "FROM fediverse_remote_keys WHERE key_id = ?",
            [key_id],
        ).fetchone()
        return RemoteKey(*row) if row else None

    def put_remote_key(self, key: RemoteKey) -> None:
        with self.store.transaction():
            self.connection.execute(
                "INSERT OR REPLACE INTO fediverse_remote_keys "
                "(key_id, owner, public_pem, inbox, shared_inbox, fetched) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [key.key_id, key.owner, key.public_pem, key.inbox, key.shared_inbox, key.fetched],
            )

    def first_sighting(self, fingerprint: bytes, now: float, forget_before: float) -> bool:
        """Whether an inbox signature is new (and keep it); older ones than
        `forget_before` are stale anyway and go."""
        with self.store.transaction():
            self.connection.execute(
                "DELETE FROM fediverse_seen_signatures WHERE seen < ?", [forget_before]
            )
            return (
                self.connection.execute(
                    "INSERT OR IGNORE INTO fediverse_seen_signatures (fingerprint, seen) "
                    "VALUES (?, ?)",
                    [fingerprint, now],
                ).rowcount
                == 1
            )

    def pending(self, key: str) -> dict[str, Any] | None:
        """The delivery still waiting under `key`, if any (sent ones are gone)."""
        row = self.connection.execute(
            "SELECT payload FROM outbox WHERE channel = ? AND key = ?", [CHANNEL, key]
        ).fetchone()
        return json.loads(row[0]) if row else None
