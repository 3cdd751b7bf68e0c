"""A subscription request (WebSub 5.1) → what to verify, or a refusal with its reason (pure).

Everything that can be judged from the request alone is judged here, before
anything is stored, so a malformed or hostile request costs one 4xx answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl

from feeder.channels.websub.callbacks import callback_problem
from feeder.channels.websub.state import Mode, SubscriptionRequest
from feeder.config import Config

# WebSub 5.1: the secret MUST be under 200 bytes.
MAX_SECRET_BYTES = 199
# More fields than a request has any use for are refused rather than parsed.
MAX_FIELDS = 20


@dataclass(frozen=True)
class Refusal:
    status: int
    reason: str
    # Set when the subscriber should also be told by a denial to its callback (WebSub 5.2).
    deny_callback: str | None = None
    topic: str | None = None


def parse_request(
    config: Config, body: bytes, is_topic: Callable[[str], bool]
) -> SubscriptionRequest | Refusal:
    """`is_topic` says whether a URL is one of this feeder's feeds."""
    try:
        fields = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        return Refusal(400, "the body must be a form (application/x-www-form-urlencoded) in UTF-8")
    values: dict[str, str] = {}
    for name, value in fields:
        if name.startswith("hub.") and name in values:
            return Refusal(400, f"{name} is given more than once")
        values[name] = value  # unknown parameters are ignored (WebSub 5.1)
    mode_name = values.get("hub.mode", "")
    if mode_name not in {mode.value for mode in Mode}:
        return Refusal(400, "hub.mode must be 'subscribe' or 'unsubscribe'")
    mode = Mode(mode_name)
    callback = values.get("hub.callback", "")
    if not callback:
        return Refusal(400, "hub.callback is missing")
    problem = callback_problem(config, callback)
    if problem:
        return Refusal(400, problem)
    topic = values.get("hub.topic", "")
    if not topic:
        return Refusal(400, "hub.topic is missing")
    if not is_topic(topic):
        return Refusal(
            400,
            f"hub.topic is not a feed of this hub; its topics are the feeds under {config.base_url}feeds/",
            deny_callback=callback if mode is Mode.SUBSCRIBE else None,
            topic=topic,
        )
    if mode is Mode.UNSUBSCRIBE:
        return SubscriptionRequest(callback, topic, mode, None, None)
    lease = _lease_seconds(config, values.get("hub.lease_seconds"))
    if lease is None:
        return Refusal(400, "hub.lease_seconds must be a whole number of seconds")
    secret = values.get("hub.secret") or None
    if secret is not None and len(secret.encode()) > MAX_SECRET_BYTES:
        return Refusal(400, f"hub.secret must be under {MAX_SECRET_BYTES + 1} bytes")
    return SubscriptionRequest(callback, topic, mode, lease, secret)


def _lease_seconds(config: Config, asked: str | None) -> int | None:
    """What the subscriber asked for, within the configured bounds; None when unreadable."""
    websub = config.websub
    if asked is None or asked == "":
        return websub.lease_seconds
    if not asked.isascii() or not asked.isdigit() or len(asked) > 12:
        return None
    return min(max(int(asked), websub.min_lease_seconds), websub.max_lease_seconds)
