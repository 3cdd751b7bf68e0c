"""Deliveries to follower servers as the `feeder run` worker makes them: a server
that never answers delays no other."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from feeder.channels.fediverse.channel import FediverseSender
from feeder.channels.fediverse.state import FediverseState
from feeder.channels.sender import OutboxWorker
from feeder.config import Config
from feeder.pipeline import ingest_and_publish
from feeder.store import Store
from tests.conftest import wire_text
from tests.fediverse_actors import Actors, running_actors
from tests.test_fediverse_peer import fediverse_config

# Far more than a delivery to a local server takes, far less than the hang.
PROMPTLY_SECONDS = 5.0


@contextmanager
def delivering(config: Config) -> Iterator[None]:
    worker = OutboxWorker(config, [FediverseSender(config)])
    worker.start()
    try:
        yield
    finally:
        worker.stop()


def followed_by(config: Config, handle: str, actors: Actors, name: str = "reader") -> None:
    """A follower on `actors`' server, as an accepted Follow leaves it."""
    with Store(config.database) as store, store.transaction():
        FediverseState(store).add_follower(
            handle,
            actors.actor(name),
            actors.actor(name) + "/inbox",
            actors.url + "/inbox",
            "127.0.0.1",
            time.time(),
        )


def publish(config: Config, name: str, title: str, category: str = "Политика") -> None:
    (config.inbox / name).write_text(wire_text(title=title, category=category))
    ingest_and_publish(config)


def received(actors: Actors, kind: str, name: str) -> Callable[[], dict[str, Any] | None]:
    def find() -> dict[str, Any] | None:
        for _, _, activity in actors.received:
            if activity["type"] == kind and activity["object"].get("name", name) == name:
                return activity
        return None

    return find


def within(seconds: float, found: Callable[[], dict[str, Any] | None]) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while (activity := found()) is None:
        assert time.monotonic() < deadline, f"nothing arrived within {seconds} s"
        time.sleep(0.02)
    return activity


def test_a_hanging_follower_server_delays_no_other_nor_a_later_story(tmp_path: Path) -> None:
    config = fediverse_config(tmp_path, timeout_seconds=60)
    with ExitStack() as stack:
        hanging = stack.enter_context(running_actors(hang=True))
        answering = [stack.enter_context(running_actors()) for _ in range(3)]
        for actors in (hanging, *answering):
            followed_by(config, "politika", actors)
        stack.enter_context(delivering(config))

        started = time.monotonic()
        publish(config, "001_0000000000000001.txt", "Первая")
        for actors in answering:
            within(PROMPTLY_SECONDS, received(actors, "Create", "Первая"))
        within(PROMPTLY_SECONDS, received(hanging, "Create", "Первая"))  # and holds it
        publish(config, "002_0000000000000002.txt", "Вторая")
        for actors in answering:
            within(PROMPTLY_SECONDS, received(actors, "Create", "Вторая"))
        assert time.monotonic() - started < 2 * PROMPTLY_SECONDS
        # It holds the first Create still (timeout 60 s); the second waits behind it.
        assert [activity["object"]["name"] for _, _, activity in hanging.received] == ["Первая"]
