"""The hub endpoint (WebSub 5.1): takes subscription requests, answers 202 or a 4xx.

Only what can be judged at once is judged here; the request is then stored
for the worker to verify, so the answer never waits on the subscriber. Each
refusal is a 4xx whose body says what to fix, and nothing of a refused
request is stored. A request for a topic this hub does not have is also
answered with a denial to its callback (WebSub 5.2), a few at a time.
"""

from __future__ import annotations

import asyncio
import logging
import time

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from feeder.channels import dispatch
from feeder.channels.outgoing import (
    Outgoing,
    Refused,
    Resolver,
    destination,
    loggable,
    system_resolver,
)
from feeder.channels.websub.exchanges import deny
from feeder.channels.websub.requests import Refusal, parse_request
from feeder.channels.websub.state import HubState, SubscriptionRequest
from feeder.config import Config
from feeder.feeds.hubs import hub_route, topic_path
from feeder.store import Store

log = logging.getLogger(__name__)

FORM_TYPE = "application/x-www-form-urlencoded"
# A request is a few short fields; anything longer is not one (room enough to
# tell an overlong secret by name).
MAX_REQUEST_BYTES = 16 * 1024
# Denials to unknown topics in flight at once; past that, the 4xx answer alone tells.
MAX_DENIALS_IN_FLIGHT = 8


class HubEndpoint:
    def __init__(self, config: Config, resolver: Resolver = system_resolver) -> None:
        self.config = config
        self.resolver = resolver
        self._denials: set[asyncio.Task[None]] = set()

    def route(self) -> Route:
        return Route(hub_route(self.config), self.handle, methods=["POST"], name="websub-hub")

    async def handle(self, request: Request) -> Response:
        media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        if media_type != FORM_TYPE:
            return _refuse(Refusal(415, f"send the request as a form, Content-Type: {FORM_TYPE}"))
        body = await _body(request)
        if body is None:
            return _refuse(Refusal(413, f"the request is longer than {MAX_REQUEST_BYTES} bytes"))
        parsed = parse_request(self.config, body, self._is_topic)
        if isinstance(parsed, Refusal):
            await self._deny(parsed)
            return _refuse(parsed)
        try:
            target = await destination(
                parsed.callback, self.config.websub.allow_private_callbacks, self.resolver
            )
        except Refused as refused:
            return _refuse(Refusal(400, f"hub.callback refused: {refused}"))
        refusal = await run_in_threadpool(self._keep, parsed, str(target.address))
        if refusal is not None:
            return _refuse(refusal)
        dispatch.wake_senders()
        log.info(
            "%s request of %s to %s accepted; verifying",
            parsed.mode.value,
            loggable(parsed.callback),
            parsed.topic,
        )
        return PlainTextResponse(
            f"Accepted: the hub will verify this {parsed.mode.value} request at hub.callback.\n",
            202,
        )

    def _is_topic(self, topic: str) -> bool:
        relative = topic_path(self.config, topic)
        return relative is not None and (self.config.output_dir / relative).is_file()

    def _keep(self, request: SubscriptionRequest, host: str) -> Refusal | None:
        """Store the request for verification, unless it would pass a subscription limit."""
        websub = self.config.websub
        with Store(self.config.database) as store:
            full = HubState(store).add_intent(
                request,
                host,
                time.time(),
                websub.max_subscriptions_per_host,
                websub.max_subscriptions,
            )
        if full is None:
            return None
        if full.callback_host is None:
            return Refusal(429, "this hub has as many subscriptions as it takes")
        return Refusal(
            429,
            f"{full.callback_host} already has {full.count} subscriptions and requests, the "
            "most this hub allows one callback host",
        )

    async def _deny(self, refusal: Refusal) -> None:
        callback, topic = refusal.deny_callback, refusal.topic
        if callback is None or topic is None or len(self._denials) >= MAX_DENIALS_IN_FLIGHT:
            return
        task = asyncio.create_task(self._send_denial(callback, topic, refusal.reason))
        self._denials.add(task)
        task.add_done_callback(self._denials.discard)

    async def _send_denial(self, callback: str, topic: str, reason: str) -> None:
        websub = self.config.websub
        async with Outgoing(1, websub.allow_private_callbacks, self.resolver) as client:
            answer = await deny(client, self.config, callback, topic, reason)
        if isinstance(answer, str):
            log.info(
                "could not deny %s a subscription to %s: %s", loggable(callback), topic, answer
            )
        else:
            log.info("denied %s a subscription to %s: %s", loggable(callback), topic, reason)


async def _body(request: Request) -> bytes | None:
    """The request body, or None once it passes MAX_REQUEST_BYTES (not read further)."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_REQUEST_BYTES:
            return None
    return bytes(body)


def _refuse(refusal: Refusal) -> Response:
    return PlainTextResponse(refusal.reason + "\n", refusal.status)
