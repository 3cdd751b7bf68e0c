"""Outgoing HTTP to URLs that others chose: where it may go, and going only there.

The hub calls URLs that strangers give it (callbacks), as any later channel
will (an ActivityPub inbox). A URL is parsed once, by the HTTP client's own
parser; its host is read one way only: IDNA 2008, as httpx reads it, and
refused when IDNA 2003 (getaddrinfo, browsers of old) would read another name,
as `faß` → `fass`; a number only as a dotted IPv4 address, since `010.010.010.010`,
`0x7f.1` and `2130706433` each mean something else to someone. The name is
resolved once per request, every address checked, and the connection made to
the checked address with `Host` and TLS SNI set to the name: no later
resolution (httpx's own, or DNS changed since the check) can send the request
anywhere else.

httpx's timeouts apply to each read, so a server that drips a byte a second
would never time out; every exchange here also runs under one deadline for the
whole. An answer is read up to a few KiB and the connection then dropped, so a
10 MB reply costs nothing. Proxies from the environment are ignored: a URL is
reached directly, or not at all.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit

import httpx
import idna

from feeder.errors import FeederError

# The longest answer body anyone needs: the hub's verification challenge.
MAX_ANSWER_BYTES = 4096
USER_AGENT = "feeder WebSub hub"
RESOLVE_TIMEOUT_SECONDS = 5.0
_DEFAULT_PORTS = {"http": 80, "https": 443}
# A last label that is a number makes a host an IPv4 address to some parsers
# (the WHATWG URL standard, inet_aton): `127.1`, `0x7f.0.0.1`, `2130706433`.
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
# (ASCII host name, port) → its addresses as text; tests give their own.
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]


class Refused(FeederError):
    """A URL that is not called; the message says why, for whoever gave it."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


@dataclass(frozen=True)
class Destination:
    """Where a request goes: the URL as parsed, its host as read, the address checked."""

    url: httpx.URL
    # The ASCII host name (IDNA 2008), or an IP address as its canonical text.
    host: str
    address: Address

    @property
    def host_header(self) -> str:
        return host_header(self.url, self.host)

    @property
    def is_name(self) -> bool:
        """A name, not an IP address: the name a TLS server is asked for (SNI)."""
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            return True
        return False


def host_header(url: httpx.URL, host: str) -> str:
    """The Host a request to `url` carries (`host` as `parse` reads it); what a
    signature over `host` must sign."""
    host = f"[{host}]" if ":" in host else host
    return host if url.port is None else f"{host}:{url.port}"


async def system_resolver(name: str, port: int) -> list[str]:
    """The addresses getaddrinfo gives, in its order of preference."""
    async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
        infos = await asyncio.get_running_loop().getaddrinfo(name, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def parse(url: str) -> tuple[httpx.URL, str]:
    """The URL as the HTTP client reads it, and its host written one way (`_host_text`),
    when it is a URL this module calls."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError):
        raise Refused("it is not a URL the hub's HTTP client can read") from None
    if parsed.scheme not in {"http", "https"} or not parsed.host:
        raise Refused("it must be an absolute http:// or https:// URL")
    if parsed.fragment or "#" in url:
        raise Refused("it must not have a #fragment")
    if parsed.userinfo:
        raise Refused("it must not carry a user name or password")
    return parsed, _host_text(parsed.host)


def _host_text(host: str) -> str:
    """An IP address in its canonical form, or an ASCII name (IDNA 2008) without a
    trailing dot; refused when it could be read another way."""
    host = host.removesuffix(".")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
            raise Refused(f"the host {host!r} names a network interface")
        return str(address)
    try:
        name = idna.encode(host).decode("ascii")
        old_name = host.encode("idna").decode("ascii").lower()
    except (idna.IDNAError, UnicodeError) as error:
        raise Refused(f"the host {host!r} is not a valid host name ({error})") from None
    if name != old_name:
        raise Refused(
            f"the host {host!r} is {name} under IDNA 2008 but {old_name} under IDNA 2003; "
            "a name that means two hosts is not called"
        )
    if _NUMERIC_LABEL.fullmatch(name.rsplit(".", 1)[-1]):
        raise Refused(
            f"the host {host!r} is a number but not a dotted IPv4 address; "
            "write an IPv4 address as four decimal numbers, like 192.0.2.1"
        )
    return name


async def destination(url: str, allow_private: bool, resolver: Resolver) -> Destination:
    """Where `url` would be called: refused unless every address its host resolves to
    is public (or `allow_private`); the first one is the one to connect to."""
    parsed, host = parse(url)
    try:
        addresses = [_address(host)]
    except ValueError:  # a name
        addresses = await _resolved(host, parsed.port or _DEFAULT_PORTS[parsed.scheme], resolver)
    if not allow_private:
        for address in addresses:
            if not address.is_global:
                raise Refused(
                    f"the host {host!r} is a loopback or private address ({address}); "
                    "only public addresses are called"
                )
    return Destination(parsed, host, addresses[0])


async def _resolved(name: str, port: int, resolver: Resolver) -> list[Address]:
    try:
        addresses = [_address(text) for text in await resolver(name, port)]
    except (OSError, TimeoutError, UnicodeError, ValueError):
        addresses = []
    if not addresses:
        raise Refused(f"the host {name!r} does not resolve")
    return addresses


def _address(text: str) -> Address:
    """A resolved address, without any %interface; ::ffff:127.0.0.1 is 127.0.0.1."""
    address = ipaddress.ip_address(text.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


class Outgoing:
    """An httpx client that sends only where `destination` allows, to the checked address.

    An async context manager; `exchange` never raises for anything the other
    side or its URL does: it returns the answer, or why there was none.
    """

    def __init__(
        self,
        concurrency: int,
        allow_private: bool,
        resolver: Resolver = system_resolver,
        user_agent: str = USER_AGENT,
    ) -> None:
        self.allow_private = allow_private
        self.resolver = resolver
        self._client = httpx.AsyncClient(
            headers={"user-agent": user_agent},
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=0),
            follow_redirects=False,
            trust_env=False,
        )

    async def __aenter__(self) -> Outgoing:
        await self._client.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._client.__aexit__(exc_type, exc_value, traceback)

    async def exchange(
        self,
        method: str,
        url: str,
        timeout: float,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
        max_bytes: int = MAX_ANSWER_BYTES,
    ) -> Answer | str:
        """The status and the first `max_bytes` of the body, or why there was no answer."""
        try:
            async with asyncio.timeout(timeout):
                target = await destination(url, self.allow_private, self.resolver)
                extensions = {"sni_hostname": target.host} if target.is_name else {}
                async with self._client.stream(
                    method,
                    target.url.copy_with(host=str(target.address)),
                    content=content,
                    data=data,
                    headers={**(headers or {}), "host": target.host_header},
                    timeout=timeout,
                    extensions=extensions,
                ) as response:
                    body = bytearray()
                    async for chunk in response.aiter_raw():
                        body += chunk
                        if len(body) >= max_bytes:
                            break
                    return Answer(response.status_code, bytes(body[:max_bytes]))
        except Refused as refused:
            return str(refused)
        except TimeoutError:
            return f"no answer within {timeout:g} s"
        except (httpx.HTTPError, httpx.InvalidURL, OSError, UnicodeError) as error:
            return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def loggable(url: str) -> str:
    """A URL without its query, which may carry the secrets of whoever gave it."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query="", fragment="")) + ("?…" if parts.query else "")
