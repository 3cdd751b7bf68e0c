"""Whether a hub may call a callback URL: the rules that stop the hub being used
to reach places its owner did not mean it to (WebSub 5.1 leaves them to the hub).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from feeder.config import Config

MAX_CALLBACK_LENGTH = 2000
RESOLVE_TIMEOUT_SECONDS = 5.0


def callback_problem(config: Config, callback: str) -> str | None:
    """Why `callback` is refused by its form alone, or None when it may be tried."""
    if len(callback) > MAX_CALLBACK_LENGTH:
        return f"hub.callback is longer than {MAX_CALLBACK_LENGTH} characters"
    try:
        parts = urlsplit(callback)
        parts.port  # noqa: B018 - raises ValueError on a port out of range
    except ValueError:
        return "hub.callback is not a URL"
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return "hub.callback must be an absolute http:// or https:// URL"
    if parts.fragment or "#" in callback:
        return "hub.callback must not have a #fragment"
    if parts.username is not None or parts.password is not None:
        return "hub.callback must not carry a user name or password"
    if _normalised(callback).startswith(_normalised(config.base_url)):
        return "hub.callback must not be on this feeder, least of all the hub itself"
    return None


def _normalised(url: str) -> str:
    """Scheme and host compare case-insensitively, and a default port is no port."""
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    port = "" if parts.port in {None, default} else f":{parts.port}"
    return f"{parts.scheme.lower()}://{(parts.hostname or '').lower()}{port}{parts.path or '/'}"


async def address_problem(config: Config, callback: str) -> str | None:
    """Why the callback's host is refused by where it points, or None.

    Every address the name resolves to must be public, unless
    allow_private_callbacks is set: a subscriber could otherwise have the hub
    POST to services on the hub's own machine or network.
    """
    if config.websub.allow_private_callbacks:
        return None
    parts = urlsplit(callback)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
    except (OSError, TimeoutError):
        return f"hub.callback's host {host!r} does not resolve"
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
        if not address.is_global:
            return (
                f"hub.callback's host {host!r} is a loopback or private address ({address}); "
                "this hub delivers to public addresses only"
            )
    return None
