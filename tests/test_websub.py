"""feeder as a WebSub hub, as a subscriber written from the spec sees it.

The hub (feeder's HTTP server and its delivery worker) runs in this process
on a free loopback port; stories are ingested and published as in
production, and the subscriber (tests/websub_subscriber.py) listens on a
port of its own.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest

from feeder.channels.outgoing import Resolver, system_resolver
from feeder.channels.websub.state import (
    HubState,
    Intent,
    Mode,
    PendingDelivery,
    Subscription,
    SubscriptionRequest,
)
from feeder.channels.websub.worker import HubWorker
from feeder.config import Config, ConfigError
from feeder.feeds.formats import FEED_FORMATS
from feeder.pipeline import ingest_and_publish
from feeder.serve.nginx import nginx_config
from feeder.serve.server import FeedServer
from feeder.store import Store
from tests import state
from tests.commands import feeder_cli, wait_for
from tests.conftest import config_for, wire_text, write_config
from tests.feedcheck import parse_valid_feed
from tests.websub_subscriber import Behaviour, Subscriber, post, post_form


@dataclass
class Names:
    """DNS for the tests, which have no other: each name's answers in turn, the last
    one for ever after; any other name does not resolve."""

    answers: dict[str, list[list[str]]] = field(default_factory=dict)

    async def __call__(self, name: str, port: int) -> list[str]:
        answers = self.answers.get(name)
        if not answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return answers.pop(0) if len(answers) > 1 else answers[0]


@dataclass
class Hub:
    config: Config
    publish: Callable[..., None]
    names: Resolver
    # Started by running_hubs, which stops whatever is here on the way out.
    services: list[FeedServer | HubWorker]

    def stop_worker(self) -> None:
        """Requests then stay awaiting verification."""
        old = next(service for service in self.services if isinstance(service, HubWorker))
        old.stop()
        self.services.remove(old)

    def restart_worker(self) -> None:
        """As a daemon restart does: a new worker, after the old one stopped."""
        self.stop_worker()
        self.start_worker()

    def start_worker(self) -> None:
        worker = HubWorker(self.config, self.names)
        worker.start()
        self.services.append(worker)

    @property
    def url(self) -> str:
        return self.config.websub.hub_url

    def feed(self, name: str) -> str:
        return self.config.url(f"feeds/{name}")

    def subscriptions(self) -> list[Subscription]:
        return state.websub_subscriptions(self.config.database)

    def intents(self) -> list[Intent]:
        return state.websub_intents(self.config.database)

    def deliveries(self) -> list[PendingDelivery]:
        return state.websub_deliveries(self.config.database)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def hub_config(tmp_path: Path, **websub: Any) -> Config:
    port = free_port()
    settings = {
        "allow_private_callbacks": True,
        "timeout_seconds": 2,
        "retry_seconds": 0.2,
        "retry_max_seconds": 0.5,
        "min_lease_seconds": 1,
        **websub,
    }
    return config_for(
        tmp_path,
        base_url=f"http://127.0.0.1:{port}/",
        server={"host": "127.0.0.1", "port": port},
        websub=settings,
    )


@contextmanager
def running_hubs(directory: Path) -> Iterator[Callable[..., Hub]]:
    """Start hubs with one story published, so the feeds exist, and [websub] settings
    changed by keyword; they stop on the way out."""
    hubs: list[Hub] = []

    def start(names: Resolver = system_resolver, **websub: Any) -> Hub:
        config = hub_config(directory, **websub)
        stories = iter(range(1, 100))

        def publish(number: int | None = None, category: str = "Политика", **fields: Any) -> None:
            number = number or next(stories)
            path = config.inbox / f"{number:03d}_{number:016x}.txt"
            path.write_text(wire_text(date=f"{number:02d}.09.23", category=category, **fields))
            ingest_and_publish(config)

        publish(category="Политика")
        hub = Hub(config, publish, names, [])
        hubs.append(hub)
        for service in (FeedServer(config, names), HubWorker(config, names)):
            service.start()
            hub.services.append(service)
        return hub

    try:
        yield start
    finally:
        for hub in hubs:
            for service in reversed(hub.services):
                service.stop()


@pytest.fixture
def start_hub(tmp_path: Path) -> Iterator[Callable[..., Hub]]:
    with running_hubs(tmp_path) as start:
        yield start


@pytest.fixture(scope="module")
def refusing_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """One hub for the tests of requests it refuses, which leave nothing behind."""
    with running_hubs(tmp_path_factory.mktemp("hub")) as start:
        yield start()


@pytest.fixture
def hub(start_hub: Callable[..., Hub]) -> Hub:
    return start_hub()


def subscribed(hub: Hub, subscriber: Subscriber, feed: str, secret: str | None = None) -> str:
    """Discover the feed's hub and topic as a subscriber does, subscribe, wait for the
    verification; returns the topic."""
    discovery = subscriber.discover(hub.feed(feed))
    assert discovery.hubs == [hub.url]
    before = len(subscriber.verifications)
    assert subscriber.subscribe(discovery.hubs[0], discovery.self_url, secret) == 202
    subscriber.wait_verified(before + 1)
    wait_for(lambda: any(s.callback == subscriber.callback for s in hub.subscriptions()))
    return discovery.self_url


def test_a_subscriber_gets_each_change_of_the_feeds_it_subscribed_to(hub: Hub) -> None:
    with Subscriber() as subscriber:
        politics = subscribed(hub, subscriber, "politika.atom", secret="s3cret")
        all_news = subscribed(hub, subscriber, "all.rss")
        verification = subscriber.verifications[0]
        assert verification["hub.mode"] == "subscribe"
        assert verification["hub.topic"] == politics
        assert int(verification["hub.lease_seconds"]) == hub.config.websub.lease_seconds

        hub.publish(title="Новая история")  # a new story in Политика
        deliveries = subscriber.wait_deliveries(2)
        hub.publish(1, title="Исправленный заголовок")  # a correction of the first story
        deliveries = subscriber.wait_deliveries(4)
        hub.publish(category="Экономика")  # another category: only all news changes
        deliveries = subscriber.wait_deliveries(5)
        time.sleep(0.5)

        assert [delivery.topic for delivery in subscriber.deliveries] in (
            [politics, all_news] * 2 + [all_news],
            [all_news, politics] * 2 + [all_news],
            [politics, all_news, all_news, politics, all_news],
            [all_news, politics, politics, all_news, all_news],
        )
        for topic, secret_kept in ((politics, True), (all_news, False)):
            served = subscriber.discover(topic)
            last = [delivery for delivery in deliveries if delivery.topic == topic][-1]
            assert last.body == served.body
            assert last.headers["content-type"] == served.content_type
            assert last.headers.get_all("link") == [
                f'<{hub.url}>; rel="hub", <{topic}>; rel="self"'
            ]
            assert last.signature_valid is (True if secret_kept else None)
        assert (
            "Исправленный заголовок"
            in [d for d in deliveries if d.topic == politics][-1].body.decode()
        )


def test_an_unsubscribed_callback_gets_nothing_more(hub: Hub) -> None:
    with Subscriber() as subscriber:
        topic = subscribed(hub, subscriber, "all.atom")
        assert subscriber.unsubscribe(hub.url, topic) == 202
        subscriber.wait_verified(2)
        wait_for(lambda: not hub.subscriptions())
        hub.publish()
        time.sleep(1)
        assert subscriber.deliveries == []


@pytest.mark.parametrize("verify", ["wrong", "refuse"])
def test_a_callback_that_does_not_echo_the_challenge_never_becomes_active(
    hub: Hub, verify: str
) -> None:
    with Subscriber(Behaviour(verify=verify)) as subscriber:
        assert subscriber.subscribe(hub.url, hub.feed("all.atom")) == 202
        wait_for(lambda: not hub.intents())
        hub.publish()
        time.sleep(1)
        assert hub.subscriptions() == []
        assert subscriber.deliveries == []


def test_a_subscriber_that_was_down_gets_the_delivery_when_it_is_back(hub: Hub) -> None:
    with Subscriber() as subscriber:
        subscribed(hub, subscriber, "all.atom")
        subscriber.go_down()
        hub.publish()
        wait_for(lambda: [d.attempts for d in hub.deliveries()] in ([2], [3]))
        subscriber.come_back()
        (delivery,) = subscriber.wait_deliveries(1)
        assert delivery.body == subscriber.discover(hub.feed("all.atom")).body
        wait_for(lambda: not hub.deliveries())


def test_a_hanging_subscriber_does_not_hold_up_a_healthy_one(
    start_hub: Callable[..., Hub],
) -> None:
    hub = start_hub(timeout_seconds=6)
    with Subscriber(Behaviour(hang_seconds=20)) as hanging, Subscriber() as healthy:
        subscribed(hub, hanging, "all.atom")
        subscribed(hub, healthy, "all.atom")
        started = time.time()
        hub.publish()
        (delivery,) = healthy.wait_deliveries(1)
        # Well inside the delivery timeout: it did not wait for the hanging one.
        assert delivery.received - started < 3
        # The hung one times out and is retried, not lost.
        wait_for(lambda: any(d.attempts >= 1 for d in hub.deliveries()))


def test_a_huge_answer_is_not_read(hub: Hub) -> None:
    with Subscriber(Behaviour(answer_bytes=10 * 1024 * 1024)) as subscriber:
        subscribed(hub, subscriber, "all.atom")
        hub.publish()
        subscriber.wait_deliveries(1)
        wait_for(lambda: not hub.deliveries())
        assert not hub.subscriptions()[0].pending


def test_gone_ends_the_subscription(hub: Hub) -> None:
    with Subscriber(Behaviour(delivery_status=410)) as subscriber:
        subscribed(hub, subscriber, "all.atom")
        hub.publish()
        wait_for(lambda: not hub.subscriptions())
        assert not hub.deliveries()


def test_failures_are_retried_with_backoff_until_the_limit(start_hub: Callable[..., Hub]) -> None:
    hub = start_hub(max_attempts=3)
    with Subscriber(Behaviour(delivery_status=500)) as subscriber:
        subscribed(hub, subscriber, "all.atom")
        started = time.monotonic()
        hub.publish()
        wait_for(lambda: [(d.attempts, d.failed) for d in hub.deliveries()] == [(3, True)])
        # Retried after 0.2 s, then after 0.4 s: the backoff doubles.
        assert time.monotonic() - started >= 0.6
        (delivery,) = hub.deliveries()
        assert delivery.last_error == "answered 500"
        # Still subscribed: the next version is tried afresh.
        subscriber.behaviour.delivery_status = 200
        hub.publish()
        subscriber.wait_deliveries(1)


def test_a_change_publishing_failed_to_queue_is_delivered_all_the_same(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Subscriber() as subscriber:
        subscribed(hub, subscriber, "all.atom")

        def fail(*args: object) -> None:
            raise sqlite3.OperationalError("database is locked")

        with monkeypatch.context() as patch:
            patch.setattr("feeder.channels.websub.channel.queue", fail)
            hub.publish(title="Незамеченная новость")  # the listener fails; publishing goes on
        assert hub.deliveries() == []
        hub.restart_worker()  # it catches up at start, and every minute
        (delivery,) = subscriber.wait_deliveries(1)
        assert "Незамеченная новость" in delivery.body.decode()


def test_a_request_the_http_client_cannot_call_is_settled(hub: Hub) -> None:
    # As an older feeder stored it: a public address in octal, which httpx refuses to parse.
    request = SubscriptionRequest(
        "http://010.010.010.010/x", hub.feed("all.atom"), Mode.SUBSCRIBE, 3600, None
    )
    with Store(hub.config.database) as store:
        assert HubState(store).add_intent(request, "8.8.8.8", time.time(), 100, 100) is None
    hub.restart_worker()
    wait_for(lambda: not hub.intents())
    assert hub.subscriptions() == []


def test_a_failure_inside_the_hub_still_settles_requests_and_deliveries(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object) -> None:
        raise RuntimeError("a bug in the hub")

    with Subscriber() as subscriber:
        with monkeypatch.context() as patch:
            patch.setattr("feeder.channels.websub.worker.verify", broken)
            assert subscriber.subscribe(hub.url, hub.feed("all.atom")) == 202
            wait_for(lambda: not hub.intents())
        assert hub.subscriptions() == []
        subscribed(hub, subscriber, "all.atom")
        with monkeypatch.context() as patch:
            patch.setattr("feeder.channels.websub.worker.distribute", broken)
            hub.publish()
            (delivery,) = wait_for(lambda: [d for d in hub.deliveries() if d.attempts])
        assert delivery.last_error == "feeder failed while delivering; see its log"
        subscriber.wait_deliveries(1)  # the retry, once the bug is gone


def test_websub_remove_removes_requests_awaiting_verification(tmp_path: Path) -> None:
    config_path = write_config(tmp_path)
    callback = "http://reader.example/push?feed=1"
    request = SubscriptionRequest(
        callback, "http://feeds.example.org/news/feeds/all.atom", Mode.SUBSCRIBE, 3600, None
    )
    with Store(tmp_path / "var" / "feeder.db") as store:
        HubState(store).add_intent(request, "192.0.2.1", time.time(), 100, 100)
    listed = feeder_cli(config_path, "websub", "list").output
    assert f"{callback}\n    http://feeds.example.org/news/feeds/all.atom\n" in listed
    assert "subscribe requested" in listed and "awaiting verification" in listed
    removed = feeder_cli(config_path, "websub", "remove", callback).output
    assert removed == f"Removed 1 request of {callback}.\n"
    assert feeder_cli(config_path, "websub", "list").output == "No subscriptions.\n"


def test_a_lease_that_ends_stops_deliveries(hub: Hub) -> None:
    with Subscriber() as subscriber:
        discovery = subscriber.discover(hub.feed("all.atom"))
        assert subscriber.subscribe(hub.url, discovery.self_url, lease_seconds=1) == 202
        (verification,) = subscriber.wait_verified(1)
        assert verification["hub.lease_seconds"] == "1"
        wait_for(lambda: hub.subscriptions())
        time.sleep(1.2)
        hub.publish()
        time.sleep(1)
        assert subscriber.deliveries == []


def test_a_request_for_a_foreign_topic_is_refused_and_denied(hub: Hub) -> None:
    with Subscriber() as subscriber:
        foreign = "http://elsewhere.example/feed.xml"
        assert subscriber.subscribe(hub.url, foreign) == 400
        (denial,) = subscriber.wait_denials(1)
        assert denial["hub.topic"] == foreign
        assert "not a feed of this hub" in denial["hub.reason"]
        assert hub.intents() == []


def _form(**fields: str) -> bytes:
    return urlencode(
        {name.replace("hub_", "hub.", 1): value for name, value in fields.items()}
    ).encode()


CALLBACK = "http://127.0.0.1:9/push"
FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (_form(hub_callback=CALLBACK, hub_topic="TOPIC"), None, 400),  # no mode
        (_form(hub_mode="publish", hub_callback=CALLBACK, hub_topic="TOPIC"), None, 400),
        (_form(hub_mode="subscribe", hub_topic="TOPIC"), None, 400),
        (_form(hub_mode="subscribe", hub_callback=CALLBACK), None, 400),
        (
            _form(hub_mode="subscribe", hub_callback="file:///etc/passwd", hub_topic="TOPIC"),
            None,
            400,
        ),
        (_form(hub_mode="subscribe", hub_callback="gopher://x/", hub_topic="TOPIC"), None, 400),
        (_form(hub_mode="subscribe", hub_callback="not a url", hub_topic="TOPIC"), None, 400),
        (_form(hub_mode="subscribe", hub_callback="HUB", hub_topic="TOPIC"), None, 400),
        (_form(hub_mode="subscribe", hub_callback=CALLBACK + "#x", hub_topic="TOPIC"), None, 400),
        (
            _form(
                hub_mode="subscribe",
                hub_callback=CALLBACK,
                hub_topic="TOPIC",
                hub_secret="x" * 10240,
            ),
            None,
            400,
        ),
        (
            _form(
                hub_mode="subscribe",
                hub_callback=CALLBACK,
                hub_topic="TOPIC",
                hub_lease_seconds="soon",
            ),
            None,
            400,
        ),
        (_form(hub_mode="subscribe", hub_callback=CALLBACK, hub_topic="TOPIC.missing"), None, 400),
        (b"hub.mode=subscribe&hub.mode=unsubscribe", None, 400),
        (b"\xff\xfe", None, 400),
        (b"x=" + b"y" * 20000, None, 413),
        (
            _form(hub_mode="subscribe", hub_callback=CALLBACK, hub_topic="TOPIC"),
            "application/json",
            415,
        ),
        (
            _form(hub_mode="subscribe", hub_callback=CALLBACK, hub_topic="TOPIC"),
            "multipart/form-data",
            415,
        ),
    ],
)
def test_a_malformed_or_hostile_request_gets_a_4xx_and_stores_nothing(
    refusing_hub: Hub, body: bytes, content_type: str | None, status: int
) -> None:
    hub = refusing_hub
    body = body.replace(b"TOPIC", urlencode({"": hub.feed("all.atom")})[1:].encode())
    body = body.replace(b"HUB", urlencode({"": hub.url})[1:].encode())
    answer = post_form(hub.url, body, content_type or "application/x-www-form-urlencoded")
    assert answer == status
    assert hub.intents() == [] and hub.subscriptions() == []
    assert post_form(hub.url, b"", "text/plain") == 415  # still serving


def test_loopback_and_private_callbacks_are_refused_unless_allowed(
    start_hub: Callable[..., Hub],
) -> None:
    hub = start_hub(allow_private_callbacks=False)
    for callback in (
        CALLBACK,
        "http://localhost:8000/",
        "http://10.1.2.3/",
        "http://[::1]/",
        "http://192.168.0.1/x",
        "http://169.254.169.254/",
    ):
        body = _form(hub_mode="subscribe", hub_callback=callback, hub_topic=hub.feed("all.atom"))
        assert post_form(hub.url, body) == 400, callback
    assert hub.intents() == []


@pytest.mark.parametrize(
    ("callback", "reason"),
    [
        # Numbers that inet_aton reads as an address and httpx reads as a name, or refuses.
        ("http://010.010.010.010/x", "not a URL the hub's HTTP client can read"),
        ("http://0177.0.0.1/x", "not a URL the hub's HTTP client can read"),
        ("http://127.1/x", "is a number but not a dotted IPv4 address"),
        ("http://0x7f.0.0.1/x", "is a number but not a dotted IPv4 address"),
        ("http://2130706433/x", "is a number but not a dotted IPv4 address"),
        ("http://1.2.3.4.5/x", "is a number but not a dotted IPv4 address"),
        # Names that IDNA 2003 (getaddrinfo) and IDNA 2008 (httpx) read as two hosts.
        ("http://faß.example/x", "is xn--fa-hia.example under IDNA 2008 but fass.example under"),
        ("http://xn--fa-hia.example/x", "under IDNA 2003"),
        ("http://ςx.example/x", "under IDNA 2003"),
        # Not a host name at all.
        ("http://exa%6dple.example/x", "is not a valid host name"),
        ("http://a..example/x", "is not a valid host name"),
        ("http://①.example/x", "not a URL the hub's HTTP client can read"),
        ("http://[fe80::1%25eth0]/x", "names a network interface"),
    ],
)
def test_a_host_that_could_be_read_two_ways_is_refused(
    refusing_hub: Hub, callback: str, reason: str
) -> None:
    body = _form(
        hub_mode="subscribe", hub_callback=callback, hub_topic=refusing_hub.feed("all.atom")
    )
    status, answer = post(refusing_hub.url, body, {"content-type": FORM})
    assert (status, reason in answer) == (400, True), answer
    assert refusing_hub.intents() == []


def test_a_callback_is_called_at_the_address_its_name_was_checked_at(
    start_hub: Callable[..., Hub],
) -> None:
    hub = start_hub(names=Names({"subscriber.example": [["127.0.0.1"]]}))
    with Subscriber(host="subscriber.example") as subscriber:
        subscribed(hub, subscriber, "all.atom")
        hub.publish()
        (delivery,) = subscriber.wait_deliveries(1)
        assert delivery.headers["host"] == f"subscriber.example:{subscriber.port}"


def test_a_name_that_turns_private_after_the_check_is_never_called(
    start_hub: Callable[..., Hub],
) -> None:
    # Public when the request arrives, loopback by the time the hub verifies it.
    names = Names({"rebinding.example": [["93.184.216.34"], ["127.0.0.1"]]})
    hub = start_hub(names=names, allow_private_callbacks=False)
    with Subscriber(host="rebinding.example") as subscriber:
        assert subscriber.subscribe(hub.url, hub.feed("all.atom")) == 202
        wait_for(lambda: not hub.intents())
        assert subscriber.verifications == [] and hub.subscriptions() == []


def test_one_host_written_many_ways_is_one_host(start_hub: Callable[..., Hub]) -> None:
    names = Names({"loopback.example": [["127.0.0.1"]], "mapped.example": [["::ffff:127.0.0.1"]]})
    hub = start_hub(names=names, max_subscriptions_per_host=1)
    hub.stop_worker()  # so the first request stays awaiting verification
    topic = hub.feed("all.atom")
    port = free_port()
    first = _form(hub_mode="subscribe", hub_callback=f"http://127.0.0.1:{port}/", hub_topic=topic)
    assert post_form(hub.url, first) == 202
    for host in (
        "127.0.0.1.",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "[0:0:0:0:0:ffff:7f00:1]",
        "loopback.example",
        "LOOPBACK.Example.",
        "mapped.example",
    ):
        callback = f"http://{host}:{port}/again"
        status = post_form(
            hub.url, _form(hub_mode="subscribe", hub_callback=callback, hub_topic=topic)
        )
        assert status == 429, host
    assert len(hub.intents()) == 1


def test_limits_hold_for_requests_that_arrive_together(start_hub: Callable[..., Hub]) -> None:
    hub = start_hub(max_subscriptions_per_host=5, max_subscriptions=50)
    hub.stop_worker()
    topic = hub.feed("all.atom")
    # 100 from one host, and one from each of 100 other loopback addresses.
    callbacks = [f"http://127.0.0.1:9/push?n={n}" for n in range(100)]
    callbacks += [f"http://127.0.0.{n}:9/push" for n in range(2, 102)]
    forms = [_form(hub_mode="subscribe", hub_callback=c, hub_topic=topic) for c in callbacks]
    with ThreadPoolExecutor(50) as pool:
        statuses = list(pool.map(lambda form: post_form(hub.url, form), forms))
    assert set(statuses) == {202, 429}
    stored = [intent.callback for intent in hub.intents()]
    assert len(stored) == statuses.count(202) == 50
    assert sum(callback.startswith("http://127.0.0.1:") for callback in stored) <= 5


def test_one_host_cannot_make_more_than_its_share_of_subscriptions(
    start_hub: Callable[..., Hub],
) -> None:
    hub = start_hub(max_subscriptions_per_host=5, max_subscriptions=50, timeout_seconds=60)
    # Its callbacks take their time to answer verification, so the requests stay pending.
    with Subscriber(Behaviour(verify="hang", hang_seconds=60)) as slow:
        statuses = [
            post_form(
                hub.url,
                _form(
                    hub_mode="subscribe",
                    hub_callback=f"{slow.callback}&n={number}",
                    hub_topic=hub.feed("all.atom"),
                ),
            )
            for number in range(1000)
        ]
        assert statuses[:5] == [202] * 5
        assert set(statuses[5:]) == {429}
        assert len(hub.intents()) == 5


def test_the_websub_defaults(tmp_path: Path) -> None:
    websub = config_for(tmp_path).websub
    assert websub.enabled and websub.hub_url == "http://feeds.example.org/news/websub"
    assert websub.lease_seconds == 10 * 24 * 3600 and not websub.allow_private_callbacks


@pytest.mark.parametrize(
    ("websub", "message"),
    [
        (
            {"hub_url": "http://elsewhere.example/hub"},
            "key 'websub.hub_url' must be a URL under base_url",
        ),
        (
            {"external_hubs": "http://hub.example/"},
            "key 'websub.external_hubs' must be a list of http(s) URLs",
        ),
        (
            {"external_hubs": ["ftp://hub.example/"]},
            "key 'websub.external_hubs' must be a list of http(s) URLs",
        ),
        ({"lease_seconds": 10}, "key 'websub.lease_seconds' must be from min_lease_seconds (3600)"),
        (
            {"min_lease_seconds": 100, "max_lease_seconds": 10},
            "key 'websub.max_lease_seconds' must be at least",
        ),
        ({"concurrency": 0}, "key 'websub.concurrency' must be greater than 0, not 0"),
        ({"timeout_seconds": "10s"}, "key 'websub.timeout_seconds' must be a number, not '10s'"),
        (
            {"retry_seconds": 60, "retry_max_seconds": 30},
            "key 'websub.retry_max_seconds' must be at least",
        ),
        (
            {"allow_private_callbacks": "yes"},
            "key 'websub.allow_private_callbacks' must be true or false",
        ),
        (
            {"max_subscriptions_per_host": -1},
            "key 'websub.max_subscriptions_per_host' must be greater than 0",
        ),
        (
            {"max_subscribers": 5},
            "key 'websub.max_subscribers' is not a setting feeder knows; did you mean 'websub.max_subscriptions'?",
        ),
    ],
)
def test_a_bad_websub_table_names_the_key_and_the_file(
    tmp_path: Path, websub: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError) as error:
        config_for(tmp_path, websub=websub)
    assert str(error.value).startswith(f"{tmp_path / 'config.toml'}: {message}")


def test_feeds_name_their_hubs_and_themselves_in_link_headers(
    start_hub: Callable[..., Hub],
) -> None:
    hub = start_hub(external_hubs=["https://pubsubhubbub.example/"])
    for name in ("all.rss", "all.atom", "politika.rss", "politika.atom"):
        discovery = Subscriber.discover(hub.feed(name))
        assert discovery.hubs == [hub.url, "https://pubsubhubbub.example/"]
        assert discovery.self_url == hub.feed(name)
        # The document says the same: every hub, and exactly one self.
        document = parse_valid_feed(discovery.body, hub.feed(name))
        assert [link.href for link in document.feed.links if link.rel == "hub"] == discovery.hubs
    # JSON Feed names its hubs in `hubs` (JSON Feed 1.1).
    json_feed = json.loads(Subscriber.discover(hub.feed("all.json")).body)
    assert [entry["url"] for entry in json_feed["hubs"]] == [
        hub.url,
        "https://pubsubhubbub.example/",
    ]
    with urllib.request.urlopen(hub.config.url("index.html")) as page:
        assert page.headers.get("link") is None


def test_a_hub_that_is_off_is_not_served_or_advertised(start_hub: Callable[..., Hub]) -> None:
    hub = start_hub(enabled=False)
    with urllib.request.urlopen(hub.feed("all.atom")) as feed:
        assert feed.headers.get("link") is None
    assert post_form(hub.url, b"hub.mode=subscribe") == 405


def test_external_hubs_are_pinged_for_each_changed_feed(start_hub: Callable[..., Hub]) -> None:
    per_story = 2 * len(FEED_FORMATS)  # its category's feeds and all news, every format

    def pinged(count: int) -> list[str]:
        pings = external_hub.wait_deliveries(count)
        assert all(parse_qs(ping.body.decode())["hub.mode"] == ["publish"] for ping in pings)
        return sorted(
            parse_qs(ping.body.decode())["hub.url"][0] for ping in pings[count - per_story :]
        )

    def feeds(*slugs: str) -> list[str]:
        return sorted(hub.feed(f"{slug}.{f.suffix}") for slug in slugs for f in FEED_FORMATS)

    with Subscriber() as external_hub:
        hub = start_hub(external_hubs=[external_hub.callback])
        # The first story's feeds, published as the hub started.
        assert pinged(per_story) == feeds("all", "politika")
        hub.publish(category="Экономика")
        assert pinged(2 * per_story) == feeds("all", "ekonomika")
        time.sleep(0.5)
        assert len(external_hub.deliveries) == 2 * per_story


def test_turning_the_hub_off_rewrites_the_feeds_without_it(tmp_path: Path) -> None:
    config_path = write_config(tmp_path)
    (tmp_path / "inbox" / "001_0000000000000001.txt").write_text(wire_text())
    assert feeder_cli(config_path, "ingest").exit_code == 0
    feed = tmp_path / "public" / "feeds" / "all.rss"
    assert 'rel="hub"' in feed.read_text()
    write_config(tmp_path, websub={"enabled": False})
    result = feeder_cli(config_path, "ingest", log_level="info")
    assert "websub_hubs was 'http://feeds.example.org/news/websub', is ''" in result.stderr
    assert 'rel="hub"' not in feed.read_text()


def test_the_nginx_block_proxies_the_hub_to_feeder(tmp_path: Path) -> None:
    block = nginx_config(config_for(tmp_path, server={"port": 8080}))
    hub = block[block.index("location = /websub {") :]
    assert "proxy_pass http://127.0.0.1:8080;" in hub.split("}", 1)[0]
    unreachable = nginx_config(config_for(tmp_path, server={"port": 0}))
    assert "return 503;" in unreachable[unreachable.index("location = /websub {") :]
