"""Writes the site's pages and sitemaps whose content changed, after the feeds.

Proportional to change, and every file a new story rewrites is bounded by one
day's stories or a setting: category pages only for the categories whose feeds
were rebuilt; the day pages and month calendars `feeder.store.site` marked;
with each marked day of all news its sitemap and its year's sitemap index; the
archive indexes, the years' month sitemaps and the pages sitemap only when a
month appeared or went. The front page, the news sitemap, the sitemap index
and robots.txt are small and rendered every run; like every file, they are
replaced only when their bytes change. Marks are cleared only after the files
are written, so a crash leaves them for the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Protocol

from feeder.clock import Clock, utc_now
from feeder.config import Config
from feeder.model import Category, Day, Entry, Month, Neighbours
from feeder.paths import (
    FRONT_PAGE,
    GZIP_SUFFIX,
    archive_index_path,
    category_page_path,
    day_page_path,
    month_page_path,
)
from feeder.site.pages import NEWEST_HEADLINES, NEWEST_MONTHS, Site
from feeder.site.sitemaps import (
    NEWS_DAYS,
    NEWS_LIMIT,
    NEWS_SITEMAP,
    PAGES_SITEMAP,
    ROBOTS,
    SITEMAP_INDEX,
    SITEMAPS_DIR,
    day_sitemap,
    day_sitemap_path,
    news_sitemap,
    pages_sitemap,
    robots,
    sitemap_index,
    year_months_sitemap,
    year_months_sitemap_path,
    year_sitemap,
    year_sitemap_path,
)
from feeder.slugs import ALL_NEWS
from feeder.store import Store

log = logging.getLogger(__name__)
# The month sitemaps of feeder before day sitemaps: each listed a whole month.
_MONTH_SITEMAPS = "articles-????-??.xml"


class Write(Protocol):
    """The publisher's: replaces a file under the output if its bytes changed, and
    tells the channels (`feeder.channels`)."""

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
        """Every archive page redone (`everything`), or those whose file is missing."""
        self.store.apply_changes(self.zone)
        with self.store.transaction():
            if everything:
                self.store.mark_all_months_dirty()
                self.store.mark_all_days_dirty()
                return
            for month in self.store.all_months():
                if self._missing(month_page_path(month.slug, month.month)):
                    self.store.mark_month_dirty(month)
            for day in self.store.all_days():
                if self._missing(*self._day_paths(day)):
                    self.store.mark_day_dirty(day)

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
        days = self.store.dirty_days()
        for day in days:
            self._write_day(day, by_slug)
        years = {day.day[:4] for day in days if day.slug == ALL_NEWS}
        if everything:
            years.update(self.store.years())
        for year in sorted(years):
            self._write_year(year)
        if everything or self.store.pages_sitemap_dirty():
            self._write_archive_indexes(by_slug)
        with self.store.transaction():
            self.store.mark_months_clean(months)
            self.store.mark_days_clean(days)
            self.store.mark_pages_sitemap_clean()
        since = self.clock() - timedelta(days=NEWS_DAYS)
        self._write(
            NEWS_SITEMAP, news_sitemap(self.config, self.store.headlines_since(since, NEWS_LIMIT))
        )
        self._write(SITEMAP_INDEX, sitemap_index(self.config))
        self._write(ROBOTS, robots(self.config, self.store.years()))
        front = self.site.front(
            categories,
            self.store.newest_entries(None, NEWEST_HEADLINES),
            self.store.months(ALL_NEWS, NEWEST_MONTHS),
        )
        self.write(FRONT_PAGE, front)

    def _category_page(self, category: Category) -> bytes:
        return self.site.category(
            category,
            self.store.newest_entries(category.slug, NEWEST_HEADLINES),
            self.store.months(category.slug, NEWEST_MONTHS),
        )

    def _write_month(self, month: Month, categories: dict[str, Category]) -> None:
        """A month's calendar: at most 31 lines, whatever the month holds."""
        path = month_page_path(month.slug, month.month)
        if not month.stories:  # a correction moved its last story away
            self._remove(path)
            return
        days = self.store.days_of_month(month.slug, month.month)
        earlier, later = self.store.month_neighbours(month.slug, month.month)
        name = _name(categories, month.slug)
        self._write(path, self.site.month(month.slug, name, month.month, days, earlier, later))

    def _write_day(self, day: Day, categories: dict[str, Category]) -> None:
        """A day's page and, for all news, its sitemap: one day's stories each."""
        paths = self._day_paths(day)
        if not day.stories:
            for path in paths:
                self._remove(path)
            return
        headlines = self.store.day_headlines(day.slug, day.day, self.zone)
        earlier, later = self.store.day_neighbours(day.slug, day.day)
        name = _name(categories, day.slug)
        self._write(paths[0], self.site.day(day.slug, name, day.day, headlines, earlier, later))
        if day.slug == ALL_NEWS:
            day_pages = self.store.days_on(day.day)
            self._write(paths[1], day_sitemap(self.config, headlines, day_pages))

    def _write_year(self, year: str) -> None:
        """A year's sitemap index (one entry per day) and its month pages' sitemap."""
        paths = (year_sitemap_path(year), year_months_sitemap_path(year))
        days = self.store.days_of_year(year)
        if not days:
            for path in paths:
                self._remove(path)
            return
        self._write(paths[0], year_sitemap(self.config, year, days))
        self._write(paths[1], year_months_sitemap(self.config, self.store.months_of_year(year)))

    def _write_archive_indexes(self, categories: dict[str, Category]) -> None:
        """Each feed's list of every month, and the pages sitemap that lists them;
        the month sitemaps of earlier versions go."""
        indexes = []
        for slug in (ALL_NEWS, *categories):
            path = archive_index_path(slug)
            months = self.store.months(slug)
            if months:
                name = _name(categories, slug)
                self._write(path, self.site.archive_index(slug, name, months))
                indexes.append(path)
            else:
                self._remove(path)
        pages = [
            FRONT_PAGE,
            *(category_page_path(slug) for slug in categories),
            *indexes,
        ]
        self._write(PAGES_SITEMAP, pages_sitemap(self.config, pages))
        for stray in sorted((self.config.output_dir / SITEMAPS_DIR).glob(_MONTH_SITEMAPS)):
            self._remove(stray.relative_to(self.config.output_dir).as_posix())
            log.info("removed %s: replaced by day sitemaps", stray)

    def _day_paths(self, day: Day) -> list[str]:
        """A day's page, and for all news its sitemap."""
        page = day_page_path(day.slug, day.day)
        return [page, day_sitemap_path(day.day)] if day.slug == ALL_NEWS else [page]

    def _missing(self, *paths: str) -> bool:
        return any(not (self.config.output_dir / path).exists() for path in paths)

    def _remove(self, path: str) -> None:
        """A page or sitemap left without stories, and its gzip copy, or nginx's
        gzip_static would go on serving it."""
        file = self.config.output_dir / path
        file.unlink(missing_ok=True)
        file.with_name(file.name + GZIP_SUFFIX).unlink(missing_ok=True)

    def _write(self, path: str, data: bytes) -> None:
        # Like article pages: many, and rebuilt from the database if lost.
        self.write(path, data, durable=False)


def _name(categories: dict[str, Category], slug: str) -> str | None:
    """A category's name; None for all news."""
    category = categories.get(slug)
    return category.name if category else None
