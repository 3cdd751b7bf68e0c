"""A real ActivityPub server beside feeder: Fedify 1.5 (npm, `tests/peers`) run by node.

`tests/peers/fediverse-peer.mjs` starts it on a free loopback port with one
account, alice; `Peer` tells alice whom to follow and reads what her inbox
received. Fedify's own code does the WebFinger lookup, the signed Follow and
the check of every signature feeder sends.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

PEERS = Path(__file__).resolve().parent / "peers"
LAUNCHER = PEERS / "fediverse-peer.mjs"


class Peer:
    def __init__(self, url: str) -> None:
        self.url = url
        self.client = httpx.Client(base_url=url, timeout=30)

    def follow(self, handle: str) -> dict[str, Any]:
        answer = self.client.post("/control/follow", params={"handle": handle})
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    def unfollow(self, handle: str) -> None:
        answer = self.client.post("/control/unfollow", params={"handle": handle})
        assert answer.status_code == 200, answer.text

    def events(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.client.get("/control/events").json()
        return result

    def wait_for(
        self, found: Callable[[list[dict[str, Any]]], bool], timeout: float = 15
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            events = self.events()
            if found(events):
                return events
            time.sleep(0.05)
        raise AssertionError(f"the peer never received it; it has {self.events()}")


@contextmanager
def running_peer() -> Iterator[Peer]:
    node = shutil.which("node")
    if node is None or not (PEERS / "node_modules" / "@fedify" / "fedify").is_dir():
        pytest.fail("the ActivityPub peer needs node and `npm ci --prefix tests/peers`")
    with tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen(
            [node, str(LAUNCHER), "0"], stdout=subprocess.PIPE, stderr=errors, text=True
        )
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            if not line.startswith("listening "):
                errors.seek(0)
                pytest.fail(f"the ActivityPub peer did not start: {errors.read()}")
            peer = Peer(f"http://127.0.0.1:{int(line.split()[1])}")
            yield peer
            peer.client.close()
        finally:
            process.terminate()
            process.wait(10)
