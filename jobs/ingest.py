"""Every `ingest_interval`, and whenever the watcher sees a file land: the same work as `feeder ingest`."""

from __future__ import annotations

from collections.abc import Collection
from threading import Event

from feeder import pipeline
from feeder.config import Config


def run(config: Config, complete: Collection[str], stop: Event, lock_timeout: float) -> None:
    pipeline.ingest_and_publish(config, complete=complete, stop=stop, lock_timeout=lock_timeout)
