"""A real fediverse server (Fedify, tests/fediverse_peer.py) follows feeder's accounts.

Fedify's own code resolves `@politika@127.0.0.1:PORT` by WebFinger, sends a
signed Follow, and receives feeder's Accept and each story's Create, Update
and Delete only once their signatures verify against the key it fetches from
the actor document.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from feeder.channels.fediverse.channel import FediverseSender
from feeder.channels.fediverse.state import FediverseState
from feeder.channels.sender import OutboxWorker
from feeder.config import Config, ServerConfig
from feeder.pipeline import ingest_and_publish, restore, withdraw
from feeder.serve.server import FeedServer
from feeder.store import Store
from tests.conftest import config_for, wire_text
from tests.fediverse_peer import Peer, running_peer


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fediverse_config(tmp_path: Path, **settings: Any) -> Config:
    """Accounts at a server on a fixed free port, the one base_url names."""
    port = free_port()
    config = config_for(
        tmp_path,
        base_url=f"http://127.0.0.1:{port}/",
        fediverse={"enabled": True, "allow_private_addresses": True, **settings},
    )
    return replace(config, server=ServerConfig(host="127.0.0.1", port=port, access_log=False))


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[Config, Peer]]:
    config = fediverse_config(tmp_path)
    deliver_story(config, "001_0000000000000001.txt", "Первая новость")
    with FeedServer(config), running_peer() as peer:
        worker = OutboxWorker(config, [FediverseSender(config)])
        worker.start()
        try:
            yield config, peer
        finally:
            worker.stop()


def deliver_story(config: Config, name: str, title: str, lead: str = "Первый абзац.") -> None:
    (config.inbox / name).write_text(wire_text(title=title, paragraphs=(lead, "Второй абзац.")))
    ingest_and_publish(config)


def of_type(kind: str, count: int = 1) -> Any:
    return lambda events: sum(event["type"] == kind for event in events) >= count


def test_a_fedify_server_follows_and_receives_every_change_signed(
    live: tuple[Config, Peer],
) -> None:
    config, peer = live
    host = f"127.0.0.1:{config.server.port}"
    followed = peer.follow(f"acct:politika@{host}")
    assert followed["actor"] == f"http://{host}/fediverse/users/politika"
    events = peer.wait_for(of_type("Accept"))
    assert events[0]["actor"] == followed["actor"]
    with Store(config.database) as store:
        assert [(c.handle, c.followers) for c in FediverseState(store).counts()] == [
            ("politika", 1)
        ]

    deliver_story(config, "002_0000000000000002.txt", "Вторая новость", "Суть второй новости.")
    created = peer.wait_for(of_type("Create"))[-1]
    assert created["objectType"] == "Article"
    assert created["name"] == "Вторая новость"
    assert created["url"].endswith(".html")

    deliver_story(config, "002_0000000000000002.txt", "Вторая новость, исправлено")
    updated = peer.wait_for(of_type("Update"))[-1]
    assert updated["object"] == created["object"]
    assert updated["name"] == "Вторая новость, исправлено"

    story_id = "002_0000000000000002"
    withdraw(config, story_id, reason="error", by="test")
    deleted = peer.wait_for(of_type("Delete"))[-1]
    assert deleted["object"] == created["object"]

    restore(config, story_id)
    again = peer.wait_for(of_type("Create", 2))[-1]
    assert again["object"] == created["object"] + "-1"  # a new object: the old id is a tombstone

    # An edit sent one Update and nothing else: no old post went out again.
    kinds = [event["type"] for event in peer.events()]
    assert kinds == ["Accept", "Create", "Update", "Delete", "Create"]

    peer.unfollow(f"acct:politika@{host}")
    with Store(config.database) as store:
        assert FediverseState(store).counts() == []
