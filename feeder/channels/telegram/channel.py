"""Stories posted to Telegram channels: one post per story and channel, kept in step.

A story goes to the all-news channel and to its category's own, as
`[telegram]` maps them. Each post's message id is kept (the outbox's channel
records, key `<story id>|<chat>`), so a correction edits the same post, a
withdrawal deletes it, and where Telegram refuses (a bot cannot delete a
channel post older than 48 hours) edits it into the withdrawal notice. A
restore edits such a notice back into the story; a post that was deleted is
posted again, as a new message (Telegram cannot bring a deleted one back).
A story moved to another category leaves the old category's channel the same
way a withdrawn one does.

The outbox keeps one pending delivery per story and chat with the newest
change, so a story corrected three times before its post goes out is posted
once, at its last revision.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Self

from feeder.channels.channel import Channel, Delivered, Failed, Outcome, Pause, Retry, Wait
from feeder.channels.telegram.bot_api import (
    BotApi,
    CannotDelete,
    Done,
    Paused,
    Refused,
    RetryAfter,
    Sent,
    Transient,
    is_bot_token,
)
from feeder.channels.telegram.message import StoryPost, render_story, render_withdrawal
from feeder.config import Config, TelegramConfig
from feeder.errors import FeederError
from feeder.events import StoryEvent
from feeder.model import StoryChange
from feeder.store import OutboxItem, Store

log = logging.getLogger(__name__)

NAME = "telegram"
# What a kept post record says of its post.
LIVE, NOTICE, IN_DOUBT = "live", "notice", "in-doubt"
TOKEN_VARIABLE = "FEEDER_TELEGRAM_TOKEN"


class TokenError(FeederError):
    """No usable bot token; the message never contains the token itself."""


class Telegram(Channel):
    name = NAME

    @classmethod
    def from_config(cls, config: Config, store: Store) -> Self | None:
        return cls(config, store) if config.telegram.enabled else None

    def story_changed(self, event: StoryEvent, now: float) -> None:
        """A delivery for every chat the story belongs in, and for every chat that
        has a post of it and no longer should (withdrawn, or moved)."""
        wanted = (
            []
            if event.change is StoryChange.WITHDRAWN
            else self.config.telegram.chats(event.category_slug)
        )
        posted = [
            key.split("|", 1)[1]
            for key in self.store.channel_records_like(NAME, f"{event.story_id}|")
        ]
        for chat in dict.fromkeys([*wanted, *posted]):
            payload = {**event.payload(), "post": chat in wanted}
            self.store.enqueue(NAME, f"{event.story_id}|{chat}", chat, payload, now)

    @classmethod
    def problems(cls, config: Config) -> list[str]:
        if not config.telegram.enabled:
            return []
        try:
            bot_token(config.telegram)
        except TokenError as error:
            return [str(error)]
        return []

    @classmethod
    def sender(cls, config: Config) -> TelegramSender | None:
        if not config.telegram.enabled:
            return None
        return TelegramSender(config, bot_token(config.telegram))


def bot_token(settings: TelegramConfig) -> str:
    """From the environment, else from `token_file`; checked at start-up."""
    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    if not token and settings.token_file is not None:
        try:
            token = settings.token_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            raise TokenError(
                f"[telegram] token_file {settings.token_file} cannot be read ({type(error).__name__}); "
                f"make it readable by feeder, or set {TOKEN_VARIABLE}"
            ) from None
    if not token:
        raise TokenError(
            f"[telegram] posts to channels but has no bot token: set {TOKEN_VARIABLE} "
            "or token_file (the token @BotFather gave, never in config.toml)"
        )
    if not is_bot_token(token):
        source = (
            TOKEN_VARIABLE
            if os.environ.get(TOKEN_VARIABLE)
            else f"token_file {settings.token_file}"
        )
        raise TokenError(
            f"the Telegram bot token in {source} is not in the form @BotFather gives "
            "(digits, a colon, then letters, digits, '_' and '-'); copy it again"
        )
    return token


class TelegramSender:
    """Delivers the Telegram channel's outbox in `feeder run`."""

    channel = NAME

    def __init__(self, config: Config, token: str) -> None:
        settings = config.telegram
        self.language = config.language
        self.silent = set(settings.silent)
        self.max_attempts = settings.max_attempts
        self.retry_seconds = settings.retry_seconds
        self.retry_max_seconds = settings.retry_max_seconds
        self.per_minute: int | None = settings.messages_per_minute
        self.api = BotApi(token, api_url=settings.api_url, timeout=settings.timeout_seconds)

    async def close(self) -> None:
        await self.api.aclose()

    async def deliver(self, item: OutboxItem, store: Store) -> Outcome:
        event = StoryEvent.from_payload(item.payload)
        chat: str = item.destination
        record = store.channel_record(NAME, item.key)
        if item.payload["post"]:
            return await self._post(item.key, chat, event, record, store)
        if record is None:
            return Delivered(calls=0)
        return await self._take_down(item.key, chat, event, record, store)

    async def _post(
        self, key: str, chat: str, event: StoryEvent, record: dict[str, Any] | None, store: Store
    ) -> Outcome:
        if record is not None and record["state"] == IN_DOUBT:
            log.warning(
                "telegram %s: story %s may have been posted already (a send was cut short "
                "or went unanswered); posting it again",
                chat,
                event.story_id,
            )
            record = None
        if record is not None and (record["revision"], record["state"]) == (event.revision, LIVE):
            return Delivered(calls=0)  # queued again for another chat's sake
        text = render_story(
            StoryPost(
                headline=event.headline,
                place=event.place,
                local_time=event.published,
                lead=event.lead,
                url=event.url,
                category=event.category,
                language=self.language,
            )
        )
        if record is not None:
            edited = await self.api.edit_message_text(_chat(chat), record["message_id"], text)
            if not isinstance(edited, Done):
                return _outcome(edited)
            _remember(store, key, record["message_id"], event.revision, LIVE)
            return Delivered()
        # Committed before the call: a send a crash or a timeout cuts short is known
        # to be in doubt. Telegram has no idempotency key and a bot cannot read a
        # channel, so such a send is made again: at worst one post twice, never none.
        _remember(store, key, 0, event.revision, IN_DOUBT)
        silent = event.category_slug in self.silent
        sent = await self.api.send_message(_chat(chat), text, silent=silent)
        if isinstance(sent, Sent):
            _remember(store, key, sent.message_id, event.revision, LIVE)
            return Delivered()
        if not isinstance(sent, Transient):  # refused: certainly not posted
            with store.transaction():
                store.drop_channel_record(NAME, key)
        return _outcome(sent)

    async def _take_down(
        self, key: str, chat: str, event: StoryEvent, record: dict[str, Any], store: Store
    ) -> Outcome:
        if record["state"] == NOTICE:
            return Delivered(calls=0)
        if record["state"] == IN_DOUBT:
            log.warning(
                "telegram %s: story %s was withdrawn while its post was in doubt; if it "
                "was posted, delete it by hand",
                chat,
                event.story_id,
            )
            with store.transaction():
                store.drop_channel_record(NAME, key)
            return Delivered(calls=0)
        deleted = await self.api.delete_message(_chat(chat), record["message_id"])
        if isinstance(deleted, Done):
            with store.transaction():
                store.drop_channel_record(NAME, key)
            return Delivered()
        if not isinstance(deleted, CannotDelete):
            return _outcome(deleted)
        notice = render_withdrawal(event.headline, self.language)
        edited = await self.api.edit_message_text(_chat(chat), record["message_id"], notice)
        if not isinstance(edited, Done):
            return _outcome(edited)
        _remember(store, key, record["message_id"], record["revision"], NOTICE)
        return Delivered(calls=2)


def _remember(store: Store, key: str, message_id: int, revision: int, state: str) -> None:
    with store.transaction():
        store.put_channel_record(
            NAME, key, {"message_id": message_id, "revision": revision, "state": state}
        )


def _chat(chat: str) -> int | str:
    return chat if chat.startswith("@") else int(chat)


def _outcome(failure: RetryAfter | Transient | Refused | Paused | CannotDelete) -> Outcome:
    if isinstance(failure, RetryAfter):
        return Wait(failure.seconds)
    if isinstance(failure, Transient):
        return Retry(failure.reason)
    if isinstance(failure, Paused):
        return Pause(failure.reason)
    return Failed(failure.reason)
