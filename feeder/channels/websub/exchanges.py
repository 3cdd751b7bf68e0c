"""The hub's four conversations with the outside, each one request (WebSub 5.2, 5.3, 7)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlencode, urlsplit, urlunsplit

from feeder.channels.outgoing import Answer, Outgoing
from feeder.channels.websub.state import Attempt, Intent, Mode, Outcome
from feeder.config import Config
from feeder.feeds.hubs import link_header


async def verify(client: Outgoing, config: Config, intent: Intent) -> str | None:
    """Ask the subscriber whether it meant the request; None when it confirmed,
    otherwise why not. Only a 2xx whose body is exactly the challenge confirms."""
    challenge = secrets.token_urlsafe(32)
    parameters = {
        "hub.mode": intent.mode.value,
        "hub.topic": intent.topic,
        "hub.challenge": challenge,
    }
    if intent.mode is Mode.SUBSCRIBE:
        parameters["hub.lease_seconds"] = str(intent.lease_seconds)
    answer = await client.exchange(
        "GET",
        with_parameters(intent.callback, parameters),
        config.websub.timeout_seconds,
    )
    if isinstance(answer, str):
        return answer
    if not 200 <= answer.status < 300:
        return f"the callback answered {answer.status}"
    if answer.body != challenge.encode():
        return "the callback's answer was not the challenge"
    return None


async def deny(
    client: Outgoing, config: Config, callback: str, topic: str, reason: str
) -> Answer | str:
    """Tell a subscriber its subscription is refused (WebSub 5.2); what it answers does
    not matter, only whether it was told."""
    parameters = {"hub.mode": "denied", "hub.topic": topic, "hub.reason": reason}
    return await client.exchange(
        "GET", with_parameters(callback, parameters), config.websub.timeout_seconds
    )


def signature(secret: str, body: bytes) -> str:
    """X-Hub-Signature (WebSub 7.1): sha256, the strongest of the methods the spec names
    that every subscriber library supports."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def distribute(
    client: Outgoing,
    config: Config,
    callback: str,
    topic: str,
    secret: str | None,
    body: bytes,
    content_type: str,
) -> Answer | str:
    """POST the feed as it is served: same bytes, same Content-Type, its Link headers."""
    headers = {"content-type": content_type, "link": link_header(config, topic)}
    if secret is not None:
        headers["x-hub-signature"] = signature(secret, body)
    return await client.exchange(
        "POST", callback, config.websub.timeout_seconds, content=body, headers=headers
    )


async def ping(client: Outgoing, config: Config, hub: str, topic: str) -> Answer | str:
    """The de-facto publish ping other hubs accept: a form with hub.mode=publish, hub.url."""
    return await client.exchange(
        "POST",
        hub,
        config.websub.timeout_seconds,
        data={"hub.mode": "publish", "hub.url": topic},
    )


def judge(answer: Answer | str, version: str | None = None) -> Attempt:
    """2xx delivered, 410 gone, anything else a failure to retry (the retry time is the caller's)."""
    if isinstance(answer, str):
        return Attempt(Outcome.FAILED, error=answer)
    if 200 <= answer.status < 300:
        return Attempt(Outcome.DELIVERED, version=version)
    if answer.status == 410:
        return Attempt(Outcome.GONE)
    return Attempt(Outcome.FAILED, error=f"answered {answer.status}")


def with_parameters(url: str, parameters: dict[str, str]) -> str:
    """`url` with `parameters` added to its query, which is kept as it was (WebSub 5.1.1)."""
    parts = urlsplit(url)
    added = urlencode(parameters)
    query = f"{parts.query}&{added}" if parts.query else added
    return urlunsplit(parts._replace(query=query))
