"""The hub's outgoing HTTP: one httpx client, hard deadlines, bodies read only so far.

httpx's timeouts apply to each read, so a callback that drips a byte a
second would never time out; every exchange here also runs under one
deadline for the whole. A callback's answer is read up to a few KiB and the
connection then dropped, so a 10 MB reply costs nothing. Proxies from the
environment are ignored: callbacks are reached directly, or not at all.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx

# The longest answer body anyone needs: the verification challenge.
MAX_ANSWER_BYTES = 4096
USER_AGENT = "feeder WebSub hub"


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


def new_client(concurrency: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        headers={"user-agent": USER_AGENT},
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=0),
        follow_redirects=False,
        trust_env=False,
    )


async def exchange(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    timeout: float,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
    data: dict[str, str] | None = None,
) -> Answer | str:
    """The callback's status and the start of its body, or why there was no answer."""
    try:
        async with asyncio.timeout(timeout):
            async with client.stream(
                method, url, content=content, data=data, headers=headers, timeout=timeout
            ) as response:
                body = bytearray()
                async for chunk in response.aiter_raw():
                    body += chunk
                    if len(body) >= MAX_ANSWER_BYTES:
                        break
                return Answer(response.status_code, bytes(body[:MAX_ANSWER_BYTES]))
    except TimeoutError:
        return f"no answer within {timeout:g} s"
    except httpx.HTTPError as error:
        return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def with_parameters(url: str, parameters: dict[str, str]) -> str:
    """`url` with `parameters` added to its query, which is kept as it was (WebSub 5.1.1)."""
    parts = urlsplit(url)
    added = urlencode(parameters)
    query = f"{parts.query}&{added}" if parts.query else added
    return urlunsplit(parts._replace(query=query))


def loggable(url: str) -> str:
    """A callback without its query, which may carry the subscriber's own secrets."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query="", fragment="")) + ("?…" if parts.query else "")
