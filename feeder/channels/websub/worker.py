"""The delivery worker: verifies subscription requests and delivers changed feeds.

It runs in `feeder run` beside the scheduler, in a thread of its own with its
own asyncio loop, so nothing it waits for can hold up ingest or publishing;
publishing only records what is due (feeder.channels.websub.channel) and wakes it. At
most `concurrency` requests are in flight, each under `timeout_seconds`
for the whole exchange, so a subscriber that hangs or answers slowly costs
one slot for that long and no one else waits. SQLite is used from one extra
thread, never from the loop, and outcomes are recorded a batch per commit.

What is in flight is known only here: after a crash, every delivery not yet
recorded as done is due again and goes out once the daemon is back.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import hashlib
import logging
import os
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from feeder.channels.loop_thread import LoopThread
from feeder.channels.outgoing import Outgoing, Resolver, loggable, system_resolver
from feeder.channels.websub.exchanges import deny, distribute, judge, ping, verify
from feeder.channels.websub.state import (
    Attempt,
    DueDelivery,
    DuePing,
    HubState,
    Intent,
    Mode,
    Outcome,
)
from feeder.config import Config
from feeder.feeds.hubs import content_type, topic_path
from feeder.store import Store

log = logging.getLogger(__name__)

T = TypeVar("T")

# Work from other processes (a `feeder serve` taking requests, a manual
# `feeder ingest` publishing) is noticed within this long; this process's own wakes at once.
POLL_SECONDS = 1.0
# Leases that ended are removed, and missed deliveries queued, this often.
EXPIRY_CHECK_SECONDS = 60.0
# How long stop() lets requests in flight finish.
STOP_GRACE_SECONDS = 2.0


@dataclass
class Finished:
    """Work done since the loop last recorded it."""

    delivered: list[tuple[DueDelivery, Attempt]] = field(default_factory=list)
    pinged: list[tuple[DuePing, Attempt]] = field(default_factory=list)
    verified: list[tuple[Intent, bool, str | None]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.delivered or self.pinged or self.verified)

    def keys(self) -> list[object]:
        """Of the in-flight set."""
        return [
            *(("d", delivery.subscription_id) for delivery, _ in self.delivered),
            *(("p", ping.hub, ping.topic) for ping, _ in self.pinged),
            *(("i", intent.id) for intent, _, _ in self.verified),
        ]


@dataclass(frozen=True)
class DueWork:
    intents: list[Intent] = field(default_factory=list)
    deliveries: list[DueDelivery] = field(default_factory=list)
    pings: list[DuePing] = field(default_factory=list)
    next_due: float | None = None


class HubWorker(LoopThread):
    """A daemon service: start() returns once it runs, stop() ends it within a bound."""

    thread_name = "feeder-websub"

    def __init__(self, config: Config, resolver: Resolver = system_resolver) -> None:
        super().__init__()
        self.config = config
        self.settings = config.websub
        self.resolver = resolver
        # Feed bytes by topic, read again only when the file changes (inode, mtime, size).
        self._bodies: dict[str, tuple[tuple[int, int, int], bytes, str]] = {}
        self._in_flight: set[object] = set()
        self._finished = Finished()

    def start(self) -> None:
        super().start()
        log.info("WebSub hub at %s delivering", self.settings.hub_url)

    # --- the loop ----------------------------------------------------------------

    def _run(self) -> None:
        database = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="feeder-websub-db")
        try:
            asyncio.run(self._main(database))
        finally:
            database.shutdown(wait=True)

    async def _main(self, database: concurrent.futures.ThreadPoolExecutor) -> None:
        woken = self._begin()
        loop = asyncio.get_running_loop()
        store = await loop.run_in_executor(database, Store, self.config.database)
        state = HubState(store)

        def turn(finished: Finished, wanted: int, expire: bool) -> Awaitable[DueWork]:
            assert self._loop is not None
            return self._loop.run_in_executor(
                database, self._turn, state, finished, time.time(), wanted, expire
            )

        self._started.set()
        tasks: set[asyncio.Task[None]] = set()
        next_expiry = 0.0
        try:
            async with Outgoing(
                self.settings.concurrency, self.settings.allow_private_callbacks, self.resolver
            ) as client:
                while not self._stopping:
                    woken.clear()
                    finished, self._finished = self._finished, Finished()
                    free = self.settings.concurrency - len(tasks)
                    # Asking for the in-flight ones too, which are skipped, leaves `free` new ones.
                    wanted = free + len(self._in_flight) if free > 0 else 0
                    expire = time.monotonic() >= next_expiry
                    if expire:
                        await self._catch_up(database, state)
                    due = await turn(finished, wanted, expire)
                    if expire:
                        next_expiry = time.monotonic() + EXPIRY_CHECK_SECONDS
                    self._in_flight.difference_update(finished.keys())
                    self._start(client, due, free, tasks)
                    await self._wait(tasks, due.next_due)
                if tasks:
                    # What is still in flight after the grace is cancelled, and due again
                    # when the daemon is back.
                    await asyncio.wait(tasks, timeout=STOP_GRACE_SECONDS)
                await turn(self._finished, 0, False)
        finally:
            await loop.run_in_executor(database, store.close)

    async def _catch_up(
        self, database: concurrent.futures.ThreadPoolExecutor, state: HubState
    ) -> None:
        """At start and every minute: queue what publishing did not (feeder.channels.websub.channel)."""
        assert self._loop is not None
        topics = await self._loop.run_in_executor(database, state.topics)
        versions = {topic: feed[1] for topic in topics if (feed := self._feed(topic)) is not None}
        queued = await self._loop.run_in_executor(
            database, state.queue_missed, versions, time.time()
        )
        if queued:
            log.warning(
                "queued %d deliveries of changed feeds that publishing had not queued", queued
            )

    def _turn(
        self, state: HubState, finished: Finished, now: float, wanted: int, expire: bool
    ) -> DueWork:
        """Record what finished and read what is due: one trip to the database thread
        per turn of the loop, however much it carries."""
        if finished.delivered:
            state.record_deliveries(finished.delivered, self.settings.max_attempts)
        if finished.pinged:
            state.record_pings(finished.pinged, self.settings.max_attempts)
        for intent, confirmed, version in finished.verified:
            state.settle_intent(intent, confirmed, now, version)
        if expire:
            for callback, topic in state.expire(now):
                log.info("lease of %s on %s ended", loggable(callback), topic)
        if wanted == 0:
            return DueWork(next_due=state.next_due())
        return DueWork(
            state.intents(wanted),
            state.due_deliveries(now, wanted),
            state.due_pings(now, wanted),
            state.next_due(),
        )

    def _start(
        self, client: Outgoing, due: DueWork, free: int, tasks: set[asyncio.Task[None]]
    ) -> None:
        """Start as much due work as there are free slots, verifications first."""
        work: list[tuple[object, Callable[[], Coroutine[Any, Any, None]]]] = [
            *((("i", i.id), functools.partial(self._verify, client, i)) for i in due.intents),
            *(
                (("d", d.subscription_id), functools.partial(self._deliver, client, d))
                for d in due.deliveries
            ),
            *((("p", p.hub, p.topic), functools.partial(self._ping, client, p)) for p in due.pings),
        ]
        for key, start in [item for item in work if item[0] not in self._in_flight][:free]:
            self._in_flight.add(key)
            task = asyncio.ensure_future(start())
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    async def _wait(self, tasks: set[asyncio.Task[None]], next_due: float | None) -> None:
        """Until woken, a task ends, the next retry is due, or the poll interval passes."""
        assert self._woken is not None
        timeout = POLL_SECONDS
        if next_due is not None and next_due > time.time():
            # What is due already is in flight, or waits for a slot: a task's end wakes us.
            timeout = min(timeout, next_due - time.time())
        if self._finished:
            timeout = 0.0
        waiter = asyncio.ensure_future(self._woken.wait())
        try:
            await asyncio.wait([waiter, *tasks], timeout=timeout, return_when="FIRST_COMPLETED")
        finally:
            waiter.cancel()

    # --- one piece of work each -------------------------------------------------------

    async def _verify(self, client: Outgoing, intent: Intent) -> None:
        callback = loggable(intent.callback)
        problem, version = await _recorded(
            self._verification(client, intent),
            ("feeder failed while verifying; see its log", None),
            f"verifying {callback} for {intent.topic}",
        )
        if problem is None:
            log.info("%s of %s to %s verified", intent.mode.value, callback, intent.topic)
        else:
            log.info(
                "%s of %s to %s not verified: %s",
                intent.mode.value,
                callback,
                intent.topic,
                problem,
            )
        self._finished.verified.append((intent, problem is None, version))
        self.wake()

    async def _verification(
        self, client: Outgoing, intent: Intent
    ) -> tuple[str | None, str | None]:
        """Why the request was not verified (None when it was), and the feed's version."""
        version = None
        if intent.mode is Mode.SUBSCRIBE:
            feed = self._feed(intent.topic)
            if feed is None:
                problem = "the topic is no longer a feed of this hub"
                await deny(client, self.config, intent.callback, intent.topic, problem)
                return problem, None
            version = feed[1]
        return await verify(client, self.config, intent), version

    async def _deliver(self, client: Outgoing, delivery: DueDelivery) -> None:
        callback = loggable(delivery.callback)
        feed = self._feed(delivery.topic)
        if feed is None or feed[1] == delivery.delivered_version:
            attempt = Attempt(Outcome.UNCHANGED)
        else:
            body, version = feed
            answer = await _recorded(
                distribute(
                    client,
                    self.config,
                    delivery.callback,
                    delivery.topic,
                    delivery.secret,
                    body,
                    content_type(delivery.topic.removeprefix(self.config.base_url)),
                ),
                "feeder failed while delivering; see its log",
                f"delivering {delivery.topic} to {callback}",
            )
            attempt = judge(answer, version)
            if attempt.outcome is Outcome.FAILED:
                attempt = self._retry(attempt, delivery.attempts, callback, delivery.topic)
            elif attempt.outcome is Outcome.GONE:
                log.info(
                    "%s answered 410 Gone: its subscription to %s ends", callback, delivery.topic
                )
            else:
                log.debug("delivered %s to %s", delivery.topic, callback)
        self._finished.delivered.append((delivery, attempt))
        self.wake()

    async def _ping(self, client: Outgoing, due: DuePing) -> None:
        answer = await _recorded(
            ping(client, self.config, due.hub, due.topic),
            "feeder failed while pinging; see its log",
            f"pinging {due.hub} for {due.topic}",
        )
        attempt = judge(answer)
        if attempt.outcome is Outcome.FAILED:
            attempt = self._retry(attempt, due.attempts, due.hub, due.topic)
        else:
            log.info("told %s that %s changed", due.hub, due.topic)
        self._finished.pinged.append((due, attempt))
        self.wake()

    def _retry(self, attempt: Attempt, attempts_before: int, target: str, topic: str) -> Attempt:
        """Exponential backoff: retry_seconds, doubling, at most retry_max_seconds apart."""
        settings = self.settings
        if attempts_before + 1 >= settings.max_attempts:
            log.warning(
                "gave up on %s for %s after %d attempts: %s",
                target,
                topic,
                attempts_before + 1,
                attempt.error,
            )
            return attempt
        delay = min(settings.retry_seconds * 2**attempts_before, settings.retry_max_seconds)
        log.info("%s for %s failed (%s); retry in %g s", target, topic, attempt.error, delay)
        return Attempt(attempt.outcome, attempt.version, attempt.error, time.time() + delay)

    def _feed(self, topic: str) -> tuple[bytes, str] | None:
        """The topic's current bytes and version (their sha256), or None when it has no feed."""
        relative = topic_path(self.config, topic)
        if relative is None:
            return None
        path: Path = self.config.output_dir / relative
        try:
            status = path.stat()
            cached = self._bodies.get(topic)
            if cached is not None and cached[0] == _identity(status):
                return cached[1], cached[2]
            with path.open("rb") as file:
                status = os.fstat(file.fileno())  # of the bytes read, if it was just replaced
                body = file.read()
        except OSError:
            return None
        key = _identity(status)
        version = hashlib.sha256(body).hexdigest()
        self._bodies[topic] = (key, body, version)
        return body, version


async def _recorded(work: Awaitable[T], failed: T, what: str) -> T:
    """What `work` came to, or `failed` when it raised: every request, delivery and
    ping must end with an outcome recorded, or it would stay in flight (and, for a
    request, in the database) until a restart that meets the same failure."""
    try:
        return await work
    except Exception:  # a bug of feeder's, not the subscriber's: logged with its traceback
        log.exception("%s failed", what)
        return failed


def _identity(status: os.stat_result) -> tuple[int, int, int]:
    """Publishing replaces a feed with a new file, so a new version has a new identity."""
    return (status.st_ino, status.st_mtime_ns, status.st_size)
