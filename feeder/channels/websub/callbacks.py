"""Whether a hub may call a callback URL by its form: the rules that stop the hub being
used to reach places its owner did not mean it to (WebSub 5.1 leaves them to the hub).
Where the URL's host points is judged by `feeder.channels.outgoing.destination`, when the
request arrives and again on every call.
"""

from __future__ import annotations

import httpx

from feeder.channels.outgoing import Refused, parse
from feeder.config import Config

MAX_CALLBACK_LENGTH = 2000


def callback_problem(config: Config, callback: str) -> str | None:
    """Why `callback` is refused by its form alone, or None when it may be tried."""
    if len(callback) > MAX_CALLBACK_LENGTH:
        return f"hub.callback is longer than {MAX_CALLBACK_LENGTH} characters"
    try:
        url, _ = parse(callback)
    except Refused as refused:
        return f"hub.callback refused: {refused}"
    if _on_this_feeder(config, url):
        return "hub.callback must not be on this feeder, least of all the hub itself"
    return None


def _on_this_feeder(config: Config, url: httpx.URL) -> bool:
    """Scheme, host and port as the HTTP client reads them (a default port is no port)."""
    base = httpx.URL(config.base_url)
    return (url.scheme, url.raw_host, url.port) == (
        base.scheme,
        base.raw_host,
        base.port,
    ) and url.path.startswith(base.path)
