"""Stories in the archive: saving them, and reading them for feeds and pages."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from feeder.model import Article, Entry, StoryChange
from feeder.store.database import Database, chunks, from_utc_text, marks, utc_text

# Built once: json.dumps with options builds a new encoder on every call.
_to_json = json.JSONEncoder(ensure_ascii=False).encode


@dataclass(frozen=True)
class StoredStory:
    """What ingest needs to know about a story already in the archive."""

    sha256: str
    category_slug: str
    story_date: str
    published: datetime
    updated: datetime
    revision: int


class StoryRecords(Database):
    def story(self, story_id: str) -> StoredStory | None:
        row = self.connection.execute(
            "SELECT sha256, category_slug, story_date, published, updated, revision "
            "FROM articles WHERE story_id = ?",
            [story_id],
        ).fetchone()
        if row is None:
            return None
        sha256, slug, story_date, published, updated, revision = row
        return StoredStory(
            sha256, slug, story_date, from_utc_text(published), from_utc_text(updated), revision
        )

    def story_with_content(self, sha256: str) -> str | None:
        """The first story published with this content; a correction can give a second
        story the same content, and the report should not depend on the row order."""
        row = self.connection.execute(
            "SELECT story_id FROM articles WHERE sha256 = ? ORDER BY published, story_id LIMIT 1",
            [sha256],
        ).fetchone()
        return row[0] if row else None

    def save_article(
        self,
        article: Article,
        *,
        page_key: str,
        category_slug: str,
        published: datetime,
        updated: datetime,
        revision: int,
    ) -> Entry:
        """Insert or correct a story, marking its page for rewriting; returns the
        entry as stored, for writing that page without reading it back.

        Its feeds are the caller's to update, once per batch (`update_feeds`).
        """
        published_text, updated_text = utc_text(published), utc_text(updated)
        # Plain SQL rather than sqlite-utils' upsert(): it re-reads the table's
        # schema on every call, which dominated bulk ingest.
        self.connection.execute(
            f"INSERT OR REPLACE INTO articles ({', '.join(ARTICLE_COLUMNS)}) "
            f"VALUES ({marks(ARTICLE_COLUMNS)})",
            [
                article.story_id,
                page_key,
                article.source_name,
                article.title,
                article.place,
                article.agency,
                article.date.isoformat(),
                _to_json(article.paragraphs),
                article.category,
                category_slug,
                _to_json(article.teasers),
                article.sha256,
                published_text,
                updated_text,
                revision,
                1,
            ],
        )
        entry = Entry(
            story_id=article.story_id,
            page_key=page_key,
            title=article.title,
            place=article.place,
            agency=article.agency,
            paragraphs=article.paragraphs,
            category=article.category,
            category_slug=category_slug,
            published=from_utc_text(published_text),
            updated=from_utc_text(updated_text),
            revision=revision,
        )
        self.story_changed(StoryChange.PUBLISHED if revision == 1 else StoryChange.CORRECTED, entry)
        return entry

    def newest_entries(self, category_slug: str | None, limit: int) -> list[Entry]:
        """Newest first; the story id breaks ties so the order never wobbles."""
        where, parameters = _category_filter(category_slug)
        return self._entries(
            f"SELECT {_ENTRY_COLUMNS} FROM articles WHERE {where} "
            "ORDER BY published DESC, story_id DESC LIMIT ?",
            [*parameters, limit],
        )

    def dirty_page_batches(self, size: int) -> Iterator[list[Entry]]:
        """Stories whose page is to be written, in story id order; a page handed on
        and still dirty while the next batch is read is not read again."""
        return self._batches_by_story_id("page_dirty = 1", size)

    def dirty_page_count(self) -> int:
        return int(
            self.connection.execute(
                "SELECT COUNT(*) FROM articles WHERE page_dirty = 1"
            ).fetchone()[0]
        )

    def entry_batches(self, size: int) -> Iterator[list[Entry]]:
        """The whole archive, a batch at a time."""
        return self._batches_by_story_id("1", size)

    def page_keys(self) -> list[str]:
        return [key for (key,) in self.connection.execute("SELECT page_key FROM articles")]

    def entries_by_page_keys(self, keys: list[str]) -> list[Entry]:
        return self._entries(
            f"SELECT {_ENTRY_COLUMNS} FROM articles WHERE page_key IN ({marks(keys)})", keys
        )

    def entries_by_story_ids(self, story_ids: list[str]) -> list[Entry]:
        """In the order given."""
        found: dict[str, Entry] = {}
        for chunk in chunks(story_ids):
            for entry in self._entries(
                f"SELECT {_ENTRY_COLUMNS} FROM articles WHERE story_id IN ({marks(chunk)})", chunk
            ):
                found[entry.story_id] = entry
        return [found[story_id] for story_id in story_ids if story_id in found]

    def mark_pages_clean(self, pages: Iterable[tuple[str, int]]) -> None:
        """(story id, revision) of pages written; a story corrected since keeps its page dirty."""
        self.connection.executemany(
            "UPDATE articles SET page_dirty = 0 WHERE story_id = ? AND revision = ?", pages
        )

    def mark_all_pages_dirty(self) -> None:
        """Every page is to be rewritten: a setting baked into all of them changed."""
        self.connection.execute("UPDATE articles SET page_dirty = 1 WHERE page_dirty = 0")

    def category_names(self) -> list[str]:
        """Every category name a stored story came with (several may share a slug)."""
        return [
            name
            for (name,) in self.connection.execute(
                "SELECT DISTINCT category FROM articles ORDER BY category"
            )
        ]

    def article_count(self) -> int:
        return int(self.connection.execute("SELECT COUNT(*) FROM articles").fetchone()[0])

    def _batches_by_story_id(self, where: str, size: int) -> Iterator[list[Entry]]:
        """Keyset pagination: each batch is a new query after the last story id seen,
        so no cursor stays open between batches, and rows changed meanwhile (pages
        marked clean, stories added) are read as they are now."""
        last = ""
        while batch := self._entries(
            f"SELECT {_ENTRY_COLUMNS} FROM articles WHERE {where} AND story_id > ? "
            "ORDER BY story_id LIMIT ?",
            [last, size],
        ):
            yield batch
            last = batch[-1].story_id

    def _entries(self, sql: str, parameters: Sequence[Any]) -> list[Entry]:
        return [_entry(row) for row in self.connection.execute(sql, parameters)]


ARTICLE_COLUMNS = (
    "story_id",
    "page_key",
    "source_name",
    "title",
    "place",
    "agency",
    "story_date",
    "paragraphs",
    "category",
    "category_slug",
    "teasers",
    "sha256",
    "published",
    "updated",
    "revision",
    "page_dirty",
)
_ENTRY_COLUMNS = (
    "story_id, page_key, title, place, agency, paragraphs, category, category_slug, "
    "published, updated, revision"
)


def stored_entry(stored: dict[str, Any]) -> Entry:
    """The entry of an `articles` row read as a column → value mapping."""
    return _entry(tuple(stored[column] for column in _ENTRY_COLUMNS.split(", ")))


def _category_filter(category_slug: str | None) -> tuple[str, list[Any]]:
    """The condition for one category's stories, or for all news (None)."""
    return ("category_slug = ?", [category_slug]) if category_slug else ("1", [])


def _entry(row: tuple[Any, ...]) -> Entry:
    (
        story_id,
        page_key,
        title,
        place,
        agency,
        paragraphs,
        category,
        slug,
        published,
        updated,
        revision,
    ) = row
    return Entry(
        story_id=story_id,
        page_key=page_key,
        title=title,
        place=place,
        agency=agency,
        paragraphs=tuple(json.loads(paragraphs)),
        category=category,
        category_slug=slug,
        published=from_utc_text(published),
        updated=from_utc_text(updated),
        revision=revision,
    )
