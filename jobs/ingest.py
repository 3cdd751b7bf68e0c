"""Every `ingest_interval` for the whole inbox, and for the files the watcher sees land:
the same work as `feeder ingest` and `feeder ingest FILE...`."""

from __future__ import annotations

from collections.abc import Collection
from threading import Event

from feeder import pipeline
from feeder.config import Config


def run(
    config: Config,
    only: Collection[str] | None,
    complete: Collection[str],
    stop: Event,
    lock_timeout: float,
) -> None:
    pipeline.ingest_and_publish(
        config, only=only, complete=complete, stop=stop, lock_timeout=lock_timeout
    )
