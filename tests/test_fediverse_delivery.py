"""Deliveries to follower servers as the `feeder run` worker makes them: a server
that never answers delays no other; a story moved to another category leaves
the old account and arrives at the new one; every request's draft-cavage
signature verifies with an independent implementation (httpsig, on pycryptodome)."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, TypeVar

from httpsig.verify import HeaderVerifier  # type: ignore[import-untyped]

from feeder.channels.fediverse.channel import FediverseSender
from feeder.channels.fediverse.state import FediverseState
from feeder.channels.sender import OutboxWorker
from feeder.config import Config
from feeder.pipeline import ingest_and_publish, withdraw
from feeder.store import Store
from tests.conftest import wire_text
from tests.fediverse_actors import Actors, running_actors
from tests.test_fediverse_peer import fediverse_config

T = TypeVar("T")
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


def within(seconds: float, found: Callable[[], T | None]) -> T:
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


def test_every_delivery_s_signature_verifies_with_httpsig(tmp_path: Path) -> None:
    """What a Mastodon server checks, done by another library: the signature over
    (request-target), host, date and digest verifies with the key of the actor
    document publishing wrote, and the Digest is the body's."""
    config = fediverse_config(tmp_path)
    with running_actors() as actors, delivering(config):
        followed_by(config, "politika", actors)
        followed_by(config, "news", actors)
        story = "001_0000000000000001.txt"
        publish(config, story, "Новость")
        publish(config, story, "Новость, исправлено")
        within(PROMPTLY_SECONDS, received(actors, "Update", "Новость, исправлено"))
        withdraw(config, "001_0000000000000001", reason="error", by="test")
        within(PROMPTLY_SECONDS, lambda: len(actors.requests) == 6 or None)
    kinds = sorted(json.loads(body)["type"] for _, _, body in actors.requests)
    assert kinds == ["Create", "Create", "Delete", "Delete", "Update", "Update"]
    for path, headers, body in actors.requests:
        handle = json.loads(body)["actor"].rsplit("/", 1)[1]
        actor = json.loads((config.output_dir / f"fediverse/users/{handle}").read_bytes())
        signature = headers["signature"]
        assert f'keyId="{actor["publicKey"]["id"]}"' in signature
        assert 'algorithm="rsa-sha256"' in signature
        public = actor["publicKey"]["publicKeyPem"]
        assert httpsig_verifies(headers, path, public), signature
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        assert headers["digest"] == f"SHA-256={digest}"
        assert abs(parsedate_to_datetime(headers["date"]).timestamp() - time.time()) < 60
        # And it is the signature that vouches: a changed request does not verify.
        assert not httpsig_verifies(headers, path + "x", public)
        zeros = base64.b64encode(bytes(32)).decode()
        assert not httpsig_verifies({**headers, "digest": f"SHA-256={zeros}"}, path, public)
        assert not httpsig_verifies({**headers, "host": "elsewhere.example"}, path, public)


def httpsig_verifies(headers: dict[str, str], path: str, public_pem: str) -> bool:
    """httpsig's verdict on a POST, requiring what Mastodon requires to be signed."""
    required = ["(request-target)", "host", "date", "digest"]
    verifier = HeaderVerifier(headers, public_pem, required, "POST", path, sign_header="signature")
    return bool(verifier.verify())
