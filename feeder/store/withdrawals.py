"""Withdrawn stories: taken out of the archive whole, kept here for a restore.

A withdrawal moves the story's row out of `articles` in one transaction, so
every feed, page list, archive and sitemap, all read from `articles`, loses it
at once, and the site's change records (a trigger on delete) mark its months
and neighbours for rewriting. The row is kept as it was, so `restore` puts the
story back exactly, and its record says who withdrew it, when and why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from feeder.model import StoryChange
from feeder.store.database import Database, from_utc_text, marks, utc_text
from feeder.store.stories import ARTICLE_COLUMNS, stored_entry


@dataclass(frozen=True)
class Withdrawal:
    story_id: str
    page_key: str
    category_slug: str
    title: str
    by: str
    at: datetime
    reason: str


@dataclass(frozen=True)
class Tombstone:
    """A withdrawn story as a feed announces its deletion."""

    story_id: str
    at: datetime


class WithdrawalRecords(Database):
    def withdraw(self, story_id: str, by: str, reason: str, now: datetime) -> Withdrawal | None:
        """Call in a transaction; None when no such story is published. The caller
        updates the category's feed (`update_feeds`) in the same transaction."""
        columns = ", ".join(ARTICLE_COLUMNS)
        row = self.connection.execute(
            f"SELECT {columns} FROM articles WHERE story_id = ?", [story_id]
        ).fetchone()
        if row is None:
            return None
        stored = dict(zip(ARTICLE_COLUMNS, row, strict=True))
        self.connection.execute(
            "INSERT INTO withdrawals (story_id, page_key, category_slug, title, withdrawn_by, "
            "withdrawn_at, reason, article, notice_dirty) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)",
            [
                story_id,
                stored["page_key"],
                stored["category_slug"],
                stored["title"],
                by,
                utc_text(now),
                reason,
                json.dumps(stored, ensure_ascii=False),
            ],
        )
        self.connection.execute("DELETE FROM articles WHERE story_id = ?", [story_id])
        self.story_changed(StoryChange.WITHDRAWN, stored_entry(stored))
        return self.withdrawal(story_id)

    def restore(self, story_id: str) -> Withdrawal | None:
        """Call in a transaction: the story back as it was withdrawn, its page to be
        rewritten, and the files that delivered it read again by the next ingest
        (a correction delivered meanwhile then applies). None if not withdrawn."""
        withdrawal = self.withdrawal(story_id)
        if withdrawal is None:
            return None
        (article,) = self.connection.execute(
            "SELECT article FROM withdrawals WHERE story_id = ?", [story_id]
        ).fetchone()
        stored = {**json.loads(article), "page_dirty": 1}
        self.connection.execute(
            f"INSERT INTO articles ({', '.join(ARTICLE_COLUMNS)}) "
            f"VALUES ({marks(ARTICLE_COLUMNS)})",
            [stored[column] for column in ARTICLE_COLUMNS],
        )
        self.connection.execute("DELETE FROM withdrawals WHERE story_id = ?", [story_id])
        self.connection.execute("DELETE FROM files WHERE story_id = ?", [story_id])
        self.story_changed(StoryChange.RESTORED, stored_entry(stored))
        return withdrawal

    def withdrawal(self, story_id: str) -> Withdrawal | None:
        row = self.connection.execute(
            f"SELECT {_COLUMNS} FROM withdrawals WHERE story_id = ?", [story_id]
        ).fetchone()
        return _withdrawal(row) if row else None

    def is_withdrawn(self, story_id: str) -> bool:
        return (
            self.connection.execute(
                "SELECT 1 FROM withdrawals WHERE story_id = ?", [story_id]
            ).fetchone()
            is not None
        )

    def withdrawals(self) -> list[Withdrawal]:
        rows = self.connection.execute(
            f"SELECT {_COLUMNS} FROM withdrawals ORDER BY withdrawn_at DESC, story_id"
        )
        return [_withdrawal(row) for row in rows]

    def tombstones(self, category_slug: str | None, since: datetime) -> list[Tombstone]:
        """Stories of a category (None: all) withdrawn after `since`, newest first."""
        where, parameters = (
            ("AND category_slug = ?", [category_slug]) if category_slug else ("", [])
        )
        rows = self.connection.execute(
            f"SELECT story_id, withdrawn_at FROM withdrawals WHERE withdrawn_at > ? {where} "
            "ORDER BY withdrawn_at DESC, story_id",
            [utc_text(since), *parameters],
        )
        return [Tombstone(story_id, from_utc_text(at)) for story_id, at in rows]

    def notices_to_write(self) -> list[Withdrawal]:
        rows = self.connection.execute(
            f"SELECT {_COLUMNS} FROM withdrawals WHERE notice_dirty = 1 ORDER BY story_id"
        )
        return [_withdrawal(row) for row in rows]

    def mark_notices_written(self, story_ids: list[str]) -> None:
        self.connection.executemany(
            "UPDATE withdrawals SET notice_dirty = 0 WHERE story_id = ?",
            [(story_id,) for story_id in story_ids],
        )

    def mark_all_notices_dirty(self) -> None:
        self.connection.execute("UPDATE withdrawals SET notice_dirty = 1")

    def withdrawn_page_keys(self) -> list[str]:
        return [key for (key,) in self.connection.execute("SELECT page_key FROM withdrawals")]


_COLUMNS = "story_id, page_key, category_slug, title, withdrawn_by, withdrawn_at, reason"


def _withdrawal(row: tuple[str, str, str, str, str, str, str]) -> Withdrawal:
    story_id, page_key, slug, title, by, at, reason = row
    return Withdrawal(story_id, page_key, slug, title, by, from_utc_text(at), reason)
