"""The units of work that the CLI and the scheduled jobs share.

Each takes the work lock, so the daemon and a manual command take turns
instead of interleaving, and records its run so `feeder status` can show it.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from feeder.config import Config
from feeder.ingest import Ingester, IngestReport
from feeder.ingest import Progress as IngestProgress
from feeder.locking import file_lock
from feeder.publish import Progress as PageProgress
from feeder.publish import Publisher, PublishReport, remove_stale_temp_files
from feeder.store import DatabaseBusy, Store

# How long a manual command waits for the daemon's current job before giving up.
WORK_LOCK_TIMEOUT_SECONDS = 300.0


@dataclass(frozen=True)
class IngestOutcome:
    ingest: IngestReport
    publish: PublishReport


@contextmanager
def _recorded_work(
    config: Config, job: str, lock_timeout: float
) -> Iterator[tuple[Store, dict[str, Any]]]:
    """Hold the work lock and an open store; record the run, its counts and any error.

    First, remove what a killed writer left, so no partial file stays in the output
    while this run ingests.
    """
    with file_lock(config.lock_path, lock_timeout, job), Store(config.database) as store:
        remove_stale_temp_files(config)
        started, clock = datetime.now(UTC), time.monotonic()
        counts: dict[str, Any] = {}
        try:
            yield store, counts
        except DatabaseBusy:
            raise  # a run cannot be recorded in a database it cannot write
        except Exception as error:
            store.record_run(
                job, started, time.monotonic() - clock, counts, f"{type(error).__name__}: {error}"
            )
            raise
        store.record_run(job, started, time.monotonic() - clock, counts, None)


def ingest_and_publish(
    config: Config,
    complete: Collection[str] = (),
    progress: IngestProgress | None = None,
    lock_timeout: float = WORK_LOCK_TIMEOUT_SECONDS,
) -> IngestOutcome:
    """Ingest the inbox, then rewrite whatever is dirty (this run's changes, or a failed earlier write)."""
    with _recorded_work(config, "ingest", lock_timeout) as (store, counts):
        report = Ingester(store, config).run(complete, progress)
        counts.update(report.counts())
        published = Publisher(store, config).publish_dirty()
        counts["feeds_written"] = len(published.feeds_written)
        return IngestOutcome(report, published)


def regenerate(
    config: Config,
    category_slug: str | None = None,
    all_pages: bool = False,
    progress: PageProgress | None = None,
    lock_timeout: float = WORK_LOCK_TIMEOUT_SECONDS,
) -> PublishReport:
    with _recorded_work(config, "regen", lock_timeout) as (store, counts):
        report = Publisher(store, config).regenerate(category_slug, all_pages, progress)
        counts.update(feeds_written=len(report.feeds_written), pages_written=report.pages_written)
        return report
