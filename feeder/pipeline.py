"""The units of work that the CLI and the scheduled jobs share.

Each takes the work lock, so the daemon and a manual command take turns
instead of interleaving, and records its run so `feeder status` can show it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from threading import Event
from typing import Any

from feeder.batches import Progress
from feeder.channels.dispatch import Channels
from feeder.clock import Clock, utc_now
from feeder.config import Config
from feeder.errors import FeederError
from feeder.intake.ingest import Ingester, IngestReport
from feeder.locking import file_lock
from feeder.publish.output_settings import Reach, record_settings, settings_change
from feeder.publish.publisher import Publisher, PublishReport
from feeder.registered import CHANNELS
from feeder.site.pages import Site
from feeder.slugs import ALL_NEWS
from feeder.store import DatabaseBusy, Store, Withdrawal

log = logging.getLogger(__name__)

# How long a manual command waits for the daemon's current job before giving up.
WORK_LOCK_TIMEOUT_SECONDS = 300.0


@dataclass(frozen=True)
class IngestOutcome:
    ingest: IngestReport
    publish: PublishReport


@dataclass
class Work:
    """What a unit of work holds while it runs: the open store, the counts to
    record, the work lock's descriptor (a helper process holds the lock with this
    one), the site's renderer, made before the lock was taken, and the channels
    told of what it publishes and changes."""

    config: Config
    store: Store
    counts: dict[str, Any]
    lock: int
    site: Site
    clock: Clock
    channels: Channels

    def publisher(self) -> Publisher:
        return Publisher(self.store, self.config, self.site, self.lock, self.channels, self.clock)


@contextmanager
def _recorded_work(config: Config, job: str, lock_timeout: float, clock: Clock) -> Iterator[Work]:
    """Hold the work lock and an open store; record the run, its counts and any error.

    The store opens first, so a run that cannot get the lock is recorded too; the
    site's renderer (templates, the language's catalogue and dates) is made before
    the lock is taken, so another run does not wait for it. The channels hear of
    every story the run changes (feeder.channels.dispatch) and every file it writes.
    """
    site = Site(config)
    with Store(config.database) as store:
        started, timer = clock(), time.monotonic()
        counts: dict[str, Any] = {}
        try:
            with file_lock(config.lock_path, lock_timeout, job) as work_lock:
                channels = Channels(config, store, CHANNELS)
                store.story_listener = channels
                store.search_enabled = config.search.enabled
                yield Work(config, store, counts, work_lock, site, clock, channels)
        except DatabaseBusy:
            raise  # a run cannot be recorded in a database it cannot write
        except Exception as error:
            duration = time.monotonic() - timer
            store.record_run(job, started, duration, counts, f"{type(error).__name__}: {error}")
            raise  # reported once, by the CLI or by the daemon's job runner
        duration = time.monotonic() - timer
        store.record_run(job, started, duration, counts, None)
        # The daemon's rescan every minute usually finds nothing: that is no event.
        idle = not any(value for name, value in counts.items() if name != "unchanged")
        log.log(
            logging.DEBUG if idle else logging.INFO,
            "%s done in %.2f s: %s",
            job,
            duration,
            describe_counts(counts),
        )


def _catch_up_with_settings(config: Config, store: Store) -> None:
    """Mark dirty what a setting changed since the last publish is baked into, so
    this run's publish rewrites it. The marks are committed before the new settings
    are recorded, so a run cut short leaves the work to the next one."""
    change = settings_change(config, lambda: store.article_count() == 0)
    if change.reach is not None:
        everything = change.reach is Reach.EVERYTHING
        log.info(
            "the output in %s was made with other settings (%s); rewriting every feed%s",
            config.output_dir,
            change.describe(),
            " and page" if everything else "",
        )
        with store.transaction():
            store.mark_dirty([ALL_NEWS, *store.category_slugs()])
            store.mark_archive_pages_dirty()  # they carry what feeds do
            if everything:
                store.mark_all_pages_dirty()
                store.mark_all_months_dirty()
                store.mark_all_days_dirty()
    record_settings(config)


def describe_counts(counts: Mapping[str, object]) -> str:
    """A run's counts as the log and the terminal show them: "1 new, 0 updated"."""
    return ", ".join(f"{value} {name}" for name, value in counts.items())


def ingest_and_publish(
    config: Config,
    only: Collection[str] | None = None,
    complete: Collection[str] = (),
    progress: Progress | None = None,
    lock_timeout: float = WORK_LOCK_TIMEOUT_SECONDS,
    stop: Event | None = None,
    clock: Clock = utc_now,
    declared: bool = False,
    force: bool = False,
) -> IngestOutcome:
    """Ingest the inbox (or `only` the files named), then rewrite whatever is
    dirty (this run's changes, or a failed earlier write). `declared` and `force`
    are `Ingester.run`'s.

    When `stop` is set the work ends at the next batch boundary; what is left
    stays unseen or dirty in the database, and the next run completes it.
    """
    with _recorded_work(config, "ingest", lock_timeout, clock) as work:
        _catch_up_with_settings(config, work.store)
        with work.publisher() as publisher:
            # Each batch's pages are written while the next batch is parsed.
            report = Ingester(work.store, config, clock).run(
                only,
                complete,
                progress,
                stop,
                after_batch=publisher.write_pages,
                declared=declared,
                force=force,
            )
            work.counts.update(report.counts())
            published = publisher.publish_dirty(stop=stop)
        work.counts["feeds_written"] = len(published.feeds_written)
        if stop is not None and stop.is_set():
            work.counts["interrupted"] = True
        return IngestOutcome(report, published)


def regenerate(
    config: Config,
    category: str | None = None,
    all_pages: bool = False,
    progress: Progress | None = None,
    lock_timeout: float = WORK_LOCK_TIMEOUT_SECONDS,
    clock: Clock = utc_now,
) -> PublishReport:
    with _recorded_work(config, "regen", lock_timeout, clock) as work:
        _catch_up_with_settings(config, work.store)
        with work.publisher() as publisher:
            report = publisher.regenerate(category, all_pages, progress)
        work.counts.update(
            feeds_written=len(report.feeds_written), pages_written=report.pages_written
        )
        return report


def rebuild_search_index(
    config: Config, lock_timeout: float = WORK_LOCK_TIMEOUT_SECONDS, clock: Clock = utc_now
) -> int:
    """Index every stored story afresh (`feeder regen --search`); returns how many."""
    with _recorded_work(config, "regen", lock_timeout, clock) as work:
        count = work.store.rebuild_search_index()
        work.counts.update(indexed=count)
        return count


def maintain(
    config: Config, lock_timeout: float = WORK_LOCK_TIMEOUT_SECONDS, clock: Clock = utc_now
) -> str:
    """The nightly job: rebuild every feed, check the database, refresh its statistics.

    Returns SQLite's integrity verdict ("ok" when healthy).
    """
    with _recorded_work(config, "maintenance", lock_timeout, clock) as work:
        _catch_up_with_settings(config, work.store)
        with work.publisher() as publisher:
            report = publisher.regenerate()
        integrity = work.store.integrity_check()
        work.store.optimize()
        work.counts.update(feeds_written=len(report.feeds_written), integrity=integrity)
        if integrity != "ok":
            log.error("database %s failed its integrity check: %s", config.database, integrity)
        return integrity


class WithdrawalError(FeederError):
    """No such published story to withdraw, or no such withdrawn story to restore."""


def withdraw(
    config: Config,
    story_id: str,
    reason: str,
    by: str,
    lock_timeout: float = WORK_LOCK_TIMEOUT_SECONDS,
    clock: Clock = utc_now,
) -> Withdrawal:
    """Take a story out of every feed, page list, archive and sitemap, and put a
    notice in place of its page. One transaction records it and marks all that is
    to be rewritten, so a crash before the rewrite leaves it to the next run."""
    with _recorded_work(config, "withdraw", lock_timeout, clock) as work:
        with work.store.transaction():
            withdrawn = work.store.withdraw(story_id, by, reason, clock())
            if withdrawn is None:
                raise WithdrawalError(_not_found(work.store, story_id, "withdraw"))
            work.store.update_feeds({withdrawn.category_slug: None}, {withdrawn.category_slug: -1})
        log.info("story %s withdrawn by %s: %s", story_id, by, reason)
        _publish_changes(work)
        return withdrawn


def restore(
    config: Config,
    story_id: str,
    lock_timeout: float = WORK_LOCK_TIMEOUT_SECONDS,
    clock: Clock = utc_now,
) -> Withdrawal:
    """Put a withdrawn story back as it was; returns the withdrawal it undid."""
    with _recorded_work(config, "restore", lock_timeout, clock) as work:
        with work.store.transaction():
            restored = work.store.restore(story_id)
            if restored is None:
                raise WithdrawalError(_not_found(work.store, story_id, "restore"))
            work.store.update_feeds({restored.category_slug: None}, {restored.category_slug: 1})
        log.info("story %s restored (withdrawn by %s)", story_id, restored.by)
        _publish_changes(work)
        return restored


def _publish_changes(work: Work) -> None:
    with work.publisher() as publisher:
        report = publisher.publish_dirty()
    work.counts.update(feeds_written=len(report.feeds_written), pages_written=report.pages_written)


def _not_found(store: Store, story_id: str, action: str) -> str:
    if action == "withdraw" and store.is_withdrawn(story_id):
        return f"story {story_id} is already withdrawn; `feeder status` lists withdrawals"
    if action == "restore" and store.story(story_id) is not None:
        return f"story {story_id} is published, not withdrawn; nothing to restore"
    return (
        f"no story {story_id!r}: a story id is its file name without .txt; "
        "`feeder status` lists withdrawn stories"
    )
