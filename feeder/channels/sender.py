"""The outbox worker: delivers every channel's queued items in `feeder run`.

It runs in a thread of its own with its own asyncio loop and its own database
connection, so nothing it waits for holds up ingest or publishing. Items of one
destination (a Telegram channel) go out one at a time in the order they were
queued, so a post is never edited before it exists; each destination has a
task of its own, so one that hangs delays no other, nor what is queued later. Each outcome is committed as soon
as it is known, which keeps the window in which a kill -9 could send a message
twice to the moment between Telegram's answer and that commit.

Limits: at most `per_minute` sends a minute to one destination (a burst waits
its turn); a failure is retried after `retry_seconds`, doubling up to
`retry_max_seconds`, until `max_attempts`; a destination's own `retry_after`
is honoured without counting as an attempt; a destination that refuses
everything (401, 403) is paused with one log line and waits for
`feeder channels retry`, so nothing loops against it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable, Sequence

from feeder.channels.channel import Delivered, Failed, Outcome, Pause, Retry, Sender, Wait
from feeder.channels.loop_thread import LoopThread
from feeder.config import Config
from feeder.store import OutboxItem, Store

log = logging.getLogger(__name__)

# Work queued by another process (a manual `feeder ingest`) is noticed within this long.
POLL_SECONDS = 1.0
ITEMS_PER_ROUND = 200
# How long stop() lets deliveries in flight finish.
STOP_GRACE_SECONDS = 2.0
RATE_WINDOW_SECONDS = 60.0


class OutboxWorker(LoopThread):
    thread_name = "feeder-outbox"

    def __init__(
        self,
        config: Config,
        senders: Sequence[Sender],
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.config = config
        self.senders = list(senders)
        self.clock = clock

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        woken = self._begin()
        self._started.set()
        busy: dict[tuple[str, str], asyncio.Task[None]] = {}
        with Store(self.config.database) as store:
            try:
                while not self._stopping:
                    woken.clear()
                    for sender in self.senders:
                        self._start_due(sender, store, busy)
                    await self._sleep(store)
            finally:
                await self._finish(list(busy.values()))
                for sender in self.senders:
                    await sender.close()

    def _start_due(
        self, sender: Sender, store: Store, busy: dict[tuple[str, str], asyncio.Task[None]]
    ) -> None:
        """A task for each destination with items due and none in flight: one that
        hangs holds up its own items only."""
        skipped = [destination for channel, destination in busy if channel == sender.channel]
        items = store.due_items(sender.channel, self.clock(), ITEMS_PER_ROUND, skipped)
        by_destination: dict[str, list[OutboxItem]] = {}
        for item in items:
            by_destination.setdefault(item.destination, []).append(item)
        for destination, queue in by_destination.items():
            key = (sender.channel, destination)
            task = asyncio.create_task(self._destination(sender, store, queue))
            busy[key] = task
            task.add_done_callback(functools.partial(self._done, busy, key))

    def _done(
        self,
        busy: dict[tuple[str, str], asyncio.Task[None]],
        key: tuple[str, str],
        task: asyncio.Task[None],
    ) -> None:
        busy.pop(key, None)
        if self._woken is not None:
            self._woken.set()  # its destination may have more due

    async def _finish(self, tasks: list[asyncio.Task[None]]) -> None:
        """Lets deliveries in flight end, within a grace; the rest are due again at the
        next start (their outcome was not recorded)."""
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=STOP_GRACE_SECONDS)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def _sleep(self, store: Store) -> None:
        """Until woken, or the next item is due; items of destinations in flight are
        due already, and their task wakes the loop when it ends."""
        assert self._woken is not None
        now = self.clock()
        dues = [due for sender in self.senders if (due := store.next_due(sender.channel))]
        later = [due - now for due in dues if due > now]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._woken.wait(), min([POLL_SECONDS, *later]))

    async def _destination(self, sender: Sender, store: Store, queue: list[OutboxItem]) -> None:
        """In order; stops at the first item that must wait, so none overtakes it."""
        for item in queue:
            if self._stopping:
                return
            if (opens := self._rate_opens(sender, store, item.destination)) is not None:
                with store.transaction():
                    for waiting in queue[queue.index(item) :]:
                        store.postpone(waiting, opens)
                return
            try:
                outcome = await sender.deliver(item, store)
            except Exception as error:  # a channel's defect must not stop the worker
                log.exception("%s %s: delivery failed", sender.channel, item.key)
                outcome = Retry(f"{type(error).__name__} in feeder")
            if not self._record(sender, store, item, outcome):
                return

    def _rate_opens(self, sender: Sender, store: Store, destination: str) -> float | None:
        """When the next send to `destination` is allowed, if not now."""
        if sender.per_minute is None:
            return None
        now = self.clock()
        sends = store.sends_since(sender.channel, destination, now - RATE_WINDOW_SECONDS)
        if len(sends) < sender.per_minute:
            return None
        return sends[len(sends) - sender.per_minute] + RATE_WINDOW_SECONDS

    def _record(self, sender: Sender, store: Store, item: OutboxItem, outcome: Outcome) -> bool:
        """Commit the outcome; False when the destination's other items must wait."""
        now = self.clock()
        name = f"{sender.channel} {item.destination}"
        with store.transaction():
            match outcome:
                case Delivered(calls):
                    store.settle(item)
                    for _ in range(calls):
                        store.record_send(sender.channel, item.destination, now)
                    return True
                case Wait(seconds):
                    store.postpone(item, now + seconds)
                    log.warning("%s: asked to wait %g s; %s waits", name, seconds, item.key)
                    return False
                case Retry(reason):
                    delay = min(sender.retry_max_seconds, sender.retry_seconds * 2**item.attempts)
                    if store.retry(item, now + delay, reason, sender.max_attempts):
                        log.error(
                            "%s: %s failed %d times, given up (feeder channels retry): %s",
                            name,
                            item.key,
                            item.attempts + 1,
                            reason,
                        )
                    else:
                        log.warning(
                            "%s: %s failed, retried in %g s: %s", name, item.key, delay, reason
                        )
                    return False
                case Failed(reason):
                    store.give_up(item, reason)
                    log.error("%s: %s refused, kept as failed: %s", name, item.key, reason)
                    return True
                case Pause(reason):
                    store.pause(sender.channel, item.destination, reason, now)
                    log.error(
                        "%s: paused, nothing more is sent there until `feeder channels retry`: %s",
                        name,
                        reason,
                    )
                    return False
        return True
