"""telegram-test-api, a Telegram Bot API emulator written by others, run for the tests.

`tests/peers/telegram-emulator.js` starts it with node on a free loopback port
(`npm ci --prefix tests/peers` installs it; scripts/test.sh does). The bot under
test talks to `api_url` as to api.telegram.org; the test reads what a channel
holds back through the emulator's client side (`/getUpdatesHistory`), where a
deleted post is gone and an edited one shows its new text. The emulator keeps a
post's text as the bot sent it, in HTML: `Post.seen` parses it as Telegram would.

The emulator never refuses a call, so the launcher adds Telegram's answers it
lacks (see the launcher's header): `fault` scripts one for a bot token.
Tests use a token of their own each, so one emulator serves a whole module.
"""

from __future__ import annotations

import secrets
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.telegram_html import Parsed, parse

PEERS = Path(__file__).resolve().parent / "peers"
LAUNCHER = PEERS / "telegram-emulator.js"
STARTUP_SECONDS = 20.0


@dataclass(frozen=True)
class Post:
    """A bot's message in a chat, as the emulator keeps it."""

    message_id: int
    text: str  # as the bot sent it (HTML), unparsed
    parse_mode: str | None
    disable_notification: bool | None
    link_preview_options: dict[str, Any] | None

    @property
    def seen(self) -> Parsed:
        """What a subscriber reads."""
        return parse(self.text) if self.parse_mode == "HTML" else Parsed(self.text, [], [])


def telegram_error(status: int, description: str, **parameters: Any) -> dict[str, Any]:
    """The body Telegram answers a refused call with."""
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    return {**body, "parameters": parameters} if parameters else body


def new_token() -> str:
    """A bot token of Telegram's form, recognisable in any text it leaks into."""
    return f"{secrets.randbelow(10**9) + 10**9}:LEAKED-SECRET-{secrets.token_hex(8)}"


class Emulator:
    def __init__(self, url: str) -> None:
        self.url = url
        self.api_url = url  # the Bot API is at {url}/bot{token}/{method}

    def posts(self, token: str, chat_id: int | str) -> list[Post]:
        """What the chat holds of this bot's messages, oldest first."""
        history = self._post("/getUpdatesHistory", {"token": token})["result"]
        return [
            Post(
                message_id=update["messageId"],
                text=update["message"]["text"],
                parse_mode=update["message"].get("parse_mode"),
                disable_notification=update["message"].get("disable_notification"),
                link_preview_options=update["message"].get("link_preview_options"),
            )
            for update in history
            if "chat_id" in update.get("message", {})
            and str(update["message"]["chat_id"]) == str(chat_id)
        ]

    def fault(
        self,
        token: str,
        status: int,
        body: dict[str, Any] | str,
        *,
        method: str | None = None,
        chat_id: int | str | None = None,
        message_id: int | None = None,
        times: int | None = None,
        delay: float = 0.0,
    ) -> None:
        """From now on, answer this bot's matching calls with `status` and `body`
        (`times` times, or until `clear`), after `delay` seconds."""
        wanted = {"method": method, "chat_id": chat_id, "message_id": message_id, "times": times}
        self._post(
            "/_faults",
            {
                "token": token,
                "status": status,
                "body": body,
                "delay_ms": int(delay * 1000),
                **{key: value for key, value in wanted.items() if value is not None},
            },
        )

    def clear(self, token: str) -> None:
        self._post("/_faults/clear", {"token": token})

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = httpx.post(f"{self.url}{path}", json=body, timeout=10)
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer


@contextmanager
def running_emulator() -> Iterator[Emulator]:
    """The emulator, listening until the block ends."""
    node = shutil.which("node")
    if node is None or not (PEERS / "node_modules" / "telegram-test-api").is_dir():
        pytest.fail("the Telegram emulator needs node and `npm ci --prefix tests/peers`")
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            [node, str(LAUNCHER)], stdout=subprocess.PIPE, stderr=errors, text=True
        )
        try:
            yield Emulator(f"http://127.0.0.1:{_port(process, errors)}")
        finally:
            process.terminate()
            process.wait(timeout=10)


def _port(process: subprocess.Popen[str], errors: Any) -> int:
    """The port the launcher prints once the emulator listens."""
    assert process.stdout is not None
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        if select.select([process.stdout], [], [], 0.1)[0]:
            line = process.stdout.readline()
            if line.strip().isdigit():
                return int(line)
    errors.seek(0)
    pytest.fail(f"the Telegram emulator did not start: {errors.read().decode(errors='replace')}")
