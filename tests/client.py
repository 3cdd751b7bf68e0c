"""A plain HTTP/1.1 client for the served output: raw paths, one kept-alive connection.

http.client sends a path exactly as given (no `..` clean-up, no re-encoding),
which traversal tests need. Because requests share one connection, a body sent
where none belongs (a 304, a HEAD) would garble the next response, so a test
can prove "no body" by simply making another request.
"""

from __future__ import annotations

import http.client
from dataclasses import dataclass
from email.message import Message
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Message
    body: bytes


class Client:
    def __init__(self, base_url: str) -> None:
        address = urlsplit(base_url)
        self.connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)

    def request(self, method: str, path: str, headers: dict[str, str] | None = None) -> Reply:
        self.connection.request(method, path, headers=headers or {})
        response = self.connection.getresponse()
        return Reply(response.status, response.headers, response.read())

    def get(self, path: str, headers: dict[str, str] | None = None) -> Reply:
        return self.request("GET", path, headers)

    def close(self) -> None:
        self.connection.close()
