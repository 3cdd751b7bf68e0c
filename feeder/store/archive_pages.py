"""Each feed's stories in the order they joined it, and the archive pages of that order.

A feed's history (RFC 5005 §4) is kept as a sequence: a story gets the next
number of a feed when it joins it (a new story, a late one, one moved into its
category), and keeps it while it is corrected, withdrawn and restored; numbers
are never reused. An archive page is a fixed range of that sequence, sealed
once the range has filled; from then on its set of entries changes only by the
exceptions docs/feeds.md lists (a correction re-renders it, a withdrawal leaves
a tombstone in its place, a restore puts the story back, a move takes the story
out). Neither the dateline nor a rowid that VACUUM may renumber enters into it.

Triggers on `articles` log every save and removal in the saving transaction
(schema v10); `apply_feed_changes` turns the log into joins and marks, so a
crash between a save and a publish leaves the log for the next run.

A page's URL carries the generation it was sealed in. A database restored from
a backup does not know the pages sealed after the backup was taken, which
readers may have seen: it seals its next pages in a new generation, so no URL
is ever filled twice with different stories (`start_new_generation`).
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass

from feeder.slugs import ALL_NEWS
from feeder.store.database import Database, chunks, marks

# A story's state in one feed.
PRESENT = "in"
WITHDRAWN = "gone"  # shown as a tombstone in its page; a restore brings it back
MOVED_OUT = "left"  # moved to another category; it joined that one's sequence

_GENERATION = "generation"
_CHANGES = "changes"
_RESTORED_COPY = "restored_copy"


@dataclass(frozen=True)
class ArchivePage:
    """Sequence numbers `first`..`last` of feed `slug`, sealed as page `number`."""

    slug: str
    number: int
    generation: str
    first: int
    last: int


@dataclass(frozen=True)
class PageMember:
    """A story a page holds; `withdrawn` ones are announced as deleted there."""

    story_id: str
    withdrawn: bool


class ArchivePageRecords(Database):
    # --- the change log --------------------------------------------------------------

    def apply_feed_changes(self) -> None:
        """Join, change, move and remove stories in their feeds as the log says, in
        the order they were saved; each page holding a changed story is marked.

        A thousand records at a time, worked out in memory and written in a few
        statements: one statement per record made a bulk ingest's run 4.6 s
        longer at 10,000 stories."""
        while rows := self.connection.execute(
            "SELECT id, story_id, old_slug, new_slug FROM feed_changes ORDER BY id LIMIT 1000"
        ).fetchall():
            with self.transaction():
                batch = _ChangeBatch(self.connection, [row[1] for row in rows])
                for _, story_id, old_slug, new_slug in rows:
                    batch.apply(story_id, old_slug, new_slug)
                batch.write()
                self.connection.execute("DELETE FROM feed_changes WHERE id <= ?", [rows[-1][0]])

    # --- sealing -----------------------------------------------------------------------

    def unsealed(self, slug: str) -> int:
        """How many sequence numbers of the feed no page holds yet."""
        return self._joined(slug) - self._sealed(slug)

    def seal(self, slug: str, count: int, generation: str) -> ArchivePage:
        """Call in a transaction: the oldest `count` unsealed numbers become the next
        page, and the page before it is marked, as it gains a `next-archive` link."""
        first = self._sealed(slug) + 1
        number = self.next_page_number(slug)
        self.connection.execute(
            "INSERT INTO feed_pages (slug, number, generation, first_seq, last_seq, dirty) "
            "VALUES (?, ?, ?, ?, ?, 1)",
            [slug, number, generation, first, first + count - 1],
        )
        self.connection.execute(
            "UPDATE feed_pages SET dirty = 1 WHERE slug = ? AND number = ?", [slug, number - 1]
        )
        return ArchivePage(slug, number, generation, first, first + count - 1)

    def next_page_number(self, slug: str) -> int:
        (number,) = self.connection.execute(
            "SELECT coalesce(max(number), 0) + 1 FROM feed_pages WHERE slug = ?", [slug]
        ).fetchone()
        return int(number)

    def _joined(self, slug: str) -> int:
        row = self.connection.execute(
            "SELECT joined FROM feed_sequences WHERE slug = ?", [slug]
        ).fetchone()
        return int(row[0]) if row else 0

    def _sealed(self, slug: str) -> int:
        (last,) = self.connection.execute(
            "SELECT coalesce(max(last_seq), 0) FROM feed_pages WHERE slug = ?", [slug]
        ).fetchone()
        return int(last)

    # --- generations ---------------------------------------------------------------------

    def archive_generation(self) -> str:
        """The generation new pages are sealed in; a restored backup starts a new one."""
        if self._archive_state(_RESTORED_COPY) is not None:
            self.start_new_generation()
        return str(self._archive_state(_GENERATION))

    def start_new_generation(self) -> str:
        generation = secrets.token_hex(4)
        with self.transaction():
            self._set_archive_state(_GENERATION, generation)
            self.connection.execute("DELETE FROM archive_state WHERE key = ?", [_RESTORED_COPY])
        return generation

    def _archive_state(self, key: str) -> str | None:
        row = self.connection.execute(
            "SELECT value FROM archive_state WHERE key = ?", [key]
        ).fetchone()
        return str(row[0]) if row else None

    def _set_archive_state(self, key: str, value: str) -> None:
        self.connection.execute(
            "INSERT INTO archive_state (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )

    # --- reading -------------------------------------------------------------------------

    def subscription_members(self, slug: str, max_items: int) -> tuple[list[str], list[str]]:
        """What the subscription document holds: every present story no page holds
        (newest joined first), and the most recently joined or changed others (most
        recent first) up to `max_items` stories in all."""
        sealed = self._sealed(slug)
        unsealed = [
            story_id
            for (story_id,) in self.connection.execute(
                "SELECT story_id FROM feed_entries WHERE slug = ? AND seq > ? AND state = ? "
                "ORDER BY seq DESC",
                [slug, sealed, PRESENT],
            )
        ]
        room = max(max_items - len(unsealed), 0)
        # Read through the partial index of present stories by their last change,
        # skipping the unsealed ones here: the state is written out, not bound, and
        # no condition on `seq` is given, or SQLite scans and sorts all news'
        # 100,000 rows instead (12 ms).
        rows = self.connection.execute(
            f"SELECT story_id, seq FROM feed_entries WHERE slug = ? AND state = '{PRESENT}' "
            "ORDER BY changed DESC LIMIT ?",
            [slug, room + len(unsealed)],
        )
        others = [story_id for story_id, seq in rows if seq <= sealed][:room]
        return unsealed, others

    def unsealed_through(self, slug: str, story_id: str) -> int:
        """How many numbers a page sealed up to and including `story_id`'s would hold."""
        (seq,) = self.connection.execute(
            "SELECT seq FROM feed_entries WHERE slug = ? AND story_id = ? AND state = ?",
            [slug, story_id, PRESENT],
        ).fetchone()
        return int(seq) - self._sealed(slug)

    def newest_page(self, slug: str) -> ArchivePage | None:
        return self._page("WHERE slug = ? ORDER BY number DESC LIMIT 1", [slug])

    def archive_page(self, slug: str, number: int) -> ArchivePage | None:
        return self._page("WHERE slug = ? AND number = ?", [slug, number])

    def page_members(self, page: ArchivePage) -> list[PageMember]:
        """Newest joined first, as the subscription document orders them."""
        rows = self.connection.execute(
            "SELECT story_id, state FROM feed_entries WHERE slug = ? AND seq BETWEEN ? AND ? "
            "AND state IN (?, ?) ORDER BY seq DESC",
            [page.slug, page.first, page.last, PRESENT, WITHDRAWN],
        )
        return [PageMember(story_id, state == WITHDRAWN) for story_id, state in rows]

    def dirty_archive_pages(self) -> list[ArchivePage]:
        """Oldest first in each feed, so a page's older neighbour is written before it."""
        return self._pages("WHERE dirty = 1 ORDER BY slug, number", [])

    def archive_pages(self, slug: str) -> list[ArchivePage]:
        return self._pages("WHERE slug = ? ORDER BY number", [slug])

    def mark_archive_page_clean(self, page: ArchivePage) -> None:
        self.connection.execute(
            "UPDATE feed_pages SET dirty = 0 WHERE slug = ? AND number = ?",
            [page.slug, page.number],
        )

    def mark_archive_page_dirty(self, page: ArchivePage) -> None:
        self.connection.execute(
            "UPDATE feed_pages SET dirty = 1 WHERE slug = ? AND number = ?",
            [page.slug, page.number],
        )

    def mark_archive_pages_dirty(self, slug: str | None = None) -> None:
        """Every page (of one feed): a setting they carry changed, or they are missing."""
        where, parameters = ("WHERE slug = ?", [slug]) if slug else ("", [])
        self.connection.execute(f"UPDATE feed_pages SET dirty = 1 {where}", parameters)

    def _page(self, where: str, parameters: list[object]) -> ArchivePage | None:
        pages = self._pages(where, parameters)
        return pages[0] if pages else None

    def _pages(self, where: str, parameters: list[object]) -> list[ArchivePage]:
        rows = self.connection.execute(
            f"SELECT slug, number, generation, first_seq, last_seq FROM feed_pages {where}",
            parameters,
        )
        return [ArchivePage(*row) for row in rows]


class _ChangeBatch:
    """Change records applied in memory against the rows of the stories they name,
    then written at once. A feed's place of a story is its latest row that is
    present or withdrawn; a row moved out is history."""

    def __init__(self, connection: sqlite3.Connection, story_ids: list[str]) -> None:
        self.connection = connection
        self.places: dict[tuple[str, str], tuple[int, str]] = {}  # (story, slug) -> (seq, state)
        for chunk in chunks(sorted(set(story_ids))):
            for slug, seq, story_id, state in connection.execute(
                "SELECT slug, seq, story_id, state FROM feed_entries "
                f"WHERE story_id IN ({marks(chunk)}) AND state IN (?, ?) "
                "ORDER BY seq",
                [*chunk, PRESENT, WITHDRAWN],
            ):
                self.places[story_id, slug] = (seq, state)
        (changes,) = connection.execute(
            "SELECT coalesce(CAST(max(value) AS INTEGER), 0) FROM archive_state WHERE key = ?",
            [_CHANGES],
        ).fetchone()
        self.change = int(changes)
        self.joined: dict[str, int] = {}
        self.rows: dict[tuple[str, int], list[object]] = {}  # (slug, seq) -> state, changed, story
        self.new: set[tuple[str, int]] = set()

    def apply(self, story_id: str, old_slug: str | None, new_slug: str | None) -> None:
        self.change += 1
        if new_slug is None:  # withdrawn
            for slug in (str(old_slug), ALL_NEWS):
                self._leave(slug, story_id, WITHDRAWN)
            return
        if old_slug is not None and old_slug != new_slug:
            self._leave(old_slug, story_id, MOVED_OUT)
        for slug in (new_slug, ALL_NEWS):
            self._stay_or_join(slug, story_id)

    def _leave(self, slug: str, story_id: str, state: str) -> None:
        place = self.places.get((story_id, slug))
        if place is None or place[1] != PRESENT:
            return
        self._set(slug, place[0], story_id, state)
        if state == MOVED_OUT:
            del self.places[story_id, slug]
        else:
            self.places[story_id, slug] = (place[0], state)

    def _stay_or_join(self, slug: str, story_id: str) -> None:
        """A story already in the feed (or withdrawn from it) keeps its place; a
        story new to the feed takes its next number."""
        place = self.places.get((story_id, slug))
        if place is None:
            seq = self._joined(slug) + 1
            self.joined[slug] = seq
            self.new.add((slug, seq))
        else:
            seq = place[0]
        self._set(slug, seq, story_id, PRESENT)
        self.places[story_id, slug] = (seq, PRESENT)

    def _set(self, slug: str, seq: int, story_id: str, state: str) -> None:
        self.rows[slug, seq] = [state, self.change, story_id]

    def _joined(self, slug: str) -> int:
        if slug not in self.joined:
            row = self.connection.execute(
                "SELECT joined FROM feed_sequences WHERE slug = ?", [slug]
            ).fetchone()
            self.joined[slug] = int(row[0]) if row else 0
        return self.joined[slug]

    def write(self) -> None:
        self.connection.executemany(
            "INSERT INTO feed_entries (slug, seq, story_id, changed, state) VALUES (?, ?, ?, ?, ?)",
            [
                (slug, seq, story, changed, state)
                for (slug, seq), (state, changed, story) in self.rows.items()
                if (slug, seq) in self.new
            ],
        )
        changed = [key for key in self.rows if key not in self.new]
        self.connection.executemany(
            "UPDATE feed_entries SET state = ?, changed = ? WHERE slug = ? AND seq = ?",
            [(self.rows[key][0], self.rows[key][1], *key) for key in changed],
        )
        # The page holding a number: the first whose last number is not below it.
        self.connection.executemany(
            "UPDATE feed_pages SET dirty = 1 WHERE slug = ?1 AND number = (SELECT number "
            "FROM feed_pages WHERE slug = ?1 AND last_seq >= ?2 ORDER BY last_seq LIMIT 1) "
            "AND first_seq <= ?2",
            changed,
        )
        self.connection.executemany(
            "INSERT INTO feed_sequences (slug, joined) VALUES (?, ?) "
            "ON CONFLICT (slug) DO UPDATE SET joined = excluded.joined",
            list(self.joined.items()),
        )
        self.connection.execute(
            "INSERT OR REPLACE INTO archive_state (key, value) VALUES (?, ?)",
            [_CHANGES, str(self.change)],
        )


def mark_restored_copy(connection: sqlite3.Connection) -> None:
    """For `feeder.backup`, in the copy: once restored, it seals its next pages in a
    new generation, since the live database may have sealed pages after it."""
    connection.execute(
        "INSERT OR REPLACE INTO archive_state (key, value) VALUES (?, '1')", [_RESTORED_COPY]
    )
