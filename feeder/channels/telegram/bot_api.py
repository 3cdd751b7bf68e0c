"""The three Bot API calls a channel needs: send a post, edit it, delete it.

Each call answers with an outcome the outbox can act on, never an exception:
whether to record the post, retry later, wait as long as Telegram says, give up
on this one message, or pause the whole channel until an operator acts.

The bot token is a password that sits in every request's URL path
(`{api_url}/bot{token}/{method}`), and httpx puts that URL in its error
messages, its request reprs and its INFO log line. So no reason here quotes an
httpx error, and the client hides the token in httpx's log records while open.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeAlias

import httpx

DEFAULT_API_URL = "https://api.telegram.org"
# Telegram's descriptions are short; anything longer is some proxy's page.
_REASON_LIMIT = 300
_TOKEN = re.compile(r"\d+:[A-Za-z0-9_-]+")
_CHAT = re.compile(r"-?\d+|@[A-Za-z][A-Za-z0-9_]{3,}")
# 400 answers that no message of the channel can get past: a wrong chat id, or a bot
# that lost its right to post there.
_CHANNEL_REFUSALS = ("chat not found", "rights", "chat_write_forbidden")
_CANNOT_DELETE = ("message can't be deleted", "message to delete not found")
_NOT_MODIFIED = "message is not modified"

ChatId: TypeAlias = int | str


@dataclass(frozen=True)
class Sent:
    """The post is in the channel under this id, which editing and deleting need."""

    message_id: int


@dataclass(frozen=True)
class Done:
    """The edit or deletion happened, or had already: Telegram's "message is not
    modified" after a retried edit counts as done."""


@dataclass(frozen=True)
class RetryAfter:
    """Telegram's flood control (429): no call to it before `seconds` have passed."""

    seconds: int


@dataclass(frozen=True)
class Transient:
    """No answer, or a server fault: the same call may work later. After a send, the
    post may have gone out all the same (a timeout after Telegram got it)."""

    reason: str


@dataclass(frozen=True)
class Refused:
    """Telegram will never take this call for this message; other messages are fine."""

    reason: str


@dataclass(frozen=True)
class CannotDelete:
    """Telegram will not delete the post (a channel post older than 48 hours) or no
    longer has it: edit it into the withdrawal notice instead."""

    reason: str


@dataclass(frozen=True)
class Paused:
    """No call can work until an operator acts: the token was revoked (401), or the
    bot was removed from the channel or lost its rights there (403)."""

    reason: str


Failure: TypeAlias = RetryAfter | Transient | Refused | Paused
SendOutcome: TypeAlias = Sent | Failure
EditOutcome: TypeAlias = Done | Failure
DeleteOutcome: TypeAlias = Done | CannotDelete | Failure


def is_bot_token(token: str) -> bool:
    """In the form @BotFather gives; says nothing of whether Telegram takes it."""
    return _TOKEN.fullmatch(token) is not None


class BotApi:
    """One bot's calls, each with a timeout; use `async with` or call `aclose`."""

    def __init__(
        self,
        token: str,
        *,
        api_url: str = DEFAULT_API_URL,
        timeout: float = 10.0,
    ) -> None:
        if not is_bot_token(token):
            raise ValueError("the bot token is not in Telegram's form: digits, a colon, letters")
        try:
            url = httpx.URL(api_url)
        except httpx.InvalidURL:
            url = None
        if url is None or url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"the Bot API URL is not an http(s) URL: {api_url!r}")
        self._token = token
        self._base = f"{api_url.rstrip('/')}/bot"
        self._timeout = timeout
        self._http = httpx.AsyncClient(timeout=timeout)
        self._hide_token = _HideToken(token)
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).addFilter(self._hide_token)

    async def __aenter__(self) -> BotApi:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).removeFilter(self._hide_token)

    async def send_message(
        self, chat_id: ChatId, text: str, *, silent: bool = False
    ) -> SendOutcome:
        """Post `text` (Telegram HTML); `silent` posts without a notification sound."""
        payload = {**self._message(chat_id, text), "disable_notification": silent}
        answer = await self._call("sendMessage", payload)
        if not isinstance(answer, _Ok):
            return answer
        message_id = answer.result.get("message_id") if isinstance(answer.result, dict) else None
        if not isinstance(message_id, int):
            return Transient("sendMessage: Telegram's answer has no message_id")
        return Sent(message_id)

    async def edit_message_text(self, chat_id: ChatId, message_id: int, text: str) -> EditOutcome:
        """Replace the text of a post (a correction, or the withdrawal notice)."""
        payload = {**self._message(chat_id, text), "message_id": message_id}
        answer = await self._call("editMessageText", payload)
        return Done() if isinstance(answer, _Ok) else answer

    async def delete_message(self, chat_id: ChatId, message_id: int) -> DeleteOutcome:
        """Remove a post from the channel (a withdrawn story)."""
        payload = {"chat_id": _chat(chat_id), "message_id": message_id}
        answer = await self._call("deleteMessage", payload)
        if isinstance(answer, Refused) and _mentions(answer.reason, _CANNOT_DELETE):
            return CannotDelete(answer.reason)
        return Done() if isinstance(answer, _Ok) else answer

    @staticmethod
    def _message(chat_id: ChatId, text: str) -> dict[str, Any]:
        # No link preview: the post already shows the headline and lead it would repeat.
        return {
            "chat_id": _chat(chat_id),
            "text": text,
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True},
        }

    async def _call(self, method: str, payload: dict[str, Any]) -> _Ok | Failure:
        try:
            response = await self._http.post(f"{self._base}{self._token}/{method}", json=payload)
        except httpx.TimeoutException:
            return Transient(f"{method}: no answer from the Bot API within {self._timeout} s")
        except httpx.HTTPError as error:
            # Only the class: httpx's message may quote the URL, and so the token.
            return Transient(f"{method}: the Bot API cannot be reached ({type(error).__name__})")
        return self._outcome(method, response)

    def _outcome(self, method: str, response: httpx.Response) -> _Ok | Failure:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            body = {}
        if status == 200 and body.get("ok") is True:
            return _Ok(body.get("result"))
        description = str(body.get("description") or f"HTTP {status}")
        for spelling in (self._token, self._token.replace(":", "%3A")):  # as in a URL, too
            description = description.replace(spelling, "<token>")
        reason = f"{method}: {status} {description}"[:_REASON_LIMIT]
        if status == 429:
            parameters = body.get("parameters")
            retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
            if isinstance(retry_after, int):
                return RetryAfter(retry_after)
            return Transient(reason)
        if status >= 500 or status == 200:
            return Transient(reason)
        if status in (401, 403, 404):  # 404: the token or the API URL is wrong
            return Paused(reason)
        if status == 400 and _mentions(description, _CHANNEL_REFUSALS):
            return Paused(reason)
        if method == "editMessageText" and _mentions(description, (_NOT_MODIFIED,)):
            return _Ok(None)
        return Refused(reason)


@dataclass(frozen=True)
class _Ok:
    result: Any


class _HideToken(logging.Filter):
    """httpx logs each request's URL, token and all, at INFO: this rewrites it."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self._token in message:
            record.msg = message.replace(self._token, "<token>")
            record.args = None
        return True


def _chat(chat_id: ChatId) -> ChatId:
    """A channel's numeric id (-1001234567890) or public @username, checked."""
    text = str(chat_id)
    if isinstance(chat_id, bool) or not _CHAT.fullmatch(text):
        raise ValueError(f"not a Telegram chat id or @username: {text!r}")
    return text if text.startswith("@") else int(text)


def _mentions(description: str, phrases: tuple[str, ...]) -> bool:
    lowered = description.lower()
    return any(phrase in lowered for phrase in phrases)
