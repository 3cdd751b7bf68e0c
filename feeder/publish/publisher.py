"""Write what changed to the output directory, atomically.

Every file is replaced atomically and only when its bytes changed
(`feeder.files`). Feeds to rebuild are marked dirty in the database in the same
transaction as the change that caused them, so a crash or a failed write here
is finished by the next run.

What one publish costs does not grow with the archive: it reads the dirty
rows, the newest entries of the dirty feeds and the per-category counts the
store keeps, and never lists the articles folder (a file per article). The
temp files a killed writer left are removed when the next run starts, from the
one small folder that holds them (`feeder.files`).
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from threading import Event

from feeder.batches import BATCH_SIZE, Progress
from feeder.clock import Clock, utc_now
from feeder.config import Config
from feeder.errors import FeederError
from feeder.events import FileListener, FileWritten
from feeder.feeds.entries import entry_id
from feeder.feeds.formats import FEED_FORMATS, media_type_for
from feeder.feeds.hubs import hub_links
from feeder.feeds.model import DeletedEntry, FeedFormat, feed_path
from feeder.feeds.xmlfeeds import STYLESHEET_PATH
from feeder.files import PublishError, remove_temp_files, write_if_changed
from feeder.model import Day, Entry, Month
from feeder.paths import article_path
from feeder.publish.archives import Archives
from feeder.publish.assets import assets
from feeder.publish.site import SitePublisher
from feeder.site.pages import Site, opml_path
from feeder.site.pagewriter import Page, PageWriter, Stories, WrittenBatch
from feeder.site.withdrawals import GONE_FOLDER, gone_marker
from feeder.slugs import ALL_NEWS
from feeder.store import ArchivePage, Store

log = logging.getLogger(__name__)
# Pages handed to the writer at once are cut at about this many bytes, so that a
# few huge articles do not hold a whole batch of pages in memory.
PAGE_BATCH_BYTES = 8_000_000


@dataclass(frozen=True)
class Marked:
    """What a publish found to rewrite, marked again if a file of it could not be written."""

    months: list[Month]
    days: list[Day]
    archive_pages: list[ArchivePage]


class UnknownCategory(FeederError):
    """A category slug was asked for that has no feed."""


@dataclass
class PublishReport:
    feeds_written: list[str] = field(default_factory=list)
    archives_written: list[str] = field(default_factory=list)
    """Archive pages (RFC 5005 archived feeds), `feeder.publish.archives`."""
    pages_written: int = 0


class Publisher:
    """Use it as a context manager: pages may be written by a helper process
    (`feeder.site.pagewriter`), which is gone when it exits. `work_lock` is the
    descriptor of the work lock the caller holds, which the helper holds too."""

    def __init__(
        self,
        store: Store,
        config: Config,
        site: Site,
        work_lock: int,
        channels: FileListener,
        clock: Clock = utc_now,
    ) -> None:
        self.store = store
        self.channels = channels
        self.config = config
        self.clock = clock
        self.site = site
        # The clock says which stories are the last two days' for the news sitemap.
        self.site_pages = SitePublisher(store, config, self.site, self._write, clock)
        self.archives = Archives(store, config, self._write)
        self.pages = PageWriter(work_lock, config.output_temp_dir)
        self.pages_written = 0
        # Files `_write` could not write (path under the output → why).
        self.unwritten: dict[str, str] = {}

    def __enter__(self) -> Publisher:
        # A killed writer's temp files go before this run writes anything.
        remove_temp_files(self.config.output_temp_dir)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.pages.close()

    def write_pages(self, entries: list[Entry]) -> None:
        """The pages of the stories an ingest batch saved. They may still be being
        written on return, while the next batch is parsed; `publish_dirty` completes them."""
        self.site_pages.apply_changes(rendering=entries)
        self._write_pages(iter([entries]))

    def publish_dirty(
        self, progress: Progress | None = None, stop: Event | None = None
    ) -> PublishReport:
        """What an ingest changed: the dirty feeds, the dirty pages, the index.

        Feeds come first, so a `stop` between page batches still leaves them current.
        """
        pages = self._dirty_pages()
        if stop is not None:
            pages = itertools.takewhile(lambda _: not stop.is_set(), pages)
        return self._publish(
            self.store.dirty_feeds(), pages, self.store.dirty_page_count(), progress
        )

    def regenerate(
        self,
        category: str | None = None,
        all_pages: bool = False,
        progress: Progress | None = None,
    ) -> PublishReport:
        """Rebuild feeds whether dirty or not (output deleted, template or config changed).

        `category` is a slug or a category's name, as the operator knows it.
        """
        slugs = [self._slug_of(category)] if category else [ALL_NEWS, *self.store.category_slugs()]
        self.site_pages.prepare_regeneration(everything=all_pages)
        # Withdrawal notices are few: rewritten (if changed or missing) by every regeneration.
        with self.store.transaction():
            self.store.mark_all_notices_dirty()
            if all_pages:
                self.store.mark_archive_pages_dirty()
        if all_pages:
            return self._publish(
                slugs,
                self.store.entry_batches(BATCH_SIZE),
                self.store.article_count(),
                progress,
                regenerating=True,
            )
        self.archives.mark_missing()
        missing = self._missing_pages()
        pages = itertools.chain(self._dirty_pages(), self._entries_by_page_keys(missing))
        page_total = self.store.dirty_page_count() + len(missing)
        return self._publish(slugs, pages, page_total, progress, regenerating=True)

    def _slug_of(self, category: str) -> str:
        """Names are matched ignoring case, as typed on a command line."""
        categories = self.store.categories()
        for known in categories:
            if category in (known.slug, known.name) or category.casefold() == known.name.casefold():
                return known.slug
        if category == ALL_NEWS:
            return ALL_NEWS
        listed = ", ".join(f"{known.slug} ({known.name})" for known in categories)
        raise UnknownCategory(
            f"no category with slug or name {category!r}; known: {ALL_NEWS} (all news)"
            + (f", {listed}" if listed else "")
        )

    def _dirty_pages(self) -> Iterator[list[Entry]]:
        """In story id order, so that pages handed to the writer, still marked dirty
        until it reports them written, are not read again later in the same pass;
        those handed over before this pass are waited for first, and then the
        neighbours of stories saved since the last pass are marked."""
        self._record(self.pages.finish())
        self.site_pages.apply_changes()
        yield from self.store.dirty_page_batches(BATCH_SIZE)

    def _missing_pages(self) -> list[str]:
        """Pages gone from disk (say, the output was deleted) are rebuilt by a plain regen."""
        existing = {name.removesuffix(".html") for name in _listdir(self.config.articles_dir)}
        return [key for key in self.store.page_keys() if key not in existing]

    def _entries_by_page_keys(self, keys: list[str]) -> Iterator[list[Entry]]:
        for start in range(0, len(keys), BATCH_SIZE):
            yield self.store.entries_by_page_keys(keys[start : start + BATCH_SIZE])

    def _publish(
        self,
        slugs: list[str],
        pages: Iterator[list[Entry]],
        page_total: int,
        progress: Progress | None,
        regenerating: bool = False,
    ) -> PublishReport:
        report = PublishReport()
        # Before the feeds, so a browser never gets a feed whose stylesheet is missing.
        self._write(STYLESHEET_PATH, self.site.feed_stylesheet())
        for path, data in assets(self.config):
            self._write(path, data)
        categories = self.store.categories()
        names = {category.slug: category.name for category in categories}
        # The months' marks, up to date before the feeds are written; pages may be
        # in flight, so none is about to be rendered.
        self.site_pages.apply_changes(rendering=[])
        self.archives.retire_month_documents()
        self.archives.prepare(slugs, names)
        marked = Marked(
            self.store.dirty_months(), self.store.dirty_days(), self.store.dirty_archive_pages()
        )
        # Before the feeds that link to them.
        report.archives_written = self.archives.write_dirty_pages()
        for slug in slugs:
            self._publish_feed(slug, names.get(slug), report)
        self._write_pages(pages, page_total, progress)
        self._record(self.pages.finish())
        self._write_withdrawals()
        report.pages_written = self.pages_written
        self.site_pages.publish(slugs, categories, everything=regenerating)
        for feed_format in FEED_FORMATS:
            self._write(opml_path(feed_format), self.site.opml(categories, feed_format))
        self._settle_unwritten(slugs, marked)
        return report

    def _settle_unwritten(self, slugs: list[str], marked: Marked) -> None:
        """Record the files this publish could not write, for `feeder status`, and
        leave dirty every feed, month, day and archive page it took up, so the next
        run writes them again; then fail the run (the command exits 1), the rest
        being published."""
        with self.store.transaction():
            self.store.record_unwritten_files(self.unwritten, self.clock())
            if self.unwritten:
                self.store.mark_dirty(slugs)
                for month in marked.months:
                    self.store.mark_month_dirty(month)
                for day in marked.days:
                    self.store.mark_day_dirty(day)
                for page in marked.archive_pages:
                    self.store.mark_archive_page_dirty(page)
                self.store.mark_pages_sitemap_dirty()
        if self.unwritten:
            first, *others = self.unwritten.values()
            more = f"; {len(others)} more could not be written (`feeder status` lists them)"
            raise PublishError(f"{first}{more if others else ''}; every other file is published")

    def _publish_feed(self, slug: str, category: str | None, report: PublishReport) -> None:
        version = self.store.feed_version(slug)  # read first: a change after it keeps it dirty
        since = self.clock() - timedelta(days=self.config.tombstone_days)
        withdrawn = self.store.tombstones(None if slug == ALL_NEWS else slug, since)
        deleted = tuple(
            DeletedEntry(entry_id(self.config, gone.story_id), gone.at) for gone in withdrawn
        )
        rendered = self.archives.subscription(slug, category, hub_links(self.config), deleted)
        for feed_format, (data, kept) in rendered.items():
            relative = feed_path(slug, feed_format)
            if self._write(relative, data, feed_format, slug):
                report.feeds_written.append(relative)
                log.info("wrote %s (%d entries)", relative, kept)
        with self.store.transaction():
            self.store.mark_clean(slug, version)

    def _write_withdrawals(self) -> None:
        """Each newly withdrawn story's page becomes its notice (after the pages in
        flight, so none lands on top of it), and the markers both servers answer 410 by.

        A notice is written as article pages are, unannounced, so it gets no gzip
        copy: the page writer replaces it on a restore, and would leave its copy
        for nginx's gzip_static to serve in place of the restored story."""
        notices = self.store.notices_to_write()
        for withdrawal in notices:
            notice = self.site.withdrawal_notice(withdrawal.page_key, withdrawal.at)
            path = self.config.output_dir / article_path(withdrawal.page_key)
            write_if_changed(path, notice, temp_dir=self.config.output_temp_dir, durable=False)
        if notices:
            with self.store.transaction():
                self.store.mark_notices_written([withdrawal.story_id for withdrawal in notices])
        self._mark_gone(self.store.withdrawn_page_keys())

    def _mark_gone(self, page_keys: list[str]) -> None:
        """Both servers answer a page 410 Gone while its marker exists: one for each
        withdrawn story, none left for a restored one."""
        wanted = {gone_marker(key) for key in page_keys}
        folder = self.config.output_dir / GONE_FOLDER
        present = {(GONE_FOLDER / name).as_posix() for name in _listdir(folder)}
        if wanted - present:
            folder.mkdir(parents=True, exist_ok=True)
        for marker in sorted(wanted - present):
            self._write(marker, b"")
        for marker in sorted(present - wanted):
            (self.config.output_dir / marker).unlink(missing_ok=True)

    def _write(
        self,
        relative: str,
        data: bytes,
        feed_format: FeedFormat | None = None,
        slug: str | None = None,
        durable: bool = True,
    ) -> bool:
        """Replace one file if its bytes changed, and tell the channels whether it did;
        one that cannot be written is noted in `unwritten` and the publish goes on."""
        path = self.config.output_dir / relative
        try:
            written = write_if_changed(
                path, data, temp_dir=self.config.output_temp_dir, durable=durable
            )
        except PublishError as error:
            # One file that cannot be written (a name the filesystem refuses, a folder
            # in its place) must not keep every other one from being published; a
            # full disk or a read-only mount stops the run, in one line.
            if not error.this_file_only:
                raise
            log.error("%s", error)
            self.unwritten[relative] = str(error)
            return False
        url, media_type = self.config.url(relative), media_type_for(relative)
        event = FileWritten(relative, path, url, media_type, data, feed_format, slug, durable)
        (self.channels.file_written if written else self.channels.file_unchanged)(event)
        return written

    def _write_pages(
        self,
        batches: Iterator[list[Entry]],
        total: int = 0,
        progress: Progress | None = None,
    ) -> None:
        done = 0
        for batch in batches:
            neighbours = self.site_pages.neighbours(batch)
            stories: Stories = []
            pages: list[Page] = []
            size = 0
            for entry in batch:
                page = self.site.article(entry, neighbours[entry.story_id])
                pages.append((self.config.output_dir / article_path(entry.page_key), page))
                stories.append((entry.story_id, entry.revision))
                size += len(page)
                if size >= PAGE_BATCH_BYTES:
                    self._record(self.pages.write(stories, pages))
                    stories, pages, size = [], [], 0
            if pages:
                self._record(self.pages.write(stories, pages))
            done += len(batch)
            if progress:
                progress(done, total)

    def _record(self, batches: list[WrittenBatch]) -> None:
        for batch in batches:
            self.pages_written += batch.written
            with self.store.transaction():
                self.store.mark_pages_clean(batch.stories)


def _listdir(directory: Path) -> list[str]:
    try:
        return os.listdir(directory)
    except OSError:
        return []
