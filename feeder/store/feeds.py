"""Feeds to rebuild, and the categories with their counts and newest dates.

A feed is marked dirty in the transaction of the change that needs it rebuilt,
and each mark bumps its version; a publish clears the mark only for the version
it read before writing, so a change that lands while it writes is not lost.
"""

from __future__ import annotations

from collections.abc import Iterable

from feeder.model import Category
from feeder.slugs import ALL_NEWS, display_name
from feeder.store.database import Database, from_utc_text


class FeedRecords(Database):
    def mark_dirty(self, slugs: Iterable[str]) -> None:
        for slug in slugs:
            self.connection.execute(
                "INSERT INTO feeds (slug, dirty, version) VALUES (?, 1, 1) "
                "ON CONFLICT(slug) DO UPDATE SET dirty = 1, version = version + 1",
                [slug],
            )

    def dirty_feeds(self) -> list[str]:
        return [
            slug
            for (slug,) in self.connection.execute(
                "SELECT slug FROM feeds WHERE dirty = 1 ORDER BY slug"
            )
        ]

    def feed_version(self, slug: str) -> int:
        """Read before a feed is written, and given back to `mark_clean` after."""
        row = self.connection.execute("SELECT version FROM feeds WHERE slug = ?", [slug]).fetchone()
        return int(row[0]) if row else 0

    def mark_clean(self, slug: str, version: int) -> None:
        """The feed was written as of `version`; marked since, it stays dirty."""
        self.connection.execute(
            "UPDATE feeds SET dirty = 0 WHERE slug = ? AND version = ?", [slug, version]
        )

    def category_slugs(self) -> list[str]:
        return [
            slug
            for (slug,) in self.connection.execute(
                "SELECT slug FROM feeds WHERE name IS NOT NULL ORDER BY slug"
            )
        ]

    def update_feeds(self, names: dict[str, str | None], added: dict[str, int]) -> None:
        """After articles were saved or moved: each touched category's feed takes its
        name (None keeps it; of two names, `display_name` chooses), its count changes by `added` and its newest date is
        looked up; it and the all-news feed are marked dirty.

        Called once per batch, not per article; the newest date comes from the
        (category_slug, published) index, so this costs the same at any archive size.
        """
        if not names:
            return
        for slug, name in names.items():
            known = self.connection.execute(
                "SELECT name FROM feeds WHERE slug = ?", [slug]
            ).fetchone()
            if name is not None and known and known[0] is not None:
                name = display_name(name, known[0])
            self.connection.execute(
                "INSERT INTO feeds (slug, name, dirty, version, articles, newest) "
                "VALUES (?1, ?2, 1, 1, ?3, "
                "(SELECT MAX(published) FROM articles WHERE category_slug = ?1)) "
                "ON CONFLICT(slug) DO UPDATE SET name = coalesce(excluded.name, name), dirty = 1, "
                "version = version + 1, articles = articles + excluded.articles, "
                "newest = excluded.newest",
                [slug, name, added.get(slug, 0)],
            )
        self.mark_dirty([ALL_NEWS])

    def categories(self) -> list[Category]:
        """Every category that has a feed, with its article count and newest date."""
        rows = self.connection.execute(
            "SELECT slug, name, articles, newest FROM feeds WHERE name IS NOT NULL ORDER BY name"
        )
        return [
            Category(slug, name, count, from_utc_text(newest) if newest else None)
            for slug, name, count, newest in rows
        ]
