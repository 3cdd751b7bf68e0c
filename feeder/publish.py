"""Write what changed to the output directory, atomically.

Readers and the HTTP server only ever see a complete old file or a complete
new one: each file is written to a hidden temp file beside it and moved into
place with os.replace. A file whose bytes did not change is not touched, so
its mtime (and so its HTTP validators) stay put. Feeds to rebuild are marked
dirty in the database in the same transaction as the change that caused them,
so a crash or a failed write here is finished by the next run.

What one publish costs does not grow with the archive: it reads the dirty
rows, the newest entries of the dirty feeds and the per-category counts the
store keeps, and never lists the articles folder (a file per article). That
folder is listed only by `regenerate`, which is also when temp files a killed
writer left there are removed.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from threading import Event
from typing import BinaryIO

from feeder.config import Config
from feeder.errors import FeederError
from feeder.feeds import STYLESHEET_PATH, FeedFormat, article_path, feed_path, render_feed
from feeder.model import Entry
from feeder.site import Site
from feeder.slugs import ALL_NEWS
from feeder.store import Store

log = logging.getLogger(__name__)

TEMP_SUFFIX = ".tmp"
# Article pages are read, written and marked clean in groups of this size.
PAGE_BATCH = 500

# Called with (article pages done, pages to do) after each batch.
Progress = Callable[[int, int], None]


class PublishError(FeederError):
    """A file could not be written; the message names it and says what to check."""


class UnknownCategory(FeederError):
    """A category slug was asked for that has no feed."""


@dataclass
class PublishReport:
    feeds_written: list[str] = field(default_factory=list)
    pages_written: int = 0


def write_if_changed(path: Path, data: bytes, *, durable: bool = True) -> bool:
    """Replace `path` atomically with `data` unless it already holds exactly that."""
    try:
        if path.read_bytes() == data:
            return False
    except OSError:
        pass  # missing or unreadable: write it anew, and report if that fails
    # One writer at a time (the work lock), so one temp name per file is enough, and a
    # temp file a killed writer left is overwritten and moved into place when the file,
    # still dirty, is written again: no folder of pages needs listing to clean it up.
    temp = path.with_name(f".{path.name}{TEMP_SUFFIX}")
    try:
        with _create(temp) as temp_file:
            temp_file.write(data)
            if durable:
                temp_file.flush()
                os.fsync(temp_file.fileno())
        os.replace(temp, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise PublishError(
            f"cannot write {path}: {error.strerror}; check free space and that "
            f"{path.parent} is a writable folder; the next run retries"
        ) from error
    return True


def _create(path: Path) -> BinaryIO:
    """Open `path` for writing, making its folder only when it is missing (not a
    mkdir and a stat before each of thousands of pages)."""
    try:
        return path.open("wb")
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("wb")


def remove_stale_temp_files(config: Config) -> int:
    """Temp files left by a killed writer; call only while holding the work lock."""
    return _remove_temp_files([config.output_dir, config.feeds_dir, config.articles_dir])


def _remove_temp_files(directories: Iterable[Path]) -> int:
    removed = 0
    for directory in directories:
        for name in _listdir(directory):
            if name.startswith(".") and name.endswith(TEMP_SUFFIX):
                (directory / name).unlink(missing_ok=True)
                removed += 1
    return removed


class Publisher:
    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        self.config = config
        self.site = Site(config)

    def publish_dirty(
        self, progress: Progress | None = None, stop: Event | None = None
    ) -> PublishReport:
        """What an ingest changed: the dirty feeds, the dirty pages, the index.

        Feeds come first, so a `stop` between page batches still leaves them current.
        """
        # Pages are left alone: listing a folder of one file per article would make
        # every ingest cost more as the archive grows. regenerate() cleans them.
        _remove_temp_files([self.config.output_dir, self.config.feeds_dir])
        pages = self._dirty_pages()
        if stop is not None:
            pages = itertools.takewhile(lambda _: not stop.is_set(), pages)
        return self._publish(
            self.store.dirty_feeds(), pages, self.store.dirty_page_count(), progress
        )

    def regenerate(
        self,
        category_slug: str | None = None,
        all_pages: bool = False,
        progress: Progress | None = None,
    ) -> PublishReport:
        """Rebuild feeds whether dirty or not (output deleted, template or config changed)."""
        known = [ALL_NEWS, *self.store.category_slugs()]
        if category_slug and category_slug not in known:
            raise UnknownCategory(
                f"no category with slug {category_slug!r}; known slugs: {', '.join(known)}"
            )
        slugs = [category_slug] if category_slug else known
        remove_stale_temp_files(self.config)
        if all_pages:
            return self._publish(
                slugs, self.store.entry_batches(PAGE_BATCH), self.store.article_count(), progress
            )
        missing = self._missing_pages()
        pages = itertools.chain(self._dirty_pages(), self._entries_by_page_keys(missing))
        return self._publish(slugs, pages, self.store.dirty_page_count() + len(missing), progress)

    def _dirty_pages(self) -> Iterator[list[Entry]]:
        # Each batch is marked clean before the next is read, so this ends.
        return iter(lambda: self.store.dirty_pages(PAGE_BATCH), [])

    def _missing_pages(self) -> list[str]:
        """Pages gone from disk (say, the output was deleted) are rebuilt by a plain regen."""
        existing = {name.removesuffix(".html") for name in _listdir(self.config.articles_dir)}
        return [key for key in self.store.page_keys() if key not in existing]

    def _entries_by_page_keys(self, keys: list[str]) -> Iterator[list[Entry]]:
        for start in range(0, len(keys), PAGE_BATCH):
            yield self.store.entries_by_page_keys(keys[start : start + PAGE_BATCH])

    def _publish(
        self,
        slugs: list[str],
        pages: Iterator[list[Entry]],
        page_total: int,
        progress: Progress | None,
    ) -> PublishReport:
        report = PublishReport()
        # Before the feeds, so a browser never gets a feed whose stylesheet is missing.
        write_if_changed(self.config.output_dir / STYLESHEET_PATH, self.site.feed_stylesheet())
        categories = self.store.categories()
        names = {category.slug: category.name for category in categories}
        for slug in slugs:
            self._publish_feed(slug, names.get(slug), report)
        done = 0
        for batch in pages:
            self._publish_pages(batch, report)
            done += len(batch)
            if progress:
                progress(done, page_total)
        output = self.config.output_dir
        total = sum(category.count for category in categories)
        write_if_changed(output / "index.html", self.site.index(categories, total))
        write_if_changed(output / "feeds.opml", self.site.opml(categories))
        return report

    def _publish_feed(self, slug: str, category: str | None, report: PublishReport) -> None:
        entries = self.store.newest_entries(
            None if slug == ALL_NEWS else slug, self.config.max_items
        )
        for feed_format in FeedFormat:
            relative = feed_path(slug, feed_format)
            data = render_feed(self.config, slug, category, entries, feed_format)
            if write_if_changed(self.config.output_dir / relative, data):
                report.feeds_written.append(relative)
                log.info("wrote %s (%d entries)", relative, len(entries))
        with self.store.transaction():
            self.store.mark_clean(slug)

    def _publish_pages(self, batch: list[Entry], report: PublishReport) -> None:
        for entry in batch:
            path = self.config.output_dir / article_path(entry.page_key)
            # Pages are many and cheap to rebuild: atomic, but not fsynced one by one.
            if write_if_changed(path, self.site.article(entry), durable=False):
                report.pages_written += 1
        with self.store.transaction():
            self.store.mark_pages_clean([entry.story_id for entry in batch])


def _listdir(directory: Path) -> list[str]:
    try:
        return os.listdir(directory)
    except OSError:
        return []
