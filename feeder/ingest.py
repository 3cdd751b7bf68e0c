"""Scan the inbox, skip what was seen, parse what is new, store it.

Files are handled in batches, each stored in one transaction: a crash loses at
most the batch in flight, and the next run redoes it. An unchanged file is
recognised by its recorded size and mtime without being read, so a rescan of
a large inbox costs a stat per file, checked against the record in one ordered
walk. Source files are only ever read.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as time_of_day
from pathlib import Path
from threading import Event
from zoneinfo import ZoneInfo

from feeder.config import Config
from feeder.errors import FeederError
from feeder.model import Article, Entry, Rejection, RejectReason
from feeder.slugs import category_slug, page_key
from feeder.store import Store, StoredStory
from feeder.wire import parse

log = logging.getLogger(__name__)

BATCH_SIZE = 500
SUFFIX = ".txt"
# A story's dateline has no time of day; when its file's mtime is not on that
# day either, the story is placed at local noon.
DEFAULT_TIME_OF_DAY = time_of_day(12)

# Fixing permissions or replacing a link with the file it names may change neither
# size nor mtime, and a name that is not UTF-8 cannot be recorded as it is, so
# these files are not recorded as seen and are checked every run.
RETRIED_EVERY_RUN = frozenset(
    {RejectReason.UNREADABLE, RejectReason.OUTSIDE_INBOX, RejectReason.BAD_FILE_NAME}
)

# Called with (files done, files in the inbox) after each batch.
Progress = Callable[[int, int], None]


class InboxError(FeederError):
    """The inbox cannot be listed, or a file given as in it is not."""


@dataclass
class IngestReport:
    new: int = 0
    updated: int = 0
    duplicate: int = 0
    rejected: int = 0
    skipped: int = 0
    unchanged: int = 0
    changed_categories: set[str] = field(default_factory=set)

    def counts(self) -> dict[str, int]:
        return {
            "new": self.new,
            "updated": self.updated,
            "duplicate": self.duplicate,
            "rejected": self.rejected,
            "skipped": self.skipped,
            "unchanged": self.unchanged,
        }


@dataclass(frozen=True)
class Delivery:
    """One file read from the inbox and parsed, waiting to be stored."""

    name: str
    size: int
    mtime_ns: int
    result: Article | Rejection

    @property
    def mtime(self) -> datetime:
        return datetime.fromtimestamp(self.mtime_ns / 1e9, UTC)


@dataclass
class BatchChanges:
    """What one batch changed: its categories, stored once per batch by
    `Store.update_feeds`, and the stories saved, whose pages are to be written."""

    names: dict[str, str | None] = field(default_factory=dict)
    added: Counter[str] = field(default_factory=Counter)
    saved: list[Entry] = field(default_factory=list)

    def new_story(self, slug: str, name: str) -> None:
        self.names[slug] = name
        self.added[slug] += 1

    def correction(self, old_slug: str, slug: str, name: str) -> None:
        self.names[slug] = name
        if old_slug != slug:
            self.names.setdefault(old_slug, None)  # keeps its name
            self.added[old_slug] -= 1
            self.added[slug] += 1


def storable_name(name: str) -> str:
    """The name as the database and the log can hold it: a file name that is not
    UTF-8 comes from the OS with surrogate escapes, shown here as \\x escapes."""
    try:
        name.encode()
    except UnicodeEncodeError:
        return name.encode(errors="surrogateescape").decode(errors="backslashreplace")
    return name


def is_article_name(name: str) -> bool:
    """Hidden files are partial uploads (rsync, editors); other suffixes are not articles."""
    return not name.startswith(".") and name.lower().endswith(SUFFIX)


def inbox_names(inbox: Path) -> list[str]:
    """Candidate article files, in no particular order."""
    try:
        return [name for name in os.listdir(inbox) if is_article_name(name)]
    except OSError as error:
        raise InboxError(
            f"cannot list the inbox {inbox}: {error.strerror}; create it or fix 'inbox' in config.toml"
        ) from None


def names_in_inbox(inbox: Path, paths: Iterable[Path]) -> list[str]:
    """The names of files given by path, each checked to be an article file in the inbox."""
    names = []
    for path in paths:
        if not os.path.lexists(path):
            raise InboxError(f"{path}: no such file")
        if os.path.realpath(path.absolute().parent) != os.path.realpath(inbox):
            raise InboxError(f"{path} is not in the inbox {inbox}; feeder reads only files there")
        if not is_article_name(path.name):
            raise InboxError(
                f"{path} is not an article file: articles are named *.txt and not hidden"
            )
        names.append(path.name)
    return names


def publish_time(story_date: date, mtime: datetime, zone: ZoneInfo) -> datetime:
    """The file's mtime when it falls on the dateline's day (local time), else local noon."""
    local = mtime.astimezone(zone)
    if local.date() == story_date:
        return local.replace(microsecond=0)
    return datetime.combine(story_date, DEFAULT_TIME_OF_DAY, zone)


class Ingester:
    def __init__(
        self, store: Store, config: Config, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        # Symbolic links are followed only to files inside the inbox.
        self.inbox = Path(os.path.realpath(config.inbox))
        self._slugs: dict[str, str] = {}

    def run(
        self,
        only: Collection[str] | None = None,
        complete: Collection[str] = (),
        progress: Progress | None = None,
        stop: Event | None = None,
        after_batch: Callable[[list[Entry]], None] | None = None,
    ) -> IngestReport:
        """Ingest the whole inbox, or only the files named in `only` (the watcher's
        events, a delivery hook's arguments): their cost then does not grow with the
        inbox, as nothing else is listed or stat'ed.

        `complete` names files known to be fully written (the watcher saw them
        closed), which need not wait `settle_seconds`; `after_batch` is given the
        stories each batch saved, once it is committed.
        """
        report = IngestReport()
        if only is None:
            names = inbox_names(self.config.inbox)
        else:
            names = list({name for name in only if is_article_name(name)})  # sorted below
        changed = self._changed_names(names, only is not None, report)
        done = len(names) - len(changed)
        for start in range(0, len(changed), BATCH_SIZE):
            if stop is not None and stop.is_set():
                log.info(
                    "stopping: %d of %d files left for the next run", len(names) - done, len(names)
                )
                return report
            batch = changed[start : start + BATCH_SIZE]
            deliveries = self._read_changed(batch, complete, report)
            changes = BatchChanges()
            with self.store.transaction():
                for delivery in deliveries:
                    self._store(delivery, report, changes)
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
        return report

    def _changed_names(self, names: list[str], named: bool, report: IngestReport) -> list[str]:
        """The names whose size or mtime differ from the record, in delivery order:
        oldest mtime first, then by name.

        Handling files in the order they arrived makes the outcome independent of
        how deliveries fall into runs: the copy delivered second is the duplicate,
        and a story is compared with content that arrived before it. One stat per
        file and nothing read; the sorted names and the recorded files are walked
        side by side, so the record is never all in memory.
        """
        inbox = os.fspath(self.config.inbox)
        ordered = sorted(names)
        # A name that is not UTF-8 is never recorded, and SQLite could not take it.
        lookup = [name for name in ordered if storable_name(name) == name] if named else None
        recorded = self.store.recorded_files(lookup)
        record = next(recorded, None)
        changed: list[tuple[int, str]] = []
        for name in ordered:
            while record is not None and record[0] < name:
                record = next(recorded, None)
            path = f"{inbox}/{name}"
            try:
                status = os.stat(path)
            except FileNotFoundError:
                if os.path.islink(path):
                    changed.append((0, name))  # a dangling link: the read reports it
                continue  # removed since the listing
            except OSError:
                changed.append((0, name))  # the read reports why
                continue
            if record == (name, status.st_size, status.st_mtime_ns):
                report.unchanged += 1
            elif stat.S_ISREG(status.st_mode):
                changed.append((status.st_mtime_ns, name))
        return [name for _, name in sorted(changed)]

    def _read_changed(
        self, names: list[str], complete: Collection[str], report: IngestReport
    ) -> list[Delivery]:
        now = self.clock()
        deliveries = []
        for name in names:
            delivery = self._read_one(name, now, name in complete, report)
            if delivery is not None:
                deliveries.append(delivery)
        return deliveries

    def _read_one(
        self, name: str, now: float, complete: bool, report: IngestReport
    ) -> Delivery | None:
        """The file as a Delivery; None for what is not an article file, is gone, or must wait."""
        if storable_name(name) != name:
            return self._bad_name(name)
        try:
            return self._read_path(name, f"{self.config.inbox}/{name}", now, complete, report)
        except FileNotFoundError:
            return None  # removed since the listing
        except OSError as error:
            if error.errno == errno.ELOOP:
                return self._read_link(name, now, complete, report)
            return self._unreadable(name, error)

    def _read_link(
        self, name: str, now: float, complete: bool, report: IngestReport
    ) -> Delivery | None:
        """A symbolic link is followed only to a file inside the inbox."""
        link = self.config.inbox / name
        target = Path(os.path.realpath(link))
        if not target.is_relative_to(self.inbox):
            message = (
                f"the file is a symbolic link to {target}, outside the inbox; feeder reads "
                "only files inside it: copy the file into the inbox instead of linking to it"
            )
            return self._refused(name, None, RejectReason.OUTSIDE_INBOX, message)
        try:
            return self._read_path(name, os.fspath(target), now, complete, report)
        except FileNotFoundError:
            message = (
                f"the file is a symbolic link to {target}, which does not exist; "
                "put the file it names in place or remove the link"
            )
            return self._refused(name, None, RejectReason.UNREADABLE, message)
        except OSError as error:
            return self._unreadable(name, error)

    def _read_path(
        self, name: str, path: str, now: float, complete: bool, report: IngestReport
    ) -> Delivery | None:
        """Raises OSError only when `path` cannot be opened; ELOOP when it is a link.

        A link is refused here and checked before it is followed, so it cannot be
        swapped between the check and the read. A FIFO named *.txt opens without
        waiting for a writer, and is then skipped as not a regular file.
        """
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            return self._read_open(name, descriptor, now, complete, report)
        finally:
            os.close(descriptor)

    def _read_open(
        self, name: str, descriptor: int, now: float, complete: bool, report: IngestReport
    ) -> Delivery | None:
        try:
            status = os.fstat(descriptor)
            if not stat.S_ISREG(status.st_mode):
                return None  # a directory or device that happens to be named *.txt
            if not complete and now - status.st_mtime < self.config.settle_seconds:
                log.debug(
                    "%s: modified %.1f s ago, waiting for it to settle", name, now - status.st_mtime
                )
                report.skipped += 1
                return None
            limit = self.config.max_file_size
            if status.st_size > limit:
                message = (
                    f"the file is {status.st_size:,} bytes, over max_file_size ({limit:,}); "
                    "raise max_file_size in config.toml if it is a genuine article"
                )
                return self._refused(name, status, RejectReason.TOO_LARGE, message)
            # One byte more than the size shows a file that grew.
            data = _read_up_to(descriptor, status.st_size + 1)
            after = os.fstat(descriptor)
        except OSError as error:
            return self._unreadable(name, error)
        if len(data) != after.st_size or (after.st_size, after.st_mtime_ns) != (
            status.st_size,
            status.st_mtime_ns,
        ):
            log.info("%s: still being written, leaving it for the next run", name)
            report.skipped += 1
            return None
        return Delivery(name, status.st_size, status.st_mtime_ns, parse(data, name))

    def _unreadable(self, name: str, error: OSError) -> Delivery:
        message = (
            f"cannot read the file: {error.strerror}; make it readable by the user feeder runs as"
        )
        return self._refused(name, None, RejectReason.UNREADABLE, message)

    def _bad_name(self, name: str) -> Delivery:
        shown = storable_name(name)
        message = (
            f"the file name {shown!r} is not UTF-8 (written by a tool using a legacy "
            "encoding?); rename the file and feeder picks it up"
        )
        return self._refused(shown, None, RejectReason.BAD_FILE_NAME, message)

    def _refused(
        self, name: str, status: os.stat_result | None, reason: RejectReason, message: str
    ) -> Delivery:
        """A rejection decided without reading the file's content."""
        size, mtime_ns = (status.st_size, status.st_mtime_ns) if status else (0, 0)
        return Delivery(name, size, mtime_ns, Rejection(name, "", reason, message))

    def _store(self, delivery: Delivery, report: IngestReport, changes: BatchChanges) -> None:
        result = delivery.result
        if isinstance(result, Rejection):
            self._store_rejection(delivery, result, report)
            return
        existing = self.store.story(result.story_id)
        duplicate_of = None if existing else self.store.story_with_content(result.sha256)
        if existing and existing.sha256 == result.sha256:
            outcome = "unchanged"
            report.unchanged += 1
        elif duplicate_of:
            outcome = "duplicate"
            report.duplicate += 1
            log.info("%s: duplicate of story %s, skipped", delivery.name, duplicate_of)
        else:
            outcome = self._save(delivery, result, existing, report, changes)
        self.store.clear_reject(delivery.name)
        self.store.record_file(
            delivery.name,
            delivery.size,
            delivery.mtime_ns,
            result.sha256,
            outcome,
            duplicate_of or result.story_id,
        )

    def _save(
        self,
        delivery: Delivery,
        article: Article,
        existing: StoredStory | None,
        report: IngestReport,
        changes: BatchChanges,
    ) -> str:
        slug = self._slug(article.category)
        zone = self.config.timezone
        if existing is None:
            published = publish_time(article.date, delivery.mtime, zone)
            updated, revision, outcome = published, 1, "new"
            changes.new_story(slug, article.category)
            report.new += 1
            log.info("%s: new story in %s", delivery.name, slug)
        else:
            same_day = existing.story_date == article.date.isoformat()
            published = (
                existing.published if same_day else publish_time(article.date, delivery.mtime, zone)
            )
            # A correction always moves `updated` forward, even if the file's clock is behind.
            updated = max(delivery.mtime, existing.updated + timedelta(seconds=1), published)
            revision, outcome = existing.revision + 1, "updated"
            report.updated += 1
            log.info(
                "%s: correction, story %s now at revision %d",
                delivery.name,
                article.story_id,
                revision,
            )
            changes.correction(existing.category_slug, slug, article.category)
        entry = self.store.save_article(
            article,
            page_key=page_key(article.story_id),
            category_slug=slug,
            published=published,
            updated=updated,
            revision=revision,
        )
        changes.saved.append(entry)
        return outcome

    def _slug(self, category: str) -> str:
        # Transliteration is slow and categories are few.
        if category not in self._slugs:
            self._slugs[category] = category_slug(category, self.config.category_slugs)
        return self._slugs[category]

    def _store_rejection(
        self, delivery: Delivery, rejection: Rejection, report: IngestReport
    ) -> None:
        report.rejected += 1
        if self.store.record_reject(rejection, datetime.now(UTC)):
            log.warning("%s: rejected: %s", delivery.name, rejection.message)
        if rejection.reason in RETRIED_EVERY_RUN:
            return
        self.store.record_file(
            delivery.name, delivery.size, delivery.mtime_ns, rejection.sha256, "rejected", None
        )


def _read_up_to(descriptor: int, size: int) -> bytes:
    """Read until `size` bytes or the end of the file, whichever comes first."""
    chunks = []
    while size > 0 and (chunk := os.read(descriptor, size)):
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)
