"""Hand-made fediverse actors for hostile and fault tests: a small HTTP server on
loopback that serves actor documents with a key the test holds, and records what
is POSTed to their inboxes (a hanging one then never answers)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from feeder.channels.fediverse.keys import load_private, new_key_pair
from feeder.channels.fediverse.signatures import sign

PRIVATE, PUBLIC = new_key_pair()
_KEYS = {PRIVATE: load_private(PRIVATE)}


@dataclass
class Actors:
    url: str
    hang: bool = False
    received: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    """Each POST as it came: path, headers (lower-case names), body; for checking
    its signature with another library."""

    def actor(self, name: str) -> str:
        return f"{self.url}/users/{name}"

    def signed_post(
        self,
        client: httpx.Client,
        url: str,
        activity: dict[str, Any],
        name: str = "mallory",
        private_pem: str = PRIVATE,
        date: float | None = None,
        body: bytes | None = None,
    ) -> httpx.Response:
        """POST `activity` signed as actor `name` (cavage, as Mastodon signs)."""
        data = json.dumps(activity).encode()
        parsed = httpx.URL(url)
        headers = sign(
            _KEYS.get(private_pem) or load_private(private_pem),
            self.actor(name) + "#main-key",
            "POST",
            parsed.raw_path.decode(),
            parsed.netloc.decode(),
            data,
            time.time() if date is None else date,
        )
        return client.post(url, content=body if body is not None else data, headers=headers)


@contextmanager
def running_actors(hang: bool = False) -> Iterator[Actors]:
    state: list[Actors] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            actors = state[0]
            name = self.path.split("/")[-1]
            me = actors.actor(name)
            document = {
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": me,
                "type": "Person",
                "inbox": me + "/inbox",
                "endpoints": {"sharedInbox": actors.url + "/inbox"},
                "publicKey": {"id": me + "#main-key", "owner": me, "publicKeyPem": PUBLIC},
            }
            body = json.dumps(document).encode()
            self.send_response(200)
            self.send_header("content-type", "application/activity+json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            actors = state[0]
            body = self.rfile.read(int(self.headers["content-length"]))
            headers = {name.lower(): value for name, value in self.headers.items()}
            actors.requests.append((self.path, headers, body))
            actors.received.append((time.monotonic(), self.path, json.loads(body)))
            if actors.hang:
                time.sleep(60)
                return
            self.send_response(202)
            self.send_header("content-length", "0")
            self.send_header("date", formatdate(usegmt=True))
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.append(Actors(f"http://127.0.0.1:{server.server_address[1]}", hang))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state[0]
    finally:
        server.shutdown()
        server.server_close()
