"""RFC 5005 archived feeds: every feed's whole archive, one document per month.

The subscription feed `feeds/<slug>.<suffix>` holds the newest `max_items`
stories and links `prev-archive` to the newest month document. The month
documents `feeds/archive/<slug>/YYYY-MM.<suffix>` carry `fh:archive`, hold every
story published that month (in the site's time zone), newest first, and link
`prev-archive` and `next-archive` to the nearest months that have stories and
`current` to the subscription feed. So walking `prev-archive` from the
subscription feed reaches every stored story exactly once, in the month
documents; the subscription feed's own entries are among them (RFC 5005
allows this overlap: a reader keeps the newest copy of an entry).

The months are the site's month archives' (`feeder.store.site`), and so are the
marks saying which to rewrite: the months whose stories changed, and the
neighbours of a month that gained its first story or lost its last. Month
documents are written before the site's month pages, which clear the marks,
so a crash in between leaves them for the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace

from feeder.config import Config
from feeder.feeds import FeedFormat, FeedLink, feed_location, feed_model
from feeder.formats import FEED_FORMATS
from feeder.http_rules import GZIP_SUFFIX
from feeder.sitepaths import month_page_path
from feeder.slugs import ALL_NEWS
from feeder.store import Store
from feeder.store.site import Month, month_bounds

log = logging.getLogger(__name__)

ARCHIVE_DIR = "feeds/archive"
# Replaces a file (relative to the output) of a feed format and slug if its bytes
# changed, telling `feeder.events`; returns whether it did (the Publisher's).
Writer = Callable[[str, bytes, FeedFormat, str], bool]


def month_location(slug: str, month: str) -> str:
    """A month document's path without suffix, under the output directory and the base URL."""
    return f"{ARCHIVE_DIR}/{slug}/{month}"


class Archives:
    """Writes the month documents of every feed; the caller holds the work lock.

    A publish writes the marked months that have no documents yet (`write_new`),
    then the subscription feeds, which may link to them (`subscription_links`),
    then the other marked months (`write_rest`): a feed never links to a missing
    document, and the subscription feeds need not wait for a busy month's.
    """

    def __init__(self, store: Store, config: Config, write: Writer) -> None:
        self.store = store
        self.config = config
        self.write = write
        self.zone = config.timezone

    def subscription_links(self, slug: str) -> tuple[FeedLink, ...]:
        """What the subscription feed links to: its newest month document."""
        months = self.store.months(slug)
        if not months:
            return ()
        return (self._link("prev-archive", month_location(slug, months[0].month)),)

    def write_new(self, months: list[Month], names: Mapping[str, str]) -> list[str]:
        """The marked months with stories whose documents are not all on disk."""
        return self._write_months([month for month in months if self._missing(month)], names)

    def write_rest(self, months: list[Month], names: Mapping[str, str]) -> list[str]:
        """The other marked months; then, in the feeds they belong to, the documents
        of months without stories (emptied by a correction, or of another time zone)."""
        written = self._write_months([month for month in months if not self._missing(month)], names)
        self.remove_strays({month.slug for month in months})
        return written

    def mark_missing(self) -> None:
        """For a regeneration: months whose documents are gone (say, `feeds/` was deleted)."""
        with self.store.transaction():
            for month in self.store.all_months():
                if self._missing(month):
                    self.store.mark_month_dirty(month)

    def remove_strays(self, slugs: Iterable[str]) -> None:
        for slug in sorted(slugs):
            kept = {month.month for month in self.store.months(slug)}
            folder = self.config.output_dir / ARCHIVE_DIR / slug
            suffixes = {f".{feed_format.suffix}" for feed_format in FEED_FORMATS}
            for path in sorted(folder.glob("[!.]*")):
                if path.suffix in suffixes and path.stem not in kept:
                    path.unlink()
                    # The precompressed copy publishing wrote beside it (`feeder.precompress`).
                    path.with_name(path.name + GZIP_SUFFIX).unlink(missing_ok=True)
                    log.info("removed %s: no story of %s is in it", path, path.stem)

    def _write_months(self, months: list[Month], names: Mapping[str, str]) -> list[str]:
        """Month by month, all news' document and its categories' one after the other."""
        return [
            written
            for month in sorted(months, key=lambda month: (month.month, month.slug))
            if month.stories
            for written in self._write_month(month, names.get(month.slug))
        ]

    def _write_month(self, month: Month, category: str | None) -> list[str]:
        slug = month.slug
        entries = self.store.entries_between(
            None if slug == ALL_NEWS else slug, *month_bounds(month.month, self.zone)
        )
        earlier, later = self.store.month_neighbours(slug, month.month)
        links = (
            *(
                self._link(rel, month_location(slug, neighbour))
                for rel, neighbour in (("prev-archive", earlier), ("next-archive", later))
                if neighbour is not None
            ),
            self._link("current", feed_location(slug)),
        )
        subscription = feed_model(self.config, slug, category, entries, links=links)
        model = replace(
            subscription,
            title=f"{subscription.title} — {month.month}",
            location=self.config.url(month_location(slug, month.month)),
            alternate_url=self.config.url(month_page_path(slug, month.month)),
            archive=True,
        )
        written = []
        for feed_format in FEED_FORMATS:
            relative = f"{month_location(slug, month.month)}.{feed_format.suffix}"
            if self.write(relative, feed_format.render(model), feed_format, slug):
                written.append(relative)
                log.info("wrote %s (%d entries)", relative, len(entries))
        return written

    def _link(self, rel: str, location: str) -> FeedLink:
        return FeedLink(rel, self.config.url(location), same_format=True)

    def _missing(self, month: Month) -> bool:
        location = self.config.output_dir / month_location(month.slug, month.month)
        return any(
            not location.with_name(f"{location.name}.{feed_format.suffix}").exists()
            for feed_format in FEED_FORMATS
        )
