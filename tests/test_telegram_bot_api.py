"""The Bot API client against telegram-test-api, a Bot API emulator run with node.

What a channel holds is read back through the emulator's client side. Telegram's
refusals that the emulator cannot give (429, 401, 403, the 48-hour delete rule,
a 5xx, silence) are scripted per bot token by its launcher (tests/peers).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import traceback
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest

from feeder.channels.telegram.bot_api import (
    BotApi,
    CannotDelete,
    Done,
    Paused,
    Refused,
    RetryAfter,
    Sent,
    Transient,
)
from feeder.channels.telegram.message import StoryPost, render_story, render_withdrawal
from tests.telegram_emulator import Emulator, Post, new_token, running_emulator, telegram_error

T = TypeVar("T")
CHANNEL = -1001234567890
URL = "https://news.example.org/2026/12/07/story-1.html"
POST = StoryPost(
    headline="Парламент <b>принял</b> бюджет & план",
    place="Баку",
    local_time=datetime(2026, 12, 7, 14, 5, tzinfo=ZoneInfo("Asia/Baku")),
    lead="Милли Меджлис одобрил бюджет на 2027 год.",
    url=URL,
    category="В мире",
)
TEXT = render_story(POST)


@pytest.fixture(scope="module")
def telegram_emulator() -> Iterator[Emulator]:
    with running_emulator() as emulator:
        yield emulator


@pytest.fixture
def token(telegram_emulator: Emulator) -> Iterator[str]:
    """A bot of the test's own, so that its posts and faults are its own."""
    token = new_token()
    yield token
    telegram_emulator.clear(token)


def call(
    api_url: str, token: str, action: Callable[[BotApi], Awaitable[T]], timeout: float = 5.0
) -> T:
    async def run() -> T:
        async with BotApi(token, api_url=api_url, timeout=timeout) as api:
            return await action(api)

    return asyncio.run(run())


def send(emulator: Emulator, token: str, text: str = TEXT, chat: int | str = CHANNEL) -> int:
    sent = call(emulator.api_url, token, lambda api: api.send_message(chat, text))
    assert isinstance(sent, Sent)
    return sent.message_id


def test_a_sent_post_is_in_the_channel_with_its_text_and_link(
    telegram_emulator: Emulator, token: str
) -> None:
    message_id = send(telegram_emulator, token)
    assert telegram_emulator.posts(token, CHANNEL) == [
        Post(message_id, TEXT, "HTML", False, {"is_disabled": True})
    ]
    seen = telegram_emulator.posts(token, CHANNEL)[0].seen
    assert seen.text.split("\n")[0] == "Парламент <b>принял</b> бюджет & план"
    assert seen.links == [(URL, "Читать полностью")]


def test_a_silent_post_asks_for_no_notification(telegram_emulator: Emulator, token: str) -> None:
    call(telegram_emulator.api_url, token, lambda api: api.send_message(CHANNEL, TEXT, silent=True))
    assert telegram_emulator.posts(token, CHANNEL)[0].disable_notification is True


def test_a_channel_can_be_named_by_its_username(telegram_emulator: Emulator, token: str) -> None:
    message_id = send(telegram_emulator, token, chat="@feeder_news")
    assert [post.message_id for post in telegram_emulator.posts(token, "@feeder_news")] == [
        message_id
    ]


def test_an_edit_shows_the_new_text_and_a_repeated_edit_is_done(
    telegram_emulator: Emulator, token: str
) -> None:
    message_id = send(telegram_emulator, token)
    corrected = render_story(replace(POST, headline="Бюджет принят"))
    for _ in range(2):  # the second gets "message is not modified"
        edited = call(
            telegram_emulator.api_url,
            token,
            lambda api: api.edit_message_text(CHANNEL, message_id, corrected),
        )
        assert edited == Done()
    [post] = telegram_emulator.posts(token, CHANNEL)
    assert post.seen.text.startswith("Бюджет принят\n")


def test_editing_a_post_the_channel_does_not_have_is_refused(
    telegram_emulator: Emulator, token: str
) -> None:
    edited = call(
        telegram_emulator.api_url, token, lambda api: api.edit_message_text(CHANNEL, 999_999, TEXT)
    )
    assert edited == Refused("editMessageText: 400 Bad Request: message to edit not found")


def test_a_deleted_post_leaves_the_channel(telegram_emulator: Emulator, token: str) -> None:
    kept, deleted = send(telegram_emulator, token), send(telegram_emulator, token)
    assert (
        call(telegram_emulator.api_url, token, lambda api: api.delete_message(CHANNEL, deleted))
        == Done()
    )
    assert [post.message_id for post in telegram_emulator.posts(token, CHANNEL)] == [kept]


@pytest.mark.parametrize(
    "description",
    [
        "Bad Request: message can't be deleted",
        "Bad Request: message can't be deleted for everyone",
        "Bad Request: message to delete not found",
    ],
)
def test_a_post_telegram_will_not_delete_is_edited_into_the_notice(
    telegram_emulator: Emulator, token: str, description: str
) -> None:
    message_id = send(telegram_emulator, token)
    telegram_emulator.fault(
        token, 400, telegram_error(400, description), method="deleteMessage", message_id=message_id
    )
    deleted = call(
        telegram_emulator.api_url, token, lambda api: api.delete_message(CHANNEL, message_id)
    )
    assert deleted == CannotDelete(f"deleteMessage: 400 {description}")
    notice = render_withdrawal(POST.headline, "ru")
    edited = call(
        telegram_emulator.api_url,
        token,
        lambda api: api.edit_message_text(CHANNEL, message_id, notice),
    )
    assert edited == Done()
    [post] = telegram_emulator.posts(token, CHANNEL)
    assert post.seen.text == "Материал отозван\nПарламент <b>принял</b> бюджет & план"
    assert post.seen.tags == ["b", "s"]


def test_flood_control_says_how_long_to_wait(telegram_emulator: Emulator, token: str) -> None:
    flood = telegram_error(429, "Too Many Requests: retry after 7", retry_after=7)
    telegram_emulator.fault(token, 429, flood, times=1)
    assert call(
        telegram_emulator.api_url, token, lambda api: api.send_message(CHANNEL, TEXT)
    ) == RetryAfter(7)
    send(telegram_emulator, token)  # the flood is over
    assert len(telegram_emulator.posts(token, CHANNEL)) == 1


@pytest.mark.parametrize(
    ("status", "description"),
    [
        (401, "Unauthorized"),
        (403, "Forbidden: bot was kicked from the channel chat"),
        (403, "Forbidden: bot is not a member of the channel chat"),
        (404, "Not Found"),
        (400, "Bad Request: chat not found"),
        (400, "Bad Request: need administrator rights in the channel chat"),
    ],
)
def test_a_bot_that_cannot_post_to_the_channel_pauses_it(
    telegram_emulator: Emulator, token: str, status: int, description: str
) -> None:
    telegram_emulator.fault(token, status, telegram_error(status, description))
    for action in actions():
        outcome = call(telegram_emulator.api_url, token, action)
        assert isinstance(outcome, Paused)
        assert outcome.reason.endswith(f": {status} {description}")


@pytest.mark.parametrize(
    "description",
    [
        'Bad Request: can\'t parse entities: Unsupported start tag "x" at byte offset 3',
        "Bad Request: message is too long",
        "Bad Request: message text is empty",
    ],
)
def test_a_message_telegram_refuses_fails_alone(
    telegram_emulator: Emulator, token: str, description: str
) -> None:
    telegram_emulator.fault(token, 400, telegram_error(400, description), times=1)
    outcome = call(telegram_emulator.api_url, token, lambda api: api.send_message(CHANNEL, TEXT))
    assert outcome == Refused(f"sendMessage: 400 {description}")
    send(telegram_emulator, token)  # the next message goes out


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (502, "<html><body>502 Bad Gateway</body></html>", "sendMessage: 502 HTTP 502"),
        (
            500,
            telegram_error(500, "Internal Server Error"),
            "sendMessage: 500 Internal Server Error",
        ),
        (429, telegram_error(429, "Too Many Requests"), "sendMessage: 429 Too Many Requests"),
        (200, "<html>a captive portal</html>", "sendMessage: 200 HTTP 200"),
    ],
)
def test_a_server_fault_is_transient(
    telegram_emulator: Emulator, token: str, status: int, body: Any, reason: str
) -> None:
    telegram_emulator.fault(token, status, body)
    outcome = call(telegram_emulator.api_url, token, lambda api: api.send_message(CHANNEL, TEXT))
    assert outcome == Transient(reason)


def test_no_answer_within_the_timeout_is_transient(telegram_emulator: Emulator, token: str) -> None:
    telegram_emulator.fault(token, 200, {"ok": True, "result": True}, delay=3)
    for action in actions():
        outcome = call(telegram_emulator.api_url, token, action, timeout=0.3)
        assert isinstance(outcome, Transient)
        assert outcome.reason.endswith("no answer from the Bot API within 0.3 s")


def test_a_bot_api_that_is_down_is_transient(token: str) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    for action in actions():
        outcome = call(f"http://127.0.0.1:{port}", token, action)
        assert isinstance(outcome, Transient)
        assert outcome.reason.endswith("the Bot API cannot be reached (ConnectError)")


def test_the_token_is_in_no_reason_log_line_or_traceback(
    telegram_emulator: Emulator, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # feeder keeps httpx's own logger at WARNING once its hub or server has run in
    # this process; the test must see httpx's request lines whatever ran before.
    caplog.set_level(logging.DEBUG, logger="httpx")
    outcomes: list[object] = [Sent(send(telegram_emulator, token))]
    # Telegram never quotes the token, but a proxy in between might.
    quoted = token.replace(":", "%3A")
    telegram_emulator.fault(token, 502, telegram_error(502, f"Bad Gateway: /bot{token}/{quoted}"))
    outcomes += [call(telegram_emulator.api_url, token, action) for action in actions()]
    telegram_emulator.clear(token)
    telegram_emulator.fault(token, 200, {"ok": True}, delay=3)
    outcomes += [call(telegram_emulator.api_url, token, a, timeout=0.2) for a in actions()]
    outcomes += [call("http://127.0.0.1:9", token, action) for action in actions()]
    assert outcomes[1] == Transient("sendMessage: 502 Bad Gateway: /bot<token>/<token>")
    assert all(token not in repr(outcome) for outcome in outcomes)
    assert "<token>" in caplog.text  # httpx logged its request line, without the token
    assert token not in caplog.text
    assert logging.getLogger("httpx").filters == []  # each client took its filter away

    async def cancelled() -> None:
        async with BotApi(token, api_url=telegram_emulator.api_url) as api:
            await asyncio.wait_for(api.send_message(CHANNEL, TEXT), 0.2)

    with pytest.raises(TimeoutError) as raised:
        asyncio.run(cancelled())
    assert token not in "".join(traceback.format_exception(raised.value))


def test_a_malformed_token_url_or_chat_is_refused_without_quoting_the_token() -> None:
    with pytest.raises(ValueError, match="not in Telegram's form") as raised:
        BotApi("123:has/slash")
    assert "slash" not in str(raised.value)
    with pytest.raises(ValueError, match="not an http"):
        BotApi(new_token(), api_url="ftp://api.telegram.org")
    with pytest.raises(ValueError, match="not an http"):
        BotApi(new_token(), api_url="api.telegram.org")
    for chat in ("channel", "@ab", "-100 1", True):
        with pytest.raises(ValueError, match="not a Telegram chat id"):
            call("http://127.0.0.1:9", new_token(), lambda api, c=chat: api.delete_message(c, 1))


def actions() -> list[Callable[[BotApi], Awaitable[object]]]:
    """Each call the client makes."""
    return [
        lambda api: api.send_message(CHANNEL, TEXT),
        lambda api: api.edit_message_text(CHANNEL, 1, TEXT),
        lambda api: api.delete_message(CHANNEL, 1),
    ]
