"""`POST /inbox` (shared) and `POST <base>fediverse/inbox/<handle>`: what other servers tell.

Every request must be signed (`signatures`) by a key whose actor sends it; an
unsigned, stale, replayed or badly signed one gets a 401 and changes nothing.
Before any key is fetched: the body is at most `max_body_bytes` (413), the
signer's server is not blocked (403) and within `requests_per_minute` (429).
Acted on: Follow (kept, answered by a signed Accept through the outbox), Undo
of a Follow, Delete of an actor (its follows go); anything else is a 202 and
ignored.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import json
import logging
import time
from typing import Any
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from feeder.channels import dispatch
from feeder.channels.fediverse.accounts import (
    SHARED_INBOX_PATH,
    account_inbox_path,
    account_named,
    actor_path,
    route,
)
from feeder.channels.fediverse.remote import fetch_key
from feeder.channels.fediverse.signatures import BadSignature, parse, verify
from feeder.channels.fediverse.signatures import Request as Signable
from feeder.channels.fediverse.state import CHANNEL, FediverseState, RemoteKey
from feeder.channels.fediverse.static import write_followers
from feeder.channels.outgoing import Outgoing, Resolver, system_resolver
from feeder.config import Config
from feeder.slugs import ALL_NEWS
from feeder.store import Store

log = logging.getLogger(__name__)

# A key fetched longer ago than this is fetched again before it is trusted.
KEY_MAX_AGE_SECONDS = 24 * 3600.0
# A key that fails a signature is fetched again at most this often (key rotation).
KEY_REFETCH_SECONDS = 60.0
# Key fetches in flight at once: past that, requests wait rather than fan out.
KEY_FETCHES_IN_FLIGHT = 8
RATE_WINDOW_SECONDS = 60.0


class InboxEndpoint:
    def __init__(self, config: Config, resolver: Resolver = system_resolver) -> None:
        self.config = config
        self.settings = config.fediverse
        self.resolver = resolver
        self._requests: dict[str, collections.deque[float]] = {}
        self._fetches = asyncio.Semaphore(KEY_FETCHES_IN_FLIGHT)

    def routes(self) -> list[Route]:
        return [
            Route(route(SHARED_INBOX_PATH), self.handle, methods=["POST"]),
            Route(route(account_inbox_path("{handle}")), self.handle, methods=["POST"]),
        ]

    async def handle(self, request: Request) -> Response:
        body = await _body(request, self.settings.max_body_bytes)
        if body is None:
            return _answer(413, f"the body is longer than {self.settings.max_body_bytes} bytes")
        now = time.time()
        headers = {name.lower(): value for name, value in request.headers.items()}
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        scheme = urlsplit(self.config.base_url).scheme
        signable = Signable(
            request.method, target, f"{scheme}://{headers.get('host', '')}{target}", headers, body
        )
        try:
            signed = parse(signable, now, self.settings.clock_skew_seconds)
        except BadSignature as refused:
            return _answer(401, str(refused))
        server = (urlsplit(signed.key_id).hostname or "").lower()
        if not server:
            return _answer(401, "the signature's keyId is not a URL")
        if self.settings.is_blocked(server):
            return _answer(403, f"{server} is blocked here")
        if not self._admit(server, now):
            return _answer(
                429,
                f"{server} sent more than {self.settings.requests_per_minute} requests a minute; slow down",
            )
        key = await self._verified_key(signed, now)
        if isinstance(key, str):
            return _answer(401, key)
        if not await run_in_threadpool(self._first_sighting, signed.signature, now):
            return _answer(401, "this signature was used before; sign each request anew")
        try:
            activity = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return _answer(400, "the body is not JSON")
        if not isinstance(activity, dict) or _id(activity.get("actor")) != key.owner:
            return _answer(401, "the activity's actor is not the signer")
        status, said = await run_in_threadpool(self._act, activity, key, now)
        if status == 202 and said.startswith(("followed", "unfollowed", "deleted")):
            dispatch.wake_senders()
            log.info("fediverse: %s", said)
        return _answer(status, said)

    def _admit(self, server: str, now: float) -> bool:
        """At most requests_per_minute per signing server, in a sliding minute."""
        times = self._requests.setdefault(server, collections.deque())
        while times and times[0] <= now - RATE_WINDOW_SECONDS:
            times.popleft()
        if len(times) >= self.settings.requests_per_minute:
            return False
        times.append(now)
        if len(self._requests) > 10_000:  # forget quiet servers, keep memory bounded
            for quiet in [name for name, seen in self._requests.items() if not seen]:
                del self._requests[quiet]
        return True

    def _first_sighting(self, signature: bytes, now: float) -> bool:
        """Kept in the database, so a restart forgets none; kept for twice the skew
        window (a replay later than that is refused as stale)."""
        with Store(self.config.database) as store:
            return FediverseState(store).first_sighting(
                hashlib.sha256(signature).digest(), now, now - 2 * self.settings.clock_skew_seconds
            )

    async def _verified_key(self, signed: Any, now: float) -> RemoteKey | str:
        kept = await run_in_threadpool(self._kept_key, signed.key_id)
        if kept is not None and now - kept.fetched < KEY_MAX_AGE_SECONDS:
            try:
                verify(signed, kept.public_pem)
                return kept
            except BadSignature as refused:
                if now - kept.fetched < KEY_REFETCH_SECONDS:
                    return str(refused)
        async with (
            self._fetches,
            Outgoing(
                1, self.settings.allow_private_addresses, self.resolver, user_agent="feeder"
            ) as client,
        ):
            fetched = await fetch_key(client, signed.key_id, self.settings.timeout_seconds, now)
        if isinstance(fetched, str):
            return f"the signer's key could not be fetched: {fetched}"
        if self.settings.is_blocked(urlsplit(fetched.owner).hostname or ""):
            return "the signer's server is blocked here"
        try:
            verify(signed, fetched.public_pem)
        except BadSignature as refused:
            return str(refused)
        await run_in_threadpool(self._keep_key, fetched)
        return fetched

    def _kept_key(self, key_id: str) -> RemoteKey | None:
        with Store(self.config.database) as store:
            return FediverseState(store).remote_key(key_id)

    def _keep_key(self, key: RemoteKey) -> None:
        with Store(self.config.database) as store:
            FediverseState(store).put_remote_key(key)

    def _act(self, activity: dict[str, Any], key: RemoteKey, now: float) -> tuple[int, str]:
        kind = activity.get("type")
        with Store(self.config.database) as store:
            state = FediverseState(store)
            if kind == "Follow":
                return self._follow(store, state, activity, key, now)
            if kind == "Undo" and isinstance(activity.get("object"), dict):
                follow = activity["object"]
                account = self._account(store, follow.get("object"))
                if follow.get("type") == "Follow" and account is not None:
                    with store.transaction():
                        state.remove_follower(account, key.owner)
                    write_followers(self.config, store, account)
                    return 202, f"{key.owner} unfollowed @{account}"
            if kind == "Delete" and _id(activity.get("object")) == key.owner:
                with store.transaction():
                    handles = state.remove_actor(key.owner)
                for handle in handles:
                    write_followers(self.config, store, handle)
                return 202, f"deleted actor {key.owner}: {len(handles)} follows removed"
        return 202, "accepted; nothing here acts on it"

    def _follow(
        self,
        store: Store,
        state: FediverseState,
        follow: dict[str, Any],
        key: RemoteKey,
        now: float,
    ) -> tuple[int, str]:
        account = self._account(store, follow.get("object"))
        if account is None:
            return 404, "no such account here; follow one that WebFinger names"
        server = (urlsplit(key.owner).hostname or "").lower()
        known = state.is_follower(account, key.owner)
        if not known and state.follows_from_host(server) >= self.settings.max_followers_per_host:
            return 429, f"{server} already has the most follows this server takes from one server"
        with store.transaction():
            state.add_follower(account, key.owner, key.inbox, key.shared_inbox, server, now)
            payload = {"kind": "Accept", "handle": account, "inbox": key.inbox, "follow": follow}
            store.enqueue(CHANNEL, f"accept|{account}|{key.owner}", key.shared_inbox, payload, now)
        write_followers(self.config, store, account)
        return 202, f"followed @{account} by {key.owner}; an Accept follows"

    def _account(self, store: Store, target: object) -> str | None:
        """The handle of one of our actors named by `target`, if it has an account."""
        url = _id(target)
        prefix = self.config.url(actor_path(""))
        if url is None or not url.startswith(prefix):
            return None
        account = account_named(
            self.config, url.removeprefix(prefix), [ALL_NEWS, *store.category_slugs()]
        )
        return account.handle if account is not None else None


def _id(value: object) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else None


async def _body(request: Request, limit: int) -> bytes | None:
    """The body, or None once it passes `limit` (not read further)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def _answer(status: int, reason: str) -> Response:
    return PlainTextResponse(reason + "\n", status)
