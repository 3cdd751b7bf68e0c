"""RFC 5005 archived feeds: every feed's whole history in fixed pages that stay put.

A feed's stories are numbered in the order they joined it (`feeder.store.
archive_pages`). Once `page_size` numbers have joined after the newest page,
they are sealed into the next page, `feeds/pages/<slug>/<generation>-<n>.<suffix>`,
numbered from the oldest. A sealed page keeps its set of entries: a correction
re-renders it with the same entries, a withdrawal leaves an RFC 6721 tombstone
in the story's place, a restore puts the story back, a move to another
category takes the story out (it joins the other category's newest entries).

The subscription document `feeds/<slug>.<suffix>` links `prev-archive` to the
newest page and holds every story no page holds yet, then the most recently
joined or changed others up to `max_items`: a correction of an old story and a
story delivered late with an old date are in it, and so in the WebSub push. It
stays within `max_feed_bytes` by sealing early, never by leaving out a story
that no page holds.

So an RFC 5005 §4.2 client, which walks `prev-archive` until it meets a page it
has processed and never fetches one twice, misses no story: every story joined
after its last poll is in the subscription document or in a page sealed since.
The old month documents' URLs (`feeds/archive/…`) answer 410 Gone.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from feeder.config import Config
from feeder.feeds.budget import render_within
from feeder.feeds.entries import entry_id, feed_model
from feeder.feeds.formats import FEED_FORMATS
from feeder.feeds.model import DeletedEntry, FeedFormat, FeedLink, FeedModel, feed_location
from feeder.model import Entry
from feeder.paths import category_page_path, day_page_path
from feeder.slugs import ALL_NEWS
from feeder.store import Store
from feeder.store.archive_pages import ArchivePage

log = logging.getLogger(__name__)

PAGES_DIR = "feeds/pages"
# Where the month documents of earlier releases were; their URLs answer 410 Gone.
RETIRED_ARCHIVE_DIR = "feeds/archive"


class Writer(Protocol):
    """The publisher's: replaces a file (relative to the output) of a feed format and
    slug if its bytes changed, telling the channels; returns whether it did."""

    def __call__(
        self, relative: str, data: bytes, feed_format: FeedFormat, slug: str, *, durable: bool
    ) -> bool: ...


def page_location(page: ArchivePage) -> str:
    """A page's path without suffix, under the output directory and the base URL."""
    return f"{PAGES_DIR}/{page.slug}/{page.generation}-{page.number}"


class Archives:
    """Seals and writes the archive pages of every feed, and says what each
    subscription document holds; the caller holds the work lock.

    A publish applies the change log and seals what has filled (`prepare`), writes
    the pages marked since (`write_dirty_pages`, oldest first, so a link never
    leads to a page not yet written), then each subscription document
    (`subscription`), which may seal early and write that page before it.
    """

    def __init__(self, store: Store, config: Config, write: Writer) -> None:
        self.store = store
        self.config = config
        self.write = write
        self.names: Mapping[str, str] = {}

    def prepare(self, slugs: list[str], names: Mapping[str, str]) -> None:
        """`names`: each category's name by slug, for the documents' titles."""
        self.names = names
        self.store.apply_feed_changes()
        for slug in slugs:
            while self.store.unsealed(slug) >= self.config.archive_page_size:
                self._seal(slug, self.config.archive_page_size)

    def write_dirty_pages(self) -> list[str]:
        """Every marked page, oldest first, without an fsync each: they are made
        durable together, then marked written, so a crash before that leaves them
        marked (one fsync per file took a tenth of a bulk ingest's publish)."""
        pages = self.store.dirty_archive_pages()
        if not pages:
            return []
        written = [path for page in pages for path in self._write_page(page)]
        if written:
            os.sync()
        with self.store.transaction():
            for page in pages:
                self.store.mark_archive_page_clean(page)
        return written

    def mark_missing(self) -> None:
        """For a regeneration: pages whose files are gone (say, `feeds/` was deleted)."""
        with self.store.transaction():
            for slug in [ALL_NEWS, *self.store.category_slugs()]:
                for page in self.store.archive_pages(slug):
                    if self._missing(page):
                        self.store.mark_archive_page_dirty(page)

    def retire_month_documents(self) -> None:
        """The month documents of earlier releases go (both servers answer 410 Gone)."""
        folder = self.config.output_dir / RETIRED_ARCHIVE_DIR
        if folder.is_dir():
            shutil.rmtree(folder)
            log.info("removed %s: month documents are replaced by archive pages", folder)

    def subscription(
        self,
        slug: str,
        category: str | None,
        links: tuple[FeedLink, ...],
        deleted: tuple[DeletedEntry, ...],
    ) -> dict[FeedFormat, tuple[bytes, int]]:
        """Each format's subscription document and how many entries it holds. A
        document over `max_feed_bytes` leaves out the others first; if the stories
        no page holds still do not fit, the oldest of them are sealed early."""
        while True:
            unsealed, others = self.store.subscription_members(slug, self.config.max_items)
            newest = self.store.newest_page(slug)
            page_links = (
                () if newest is None else (self._link("prev-archive", page_location(newest)),)
            )
            model = feed_model(
                self.config,
                slug,
                category,
                self._by_date(self.store.entries_by_story_ids([*unsealed, *others])),
                links=(*links, *page_links),
                deleted=deleted,
            )
            # Left out first: the others, least recently changed first.
            by_id = {item.id: item for item in model.items}
            ranked = [by_id[entry_id(self.config, story_id)] for story_id in [*unsealed, *others]]
            rendered = {
                feed_format: render_within(feed_format, model, self.config.max_feed_bytes, ranked)
                for feed_format in FEED_FORMATS
            }
            fitting = min(kept for _, kept in rendered.values())
            if fitting >= len(unsealed):
                return rendered
            self._seal_through(slug, unsealed[fitting])
            self.write_dirty_pages()

    def _seal_through(self, slug: str, story_id: str) -> None:
        """Seal early, up to and including `story_id`'s place in the feed."""
        count = self.store.unsealed_through(slug, story_id)
        log.info("%s: sealing %d entries early, to stay within max_feed_bytes", slug, count)
        self._seal(slug, count)

    def _seal(self, slug: str, count: int) -> None:
        generation = self.store.archive_generation()
        number = self.store.next_page_number(slug)
        if not self._missing(ArchivePage(slug, number, generation, 0, 0), every=False):
            # A page this database never sealed is on disk: it was restored from a
            # backup older than the output, whose next pages readers may have seen.
            previous, generation = generation, self.store.start_new_generation()
            log.warning(
                "%s: page %d of generation %s exists but this database never sealed it "
                "(restored from a backup?); new pages are sealed in generation %s",
                slug,
                number,
                previous,
                generation,
            )
        with self.store.transaction():
            page = self.store.seal(slug, count, generation)
        log.info("sealed %s (%d entries)", page_location(page), count)

    def _write_page(self, page: ArchivePage) -> list[str]:
        members = self.store.page_members(page)
        present = [member.story_id for member in members if not member.withdrawn]
        entries = self._by_date(self.store.entries_by_story_ids(present))
        deleted = tuple(
            DeletedEntry(entry_id(self.config, withdrawal.story_id), withdrawal.at)
            for member in members
            if member.withdrawn and (withdrawal := self.store.withdrawal(member.story_id))
        )
        model = self._page_model(page, self.names.get(page.slug), entries, deleted)
        written = []
        for feed_format in FEED_FORMATS:
            relative = f"{page_location(page)}.{feed_format.suffix}"
            data = feed_format.render(model)
            if self.write(relative, data, feed_format, page.slug, durable=False):
                written.append(relative)
                log.info("wrote %s (%d entries)", relative, len(entries))
        return written

    def _page_model(
        self,
        page: ArchivePage,
        category: str | None,
        entries: list[Entry],
        deleted: tuple[DeletedEntry, ...],
    ) -> FeedModel:
        earlier = self.store.archive_page(page.slug, page.number - 1)
        later = self.store.archive_page(page.slug, page.number + 1)
        links = (
            *(
                self._link(rel, page_location(neighbour))
                for rel, neighbour in (("prev-archive", earlier), ("next-archive", later))
                if neighbour is not None
            ),
            self._link("current", feed_location(page.slug)),
        )
        subscription = feed_model(
            self.config, page.slug, category, entries, links=links, deleted=deleted
        )
        return replace(
            subscription,
            title=f"{subscription.title} — {self._span(page, entries)}",
            location=self.config.url(page_location(page)),
            alternate_url=self.config.url(self._alternate(page.slug, entries)),
            archive=True,
        )

    @staticmethod
    def _by_date(entries: list[Entry]) -> list[Entry]:
        """Documents list their entries newest first by dateline, as readers expect;
        which entries a document holds is the join order's business alone."""
        return sorted(entries, key=lambda entry: (entry.published, entry.story_id), reverse=True)

    def _span(self, page: ArchivePage, entries: list[Entry]) -> str:
        """The local dates of the page's stories, for people choosing a page."""
        days = sorted({self._day(entry.published) for entry in entries})
        if not days:
            return f"#{page.number}"
        return days[0] if len(days) == 1 else f"{days[0]} – {days[-1]}"

    def _alternate(self, slug: str, entries: list[Entry]) -> str:
        """The site's page of the day of the newest story the page holds."""
        if not entries:
            return category_page_path(slug)
        newest = max(entry.published for entry in entries)
        return day_page_path(slug, self._day(newest))

    def _day(self, moment: datetime) -> str:
        return moment.astimezone(self.config.timezone).date().isoformat()

    def _link(self, rel: str, location: str) -> FeedLink:
        return FeedLink(rel, self.config.url(location), same_format=True)

    def _missing(self, page: ArchivePage, every: bool = True) -> bool:
        """Whether any of the page's files (`every`) or all of them are missing."""
        location = self.config.output_dir / page_location(page)
        missing = [
            not location.with_name(f"{location.name}.{feed_format.suffix}").exists()
            for feed_format in FEED_FORMATS
        ]
        return any(missing) if every else all(missing)
