"""Writes the site's pages and sitemaps whose content changed, after the feeds.

Proportional to change: category pages only for the categories whose feeds
were rebuilt, month archives only where `feeder.store.site` marked them, the
month's article sitemap with the all-news month, the pages sitemap only when
a month or category appeared or went. The front page, the news sitemap and
robots.txt are small and rendered every run; like every file, they are
replaced only when their bytes change. A month is marked clean only after its
files are written, so a crash leaves it for the next run.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Protocol

from feeder.clock import Clock, utc_now
from feeder.config import Config
from feeder.http_rules import GZIP_SUFFIX
from feeder.model import Category, Entry
from feeder.site import NEWEST_HEADLINES, Site
from feeder.sitemaps import (
    NEWS_DAYS,
    NEWS_LIMIT,
    NEWS_SITEMAP,
    PAGES_SITEMAP,
    ROBOTS,
    SITEMAP_INDEX,
    articles_sitemap,
    articles_sitemap_path,
    news_sitemap,
    pages_sitemap,
    robots,
    sitemap_index,
)
from feeder.sitepaths import FRONT_PAGE, category_page_path, month_page_path
from feeder.slugs import ALL_NEWS
from feeder.store import Store
from feeder.store.site import Month, Neighbours


class Write(Protocol):
    """The publisher's: replaces a file under the output if its bytes changed, and
    tells the post-publish listeners (`feeder.events`)."""

    def __call__(self, relative: str, data: bytes, *, durable: bool = True) -> bool: ...


class SitePublisher:
    def __init__(
        self,
        store: Store,
        config: Config,
        site: Site,
        write: Write,
        clock: Clock = utc_now,
    ) -> None:
        self.store = store
        self.config = config
        self.site = site
        self.write = write
        self.clock = clock
        self.zone = config.timezone

    def apply_changes(self, rendering: list[Entry] | None = None) -> None:
        """Mark what the stories saved since the last call changed, before their pages
        are rendered (`rendering`, while earlier pages may be in flight) or the dirty
        pages are read (None: nothing in flight), as it marks their neighbours."""
        self.store.apply_changes(
            self.zone, None if rendering is None else [entry.story_id for entry in rendering]
        )

    def neighbours(self, entries: list[Entry]) -> dict[str, Neighbours]:
        return self.store.neighbours([entry.story_id for entry in entries])

    def prepare_regeneration(self, everything: bool) -> None:
        """Every month archive redone (`everything`), or those whose page is missing."""
        self.store.apply_changes(self.zone)
        with self.store.transaction():
            if everything:
                self.store.mark_all_months_dirty()
                return
            for month in self.store.all_months():
                if not (self.config.output_dir / month_page_path(month.slug, month.month)).exists():
                    self.store.mark_month_dirty(month)

    def publish(
        self, slugs: Iterable[str], categories: list[Category], everything: bool = False
    ) -> None:
        """`slugs`: the feeds rebuilt in this run, whose category pages follow them;
        `everything` (a regeneration) writes the sitemaps whether marked or not."""
        by_slug = {category.slug: category for category in categories}
        for slug in slugs:
            if slug in by_slug:
                self._write(category_page_path(slug), self._category_page(by_slug[slug]))
        months = self.store.dirty_months()
        for month in months:
            self._write_month(month, by_slug)
        if everything or any(month.slug == ALL_NEWS for month in months):
            self._write(SITEMAP_INDEX, sitemap_index(self.config, self.store.months(ALL_NEWS)))
        if everything or self.store.pages_sitemap_dirty():
            self._write(PAGES_SITEMAP, pages_sitemap(self.config, self._page_paths(categories)))
        with self.store.transaction():
            self.store.mark_months_clean(months)
            self.store.mark_pages_sitemap_clean()
        since = self.clock() - timedelta(days=NEWS_DAYS)
        self._write(
            NEWS_SITEMAP, news_sitemap(self.config, self.store.headlines_since(since, NEWS_LIMIT))
        )
        self._write(ROBOTS, robots(self.config))
        front = self.site.front(
            categories,
            self.store.newest_entries(None, NEWEST_HEADLINES),
            self.store.months(ALL_NEWS),
        )
        self.write(FRONT_PAGE, front)

    def _category_page(self, category: Category) -> bytes:
        return self.site.category(
            category,
            self.store.newest_entries(category.slug, NEWEST_HEADLINES),
            self.store.months(category.slug),
        )

    def _write_month(self, month: Month, categories: dict[str, Category]) -> None:
        paths = [month_page_path(month.slug, month.month)]
        if month.slug == ALL_NEWS:
            paths.append(articles_sitemap_path(month.month))
        if not month.stories:  # a correction moved its last story away
            for path in paths:
                page = self.config.output_dir / path
                page.unlink(missing_ok=True)
                # Its gzip copy too, or nginx's gzip_static would go on serving it.
                page.with_name(page.name + GZIP_SUFFIX).unlink(missing_ok=True)
            return
        headlines = self.store.month_headlines(month.slug, month.month, self.zone)
        earlier, later = self.store.month_neighbours(month.slug, month.month)
        category = categories.get(month.slug)
        name = category.name if category else None
        self._write(
            paths[0], self.site.month(month.slug, name, month.month, headlines, earlier, later)
        )
        if month.slug == ALL_NEWS:
            self._write(paths[1], articles_sitemap(self.config, headlines))

    def _page_paths(self, categories: list[Category]) -> list[str]:
        return [
            FRONT_PAGE,
            *(category_page_path(category.slug) for category in categories),
            *(month_page_path(month.slug, month.month) for month in self.store.all_months()),
        ]

    def _write(self, path: str, data: bytes) -> None:
        # Like article pages: many, and rebuilt from the database if lost.
        self.write(path, data, durable=False)
