"""Scan the inbox, skip what was seen, parse what is new, store it.

Files are handled in batches, each stored in one transaction: a crash loses at
most the batch in flight, and the next run redoes it. An unchanged file is
recognised by its recorded size and mtime without being read (`feeder.intake.inbox`),
so a rescan of a large inbox costs a stat per file. What a delivery means for
its story is decided by `feeder.intake.story`; this module looks up and stores.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from threading import Event

from feeder.batches import BATCH_SIZE, Progress
from feeder.clock import Clock, utc_now
from feeder.config import Config
from feeder.intake.inbox import (
    Deferred,
    Delivery,
    InboxReader,
    Readiness,
    changed_files,
    inbox_names,
    is_article_name,
    storable_name,
)
from feeder.intake.story import Outcome, StoryVersion, decide
from feeder.model import Article, Entry, Rejection, RejectReason
from feeder.slugs import category_slug, display_name, page_key
from feeder.store import Store

log = logging.getLogger(__name__)

# Fixing permissions or replacing a link with the file it names may change neither
# size nor mtime, and a name that is not UTF-8 cannot be recorded as it is, so
# these files are not recorded as seen and are checked every run; nor are a file
# time the database cannot hold, and a failure feeder did not foresee (it may pass).
RETRIED_EVERY_RUN = frozenset(
    {
        RejectReason.UNREADABLE,
        RejectReason.OUTSIDE_INBOX,
        RejectReason.BAD_FILE_NAME,
        RejectReason.IMPOSSIBLE_FILE_TIME,
        RejectReason.FAILED,
    }
)


@dataclass
class IngestReport:
    new: int = 0
    updated: int = 0
    duplicate: int = 0
    rejected: int = 0
    skipped: int = 0
    unchanged: int = 0
    changed_categories: set[str] = field(default_factory=set)
    # Files left for a later run (counted as skipped): their names, how many of
    # them wait to settle and when they all will have, how many are dated ahead.
    deferred: list[str] = field(default_factory=list)
    settling: int = 0
    settled_by: datetime | None = None
    future: int = 0

    def counts(self) -> dict[str, int]:
        return {
            "new": self.new,
            "updated": self.updated,
            "duplicate": self.duplicate,
            "rejected": self.rejected,
            "skipped": self.skipped,
            "unchanged": self.unchanged,
        }

    def count(self, outcome: Outcome) -> None:
        """The report's counts are named as the outcomes recorded for each file."""
        setattr(self, outcome.value, getattr(self, outcome.value) + 1)


@dataclass
class BatchChanges:
    """What one batch changed: its categories, stored once per batch by
    `Store.update_feeds`, and the stories saved, whose pages are to be written."""

    names: dict[str, str | None] = field(default_factory=dict)
    added: Counter[str] = field(default_factory=Counter)
    saved: list[Entry] = field(default_factory=list)

    def add(self, saved: StoryVersion, old: str | None, category: str, entry: Entry) -> None:
        """A story saved in `saved.category_slug`, which was in `old` (None for a new story)."""
        new = saved.category_slug
        self.saved.append(entry)
        known = self.names.get(new)
        self.names[new] = display_name(category, known) if known else category
        if old == new:
            return
        if old is not None:
            self.names.setdefault(old, None)  # keeps its name
            self.added[old] -= 1
        self.added[new] += 1


class Ingester:
    def __init__(self, store: Store, config: Config, clock: Clock = utc_now) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.reader = InboxReader(config)
        self._slugs: dict[str, str] = {}

    def run(
        self,
        only: Collection[str] | None = None,
        complete: Collection[str] = (),
        progress: Progress | None = None,
        stop: Event | None = None,
        after_batch: Callable[[list[Entry]], None] | None = None,
        declared: bool = False,
        force: bool = False,
    ) -> IngestReport:
        """Ingest the whole inbox, or only the files named in `only` (the watcher's
        events, a delivery hook's arguments): their cost then does not grow with the
        inbox, as nothing else is listed or stat'ed.

        `complete` names files known to be fully written (the watcher saw them
        closed), which need not wait `settle_seconds`; `declared` says the caller
        vouches that every file of `only` is whole (a delivery hook), so each is read
        now and its outcome is final; `force` reads files even when unchanged since
        last read. `after_batch` is given the stories each batch saved, once it is
        committed.
        """
        report = IngestReport()
        if only is None:
            names = inbox_names(self.config)
        else:
            names = list({name for name in only if is_article_name(name)})
        # A name that is not UTF-8 is never recorded, and SQLite could not take it.
        lookup = None if only is None else sorted(n for n in names if storable_name(n) == n)
        recorded = iter(()) if force else self.store.recorded_files(lookup)
        found = changed_files(self.config.inbox, names, recorded)
        report.unchanged += found.unchanged
        changed = found.names
        done = len(names) - len(changed)
        for start in range(0, len(changed), BATCH_SIZE):
            if stop is not None and stop.is_set():
                log.info(
                    "stopping: %d of %d files left for the next run", len(names) - done, len(names)
                )
                return report
            batch = changed[start : start + BATCH_SIZE]
            now = self.clock()
            readiness = (
                (lambda _: Readiness.DECLARED)
                if declared
                else lambda name: Readiness.CLOSED if name in complete else Readiness.UNKNOWN
            )
            deliveries, future = self._read(batch, now, readiness, report)
            changes = BatchChanges()
            with self.store.transaction():
                self._note_future(future, now)
                for delivery in deliveries:
                    self._store_alone(delivery, now, report, changes)
                self.store.update_feeds(changes.names, changes.added)
            report.changed_categories.update(changes.names)
            if after_batch:
                after_batch(changes.saved)
            done += len(batch)
            if progress:
                progress(done, len(names))
        if only is None:
            present = {storable_name(name) for name in names}
            with self.store.transaction():
                for name in self.store.forget_missing_rejects(present):
                    log.info("%s: rejected file is gone from the inbox; forgetting it", name)
                self.store.forget_missing_future(present)
        return report

    def _read(
        self,
        names: list[str],
        now: datetime,
        readiness: Callable[[str], Readiness],
        report: IngestReport,
    ) -> tuple[list[Delivery], list[str]]:
        """The deliveries read, and the names of files dated in the future."""
        deliveries, future = [], []
        for name in names:
            try:
                result = self.reader.read(name, now, readiness(name))
            except Exception as error:  # noqa: BLE001  # any cause: see _store_alone
                result = Delivery(name, 0, 0, 0, _failure(name, error))
            if isinstance(result, Deferred):
                report.skipped += 1
                report.deferred.append(name)
                if result is Deferred.FUTURE:
                    future.append(name)
                    report.future += 1
                elif result is Deferred.SETTLING:
                    report.settling += 1
                    report.settled_by = now + timedelta(seconds=self.config.settle_seconds)
            elif result is not None:
                deliveries.append(result)
        return deliveries, future

    def _note_future(self, names: list[str], now: datetime) -> None:
        """A file dated ahead waits for its time; said once, and listed by `feeder status`."""
        for name in names:
            try:
                mtime_ns = os.stat(self.config.inbox / name).st_mtime_ns
            except OSError:
                continue  # gone since it was read
            mtime = datetime.fromtimestamp(mtime_ns / 1e9, UTC)
            if self.store.note_future_file(storable_name(name), mtime, now):
                log.info(
                    "%s: dated in the future (%s), left until then; `feeder ingest` naming "
                    "the file publishes it now",
                    name,
                    mtime.astimezone(self.config.timezone).isoformat(timespec="seconds"),
                )

    def _store_alone(
        self, delivery: Delivery, now: datetime, report: IngestReport, changes: BatchChanges
    ) -> None:
        """Any failure storing one file, whatever its cause, becomes that file's
        rejection and leaves the rest of the batch stored; a failing database
        (full, locked) still ends the run, which the next one redoes."""
        try:
            with self.store.savepoint():
                self.store.forget_future_file(delivery.name)
                self._store(delivery, now, report, changes)
        except sqlite3.Error:
            raise
        except Exception as error:  # noqa: BLE001  # any cause, by design
            rejection = _failure(delivery.name, error)
            self._store_rejection(Delivery(delivery.name, 0, 0, 0, rejection), rejection, report)

    def _store(
        self, delivery: Delivery, now: datetime, report: IngestReport, changes: BatchChanges
    ) -> None:
        """Counts and changes are noted only once everything is written, so a file
        that fails half-way leaves no trace in them. A file dated in the future
        (read because it was named) is taken as delivered now: no story is
        published ahead of the clock."""
        article = delivery.result
        if isinstance(article, Rejection):
            self._store_rejection(delivery, article, report)
            return
        existing = self.store.story(article.story_id)
        if existing is None and self.store.is_withdrawn(article.story_id):
            self._keep_withdrawn(delivery, article, report)
            return
        decision = decide(
            existing,
            article,
            category_slug=self._slug(article.category),
            mtime=min(delivery.mtime, now),
            zone=self.config.timezone,
            duplicate_of=None if existing else self.store.story_with_content(article.sha256),
        )
        entry = None
        if version := decision.version:
            entry = self.store.save_article(
                article,
                page_key=page_key(article.story_id),
                category_slug=version.category_slug,
                published=version.published,
                updated=version.updated,
                revision=version.revision,
            )
        self.store.clear_reject(delivery.name)
        self.store.record_file(
            delivery.name,
            delivery.stamp,
            article.sha256,
            decision.outcome.value,
            decision.story_id,
        )
        report.count(decision.outcome)
        if decision.outcome is Outcome.DUPLICATE:
            log.info("%s: duplicate of story %s, skipped", delivery.name, decision.story_id)
        if entry is not None and (version := decision.version):
            if decision.outcome is Outcome.NEW:
                log.info("%s: new story in %s", delivery.name, version.category_slug)
            else:
                log.info(
                    "%s: correction, story %s now at revision %d",
                    delivery.name,
                    article.story_id,
                    version.revision,
                )
            changes.add(version, decision.old_category, article.category, entry)

    def _keep_withdrawn(self, delivery: Delivery, article: Article, report: IngestReport) -> None:
        """A re-delivery of a withdrawn story does not bring it back (`feeder restore` does)."""
        self.store.clear_reject(delivery.name)
        self.store.record_file(
            delivery.name, delivery.stamp, article.sha256, "withdrawn", article.story_id
        )
        report.unchanged += 1
        log.info(
            "%s: story %s is withdrawn, not published again; `feeder restore %s` brings it back",
            delivery.name,
            article.story_id,
            article.story_id,
        )

    def _slug(self, category: str) -> str:
        # Transliteration is slow and categories are few.
        if category not in self._slugs:
            self._slugs[category] = category_slug(category, self.config.category_slugs)
        return self._slugs[category]

    def _store_rejection(
        self, delivery: Delivery, rejection: Rejection, report: IngestReport
    ) -> None:
        report.rejected += 1
        if self.store.record_reject(rejection, self.clock()):
            log.warning("%s: rejected: %s", delivery.name, rejection.message)
        if rejection.reason in RETRIED_EVERY_RUN:
            return
        self.store.record_file(delivery.name, delivery.stamp, rejection.sha256, "rejected", None)


def _failure(name: str, error: Exception) -> Rejection:
    """A file feeder failed on for a reason it did not foresee: its rejection, so
    the operator sees it and every other file is still published."""
    log.debug("%s: failed", name, exc_info=error)
    message = (
        f"feeder failed on this file ({type(error).__name__}: {error}); it is retried every "
        "run: check the file, and report it if it looks like an ordinary article"
    )
    return Rejection(name, "", RejectReason.FAILED, message)
