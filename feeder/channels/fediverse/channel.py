"""Stories as posts of the fediverse accounts: queued on the seam, signed and sent.

Each change of a story is one activity per account it belongs to (all news,
and its category's unless excluded), queued once per shared inbox of that
account's followers: one delivery per server, not per follower. Published →
Create of the Article; corrected → Update, and nothing else (no old post is
sent again); withdrawn → Delete with a Tombstone. A restore is a Create of a
new object (`<story>-<n>`), because Mastodon keeps a deleted id's tombstone
and refuses the same id for good. A story moved to another category is a
Delete to the old category account's followers and a Create to the new one's
(the all-news account sends its Update).

The outbox key is `<handle>|<story>|<incarnation>|<inbox>`: a correction of a
story whose Create has not gone out yet replaces it and stays a Create, so a
server never gets an Update of a post it has not seen. The destination is the
shared inbox, so one server's deliveries go in order while every server is
served side by side: a dead or hanging one delays no other.
"""

from __future__ import annotations

import logging
import time
from typing import Self
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import rsa

from feeder.channels.channel import Channel, Delivered, Failed, Outcome, Retry, Wait
from feeder.channels.fediverse import documents, static
from feeder.channels.fediverse.accounts import Account, account_for, key_id
from feeder.channels.fediverse.keys import load_private
from feeder.channels.fediverse.signatures import sign
from feeder.channels.fediverse.state import CHANNEL, FediverseState
from feeder.channels.outgoing import Answer, Outgoing, Refused, host_header, parse
from feeder.config import Config
from feeder.events import FileWritten, StoryEvent
from feeder.model import StoryChange
from feeder.slugs import ALL_NEWS
from feeder.store import OutboxItem, Store

log = logging.getLogger(__name__)

USER_AGENT = "feeder (ActivityPub)"
KINDS = {
    StoryChange.PUBLISHED: "Create",
    StoryChange.CORRECTED: "Update",
    StoryChange.WITHDRAWN: "Delete",
    StoryChange.RESTORED: "Create",
}


class Fediverse(Channel):
    name = CHANNEL

    @classmethod
    def from_config(cls, config: Config, store: Store) -> Self | None:
        return cls(config, store) if config.fediverse.enabled else None

    def file_written(self, event: FileWritten) -> None:
        if event.feed_format is not None and event.relative_path.endswith(".json"):
            static.feed_written(self.config, self.store, event.relative_path)

    def file_unchanged(self, event: FileWritten) -> None:
        self.file_written(event)

    def story_changed(self, event: StoryEvent, now: float) -> None:
        record_key = f"story|{event.story_id}"
        record = self.store.channel_record(CHANNEL, record_key) or {}
        restored = event.change is StoryChange.RESTORED
        incarnation = int(record.get("incarnation", 0)) + restored
        # The category it was posted under, to tell a move (not in the event).
        moved_from: str = record.get("category", event.category_slug)
        moved = moved_from != event.category_slug
        self.store.put_channel_record(
            CHANNEL, record_key, {"incarnation": incarnation, "category": event.category_slug}
        )
        state = FediverseState(self.store)
        old = account_for(self.config, moved_from) if moved else None
        if old is not None:
            self._queue(state, old, event, incarnation, "Delete", now)
        for account in self._accounts(event.category_slug):
            kind = KINDS[event.change]
            if moved and kind == "Update" and account.slug == event.category_slug:
                kind = "Create"  # new to this account's followers
            self._queue(state, account, event, incarnation, kind, now)

    def _queue(
        self,
        state: FediverseState,
        account: Account,
        event: StoryEvent,
        incarnation: int,
        kind: str,
        now: float,
    ) -> None:
        """One delivery of the activity per shared inbox of the account's followers."""
        for inbox in state.shared_inboxes(account.handle):
            key = f"{account.handle}|{event.story_id}|{incarnation}|{inbox}"
            pending = state.pending(key)
            sent = kind
            if kind == "Update" and pending is not None and pending["kind"] == "Create":
                sent = "Create"  # the server has not seen the post yet
            payload = {
                "kind": sent,
                "handle": account.handle,
                "incarnation": incarnation,
                "story": event.payload(),
            }
            self.store.enqueue(CHANNEL, key, inbox, payload, now)

    def _accounts(self, category_slug: str) -> list[Account]:
        accounts = [account_for(self.config, ALL_NEWS), account_for(self.config, category_slug)]
        return [account for account in accounts if account is not None]

    @classmethod
    def sender(cls, config: Config) -> FediverseSender | None:
        return FediverseSender(config) if config.fediverse.enabled else None


class FediverseSender:
    """Signs and POSTs the fediverse channel's outbox in `feeder run`."""

    channel = CHANNEL
    per_minute: int | None = None

    def __init__(self, config: Config) -> None:
        settings = config.fediverse
        self.config = config
        self.settings = settings
        self.max_attempts = settings.max_attempts
        self.retry_seconds = settings.retry_seconds
        self.retry_max_seconds = settings.retry_max_seconds
        self.client = Outgoing(
            settings.concurrency, settings.allow_private_addresses, user_agent=USER_AGENT
        )
        self._keys: dict[str, rsa.RSAPrivateKey] = {}

    async def close(self) -> None:
        await self.client.__aexit__(None, None, None)

    async def deliver(self, item: OutboxItem, store: Store) -> Outcome:
        payload = item.payload
        handle: str = payload["handle"]
        if payload["kind"] == "Accept":
            document = documents.accept(self.config, handle, payload["follow"])
            url: str = payload["inbox"]
        else:
            document = self._story_activity(handle, payload)
            url = item.destination
        server = urlsplit(url).hostname or ""
        if self.settings.is_blocked(server):
            return Failed(f"{server} is in blocked_domains")
        try:
            parsed, host = parse(url)
        except Refused as refused:
            return Failed(f"the inbox {url} is refused: {refused}")
        body = static.document_bytes(document)
        headers = sign(
            self._key(handle, store),
            key_id(self.config, handle),
            "POST",
            parsed.raw_path.decode("ascii"),
            host_header(parsed, host),
            body,
            time.time(),
        )
        answer = await self.client.exchange(
            "POST", url, self.settings.timeout_seconds, content=body, headers=headers
        )
        return _outcome(answer, url, store)

    def _story_activity(self, handle: str, payload: dict[str, object]) -> documents.Document:
        story = StoryEvent.from_payload(payload["story"])  # type: ignore[arg-type]
        incarnation = int(payload["incarnation"])  # type: ignore[call-overload]
        if payload["kind"] == "Delete":
            gone = documents.tombstone(self.config, handle, story.story_id, incarnation)
            return documents.activity(self.config, handle, "Delete", gone, "delete")
        article = documents.article(self.config, handle, story, incarnation)
        return documents.activity(
            self.config, handle, str(payload["kind"]), article, str(story.revision)
        )

    def _key(self, handle: str, store: Store) -> rsa.RSAPrivateKey:
        if handle not in self._keys:
            private, _ = FediverseState(store).key_pair(handle, time.time())
            self._keys[handle] = load_private(private)
        return self._keys[handle]


def _outcome(answer: Answer | str, url: str, store: Store) -> Outcome:
    if isinstance(answer, str):
        return Retry(answer)
    if 200 <= answer.status < 300:
        return Delivered()
    if answer.status == 410:
        with store.transaction():
            removed = FediverseState(store).remove_inbox(url)
        return Failed(f"{url} answered 410 Gone: the server left; {removed} follows removed")
    if answer.status == 429:
        return Wait(60.0)
    if answer.status >= 500 or answer.status in (401, 408):
        # 401: the server could not fetch our key yet (it retries too).
        return Retry(f"{url} answered {answer.status}")
    return Failed(f"{url} answered {answer.status}: {answer.body[:200]!r}")
