"""A channel worker's own thread and asyncio loop, woken from any thread.

The hub's worker and the outbox worker each run their loop in a thread of
their own, so nothing they wait for can hold up ingest or publishing, and are
woken (`feeder.channels.dispatch`) the moment something is queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

from feeder.channels import dispatch

STOP_TIMEOUT_SECONDS = 10.0


class LoopThread:
    """Subclasses give `_run` (the thread's body, which calls `asyncio.run`), call
    `_begin` first thing in their loop and set `_started` once they are ready."""

    thread_name = "feeder-worker"

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._woken: asyncio.Event | None = None
        self._stopping = False
        self._started = threading.Event()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()
        self._started.wait(STOP_TIMEOUT_SECONDS)
        dispatch.add_wake(self.wake)

    def wake(self) -> None:
        """From any thread: something may be due now."""
        loop, woken = self._loop, self._woken
        if loop is not None and woken is not None and not loop.is_closed():
            # RuntimeError: the loop closed between the check and the call.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(woken.set)

    def stop(self) -> None:
        dispatch.remove_wake(self.wake)
        self._stopping = True
        self.wake()
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT_SECONDS)

    def _run(self) -> None:
        raise NotImplementedError

    def _begin(self) -> asyncio.Event:
        """In the loop: what `wake` sets."""
        self._loop = asyncio.get_running_loop()
        self._woken = asyncio.Event()
        return self._woken
