"""A WebSub subscriber written from the spec (W3C WebSub 4, 5.1, 5.3, 7, 8), for the tests.

It runs its own HTTP server on a free loopback port. It discovers a feed's
hub and self URL from the Link headers of the served feed, asks the hub to
subscribe, answers verification of intent only for requests it made,
checks each delivery's X-Hub-Signature against its secret and keeps every
delivery it accepts. How it answers can be changed to play a subscriber
that is wrong, down, gone or slow.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TypeVar
from urllib.parse import parse_qs, urlencode, urlsplit

T = TypeVar("T")


@dataclass(frozen=True)
class Delivery:
    topic: str | None
    body: bytes
    headers: Message
    signature_valid: bool | None  # None when the subscription has no secret
    received: float


@dataclass
class Behaviour:
    """How the callback answers; tests change it while the subscriber runs."""

    # "echo", "wrong" (another challenge), "refuse" (404) or "hang" (404 after hang_seconds)
    verify: str = "echo"
    delivery_status: int = 200
    hang_seconds: float = 0.0  # before answering a delivery (or a verification, with "hang")
    answer_bytes: int = 0  # a body this long with each delivery's answer


@dataclass
class Discovery:
    hubs: list[str]
    self_url: str
    body: bytes
    content_type: str


@dataclass
class Subscriber:
    """Use as a context manager: the server listens while inside."""

    behaviour: Behaviour = field(default_factory=Behaviour)
    # Its callback keeps a query string of its own, which the hub must keep (WebSub 5.1.1).
    callback_query: str = "subscriber=test"
    # The callback's host: a name needs a test resolver that maps it to 127.0.0.1.
    host: str = "127.0.0.1"
    deliveries: list[Delivery] = field(default_factory=list)
    verifications: list[dict[str, str]] = field(default_factory=list)
    denials: list[dict[str, str]] = field(default_factory=list)
    # (mode, topic) it asked for and expects to verify → the secret it sent.
    _pending: dict[tuple[str, str], str | None] = field(default_factory=dict)
    _secrets: dict[str, str | None] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None
    _port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __enter__(self) -> Subscriber:
        self._listen(0)
        return self

    def go_down(self) -> None:
        """Stop listening: connections to the callback are refused until come_back()."""
        assert self._server is not None
        self._port = self._server.server_address[1]
        self._server.shutdown()
        self._server.server_close()

    def come_back(self) -> None:
        self._listen(self._port)

    def _listen(self, port: int) -> None:
        subscriber = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                subscriber._on_get(self)

            def do_POST(self) -> None:
                subscriber._on_post(self)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def __exit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def callback(self) -> str:
        assert self._server is not None
        return f"http://{self.host}:{self.port}/push?{self.callback_query}"

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    # --- the subscriber's side of discovery and subscription -------------------

    @staticmethod
    def discover(feed_url: str) -> Discovery:
        """WebSub 4: hub and self from the HTTP Link headers, which come first."""
        with urllib.request.urlopen(feed_url, timeout=10) as response:
            links = _parse_links(response.headers.get_all("link") or [])
            return Discovery(
                hubs=[url for url, rel in links if rel == "hub"],
                self_url=next(url for url, rel in links if rel == "self"),
                body=response.read(),
                content_type=response.headers["content-type"],
            )

    def subscribe(
        self, hub: str, topic: str, secret: str | None = None, lease_seconds: int | None = None
    ) -> int:
        return self._request(hub, "subscribe", topic, secret, lease_seconds)

    def unsubscribe(self, hub: str, topic: str) -> int:
        return self._request(hub, "unsubscribe", topic, None, None)

    def _request(
        self, hub: str, mode: str, topic: str, secret: str | None, lease_seconds: int | None
    ) -> int:
        fields = {"hub.callback": self.callback, "hub.mode": mode, "hub.topic": topic}
        if secret is not None:
            fields["hub.secret"] = secret
        if lease_seconds is not None:
            fields["hub.lease_seconds"] = str(lease_seconds)
        with self._lock:
            self._pending[(mode, topic)] = secret
        return post_form(hub, urlencode(fields).encode())

    def wait_verified(self, count: int = 1, timeout: float = 10) -> list[dict[str, str]]:
        return _wait(lambda: len(self.verifications) >= count, timeout, self.verifications)

    def wait_denials(self, count: int = 1, timeout: float = 10) -> list[dict[str, str]]:
        return _wait(lambda: len(self.denials) >= count, timeout, self.denials)

    def wait_deliveries(self, count: int, timeout: float = 10) -> list[Delivery]:
        return _wait(lambda: len(self.deliveries) >= count, timeout, self.deliveries)

    # --- the callback --------------------------------------------------------------

    def _on_get(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        query = {name: values[0] for name, values in parse_qs(parts.query).items()}
        if query.get("subscriber") != "test":
            _answer(request, 400, b"the hub dropped my own query parameter")
            return
        mode, topic = query.get("hub.mode", ""), query.get("hub.topic", "")
        if mode == "denied":
            with self._lock:
                self.denials.append(query)
            _answer(request, 200, b"")
            return
        with self._lock:
            expected = (mode, topic) in self._pending
            secret = self._pending.pop((mode, topic), None)
            if expected and self.behaviour.verify == "echo":
                self.verifications.append(query)
                self._secrets[topic] = secret if mode == "subscribe" else None
        if self.behaviour.verify == "hang":
            time.sleep(self.behaviour.hang_seconds)
        if not expected or self.behaviour.verify in {"refuse", "hang"}:
            _answer(request, 404, b"I did not ask for this")
        elif self.behaviour.verify == "wrong":
            _answer(request, 200, b"not-the-challenge")
        else:
            _answer(request, 200, query["hub.challenge"].encode())

    def _on_post(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("content-length", 0)))
        behaviour = self.behaviour
        if behaviour.hang_seconds and behaviour.verify != "hang":
            time.sleep(behaviour.hang_seconds)
        links = _parse_links(request.headers.get_all("link") or [])
        topic = next((url for url, rel in links if rel == "self"), None)
        with self._lock:
            secret = self._secrets.get(topic or "")
        valid = None
        if secret is not None:
            expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            valid = hmac.compare_digest(expected, request.headers.get("x-hub-signature", ""))
        if behaviour.delivery_status < 300:
            with self._lock:
                self.deliveries.append(Delivery(topic, body, request.headers, valid, time.time()))
        _answer(request, behaviour.delivery_status, b"x" * behaviour.answer_bytes)


def post_form(
    url: str, body: bytes, content_type: str = "application/x-www-form-urlencoded"
) -> int:
    """POST `body` and return the status, reading the reply whatever it is."""
    return post(url, body, {"content-type": content_type})[0]


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    """POST `body` with exactly these headers (and Content-Length); the status and the answer."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("POST", parts.path, body, headers)
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def _parse_links(values: list[str]) -> list[tuple[str, str]]:
    """`<url>; rel="x"` pairs from Link header values (RFC 8288), enough for feeds."""
    links = []
    for value in values:
        for link in value.split(","):
            target, _, parameters = link.strip().partition(";")
            rel = parameters.strip().removeprefix("rel=").strip('"')
            links.append((target.strip().strip("<>"), rel))
    return links


def _answer(request: BaseHTTPRequestHandler, status: int, body: bytes) -> None:
    try:
        request.send_response(status)
        request.send_header("content-length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)
    except OSError:
        pass  # the hub gave up on this answer (its timeout); nothing to tell


def _wait(done: Callable[[], bool], timeout: float, result: list[T]) -> list[T]:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting after {timeout} s; have {len(result)}")
        time.sleep(0.02)
    return list(result)
