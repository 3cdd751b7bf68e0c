"""Deliveries to follower servers as the `feeder run` worker makes them: a server
that never answers delays no other, and a story moved to another category leaves
the old account and arrives at the new one."""

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


def test_a_story_moved_to_another_category_is_deleted_there_and_created_here(
    tmp_path: Path,
) -> None:
    """The all-news account's followers get an Update; the old category account's a
    Delete of its Article; the new one's a Create, since they never saw it."""
    config = fediverse_config(tmp_path)
    with ExitStack() as stack:
        old, new, everything = (stack.enter_context(running_actors()) for _ in range(3))
        followed_by(config, "politika", old)
        followed_by(config, "ekonomika", new)
        followed_by(config, "news", everything)
        stack.enter_context(delivering(config))
        story = "002_0000000000000002.txt"
        publish(config, "001_0000000000000001.txt", "Другая", "Экономика")  # its category
        publish(config, story, "Новость", "Политика")
        created = within(PROMPTLY_SECONDS, received(old, "Create", "Новость"))
        within(PROMPTLY_SECONDS, received(everything, "Create", "Новость"))

        publish(config, story, "Новость", "Экономика")
        deleted = within(PROMPTLY_SECONDS, received(old, "Delete", "Новость"))
        assert deleted["object"]["id"] == created["object"]["id"]
        assert deleted["object"]["type"] == "Tombstone"
        arrived = within(PROMPTLY_SECONDS, received(new, "Create", "Новость"))
        assert "/ekonomika/" in arrived["object"]["id"]
        updated = within(PROMPTLY_SECONDS, received(everything, "Update", "Новость"))
        assert updated["object"]["id"].endswith("/news/002_0000000000000002")

        publish(config, story, "Новость, исправлено", "Экономика")
        within(PROMPTLY_SECONDS, received(new, "Update", "Новость, исправлено"))
        time.sleep(0.5)
    for actors, kinds in ((old, ["Create", "Delete"]), (new, ["Create", "Update"])):
        of_story = [a for _, _, a in actors.received if "/002_" in a["object"]["id"]]
        assert [activity["type"] for activity in of_story] == kinds
