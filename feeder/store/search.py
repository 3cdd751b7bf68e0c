"""The search index: an FTS5 table of stems, kept in the transaction of each story change.

Why this shape (docs/search.md):

- **Stems computed in Python, on the store's story-change seam.** Every query
  that publishes, corrects, withdraws or restores a story calls
  `story_changed` inside its transaction; just before that transaction
  commits (`stories_changed`), this mixin re-indexes or drops each story it
  changed, so the index commits or rolls back with the story, and a
  withdrawal leaves the results at the commit that takes it off the site.
  SQL triggers could not run the Snowball stemmer, and FTS5 tokenizers cannot
  be written in Python.
- **rowid = published time.** A row's rowid is its story's publication time in
  seconds, times 2^20, plus a counter for stories published in the same
  second, so "newest first" is FTS5 walking its doclists backwards and stopping
  after a page, and a date range is a rowid range: neither reads every match
  of a common word. `search_keys` maps a story to its row.
- **The category is a column** holding one token per slug, so a filter by
  category is part of the MATCH and is answered by the index too.
- **The body keeps a line per paragraph** (the place's first): the same
  tokens, and a results page weighs paragraphs and places marks by them
  without stemming again.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from feeder.errors import FeederError
from feeder.model import Category, Entry, StoryChange
from feeder.search.words import stems
from feeder.store.database import marks
from feeder.store.feeds import FeedRecords
from feeder.store.stories import StoryRecords

# Rows a second may hold: a rowid is the publication second shifted by this many bits.
_SECOND_BITS = 20
# SQLite virtual-machine steps between two looks at the clock (`budget`).
_STEPS_PER_CHECK = 2_000


class SearchTooCostly(FeederError):
    """A query ran past its time budget and was stopped."""


@dataclass(frozen=True)
class Hits:
    """One page of results: story ids in order, how many match (up to the count's
    limit), and the stems each story's title and (a line each) its place and
    paragraphs are indexed under."""

    story_ids: list[str]
    total: int
    title_stems: dict[str, str]
    body_stems: dict[str, list[str]]


@dataclass(frozen=True)
class IndexSize:
    stories: int
    bytes: int


def category_token(slug: str) -> str:
    """One index token per slug, exact: a slug's `-` would split it into words."""
    return "k" + slug.encode().hex()


def rowid_range(start: datetime | None, end: datetime | None) -> tuple[int, int]:
    """The rowids of stories published in [start, end)."""
    low = int(start.timestamp()) << _SECOND_BITS if start else 0
    high = (int(end.timestamp()) << _SECOND_BITS) - 1 if end else (1 << 62)
    return low, high


class SearchRecords(StoryRecords, FeedRecords):
    """The index and its queries; `search_enabled` False leaves it as it is
    (`[search] enabled`), for `feeder regen --search` to rebuild later."""

    search_enabled = True
    # categories() as of (data_version, total_changes), for `search_categories`.
    _categories: tuple[tuple[int, int], list[Category]] | None = None

    def stories_changed(self, changes: list[tuple[StoryChange, Entry]]) -> None:
        """Each changed story's row dropped and, unless withdrawn, written again as
        it now stands, once per transaction: FTS5 writes a segment at every
        savepoint, and ingest keeps each story in one."""
        super().stories_changed(changes)
        if not self.search_enabled:
            return
        latest = {entry.story_id: (change, entry) for change, entry in changes}
        self.connection.executemany(
            "DELETE FROM search_index WHERE rowid = "
            "(SELECT doc FROM search_keys WHERE story_id = ?)",
            [[story_id] for story_id in latest],
        )
        self.connection.executemany(
            "DELETE FROM search_keys WHERE story_id = ?", [[story_id] for story_id in latest]
        )
        _insert(
            self.connection,
            [entry for change, entry in latest.values() if change is not StoryChange.WITHDRAWN],
        )

    def rebuild_search_index(self, batch_size: int = 1000) -> int:
        """Every story indexed afresh, in one transaction; returns how many."""
        with self.transaction():
            self.connection.execute("DELETE FROM search_index")
            self.connection.execute("DELETE FROM search_keys")
            return index_archive(self.connection, self.entry_batches(batch_size))

    def search_categories(self) -> list[Category]:
        """`categories()`, read again only after a commit: every results page needs
        them for its form, and reading and parsing them cost as much as the search.
        SQLite's data_version changes at another connection's commit,
        total_changes at this one's."""
        version = (
            self.connection.execute("PRAGMA data_version").fetchone()[0],
            self.connection.total_changes,
        )
        if self._categories is None or self._categories[0] != version:
            self._categories = (version, self.categories())
        return self._categories[1]

    def search_size(self) -> IndexSize:
        """Stories in the index, and the bytes of its tables (dbstat when SQLite has it)."""
        (stories,) = self.connection.execute("SELECT COUNT(*) FROM search_keys").fetchone()
        try:
            (size,) = self.connection.execute(
                "SELECT COALESCE(SUM(pgsize), 0) FROM dbstat "
                "WHERE name LIKE 'search_index%' OR name LIKE 'search_keys%'"
            ).fetchone()
        except sqlite3.OperationalError:  # SQLite built without dbstat
            size = 0
        return IndexSize(int(stories), int(size))

    def search(
        self,
        match: str,
        rowids: tuple[int, int],
        by_rank: bool,
        offset: int,
        limit: int,
        budget_seconds: float,
        count_limit: int,
    ) -> Hits:
        """A page of stories matching `match` (built by feeder.search.query, never
        typed text), newest first or best first; SearchTooCostly past the budget.

        Matches are counted up to `count_limit`: a common word is in most of
        100,000 stories, and counting them all cost 50 times the page. The
        count and the page come from one MATCH (its rowids, in order), which
        halves the cost of a prefix or a phrase: FTS5 merges every word a
        prefix begins, and reads every position of a phrase's words."""
        order = "rank" if by_rank else "rowid DESC"
        with self._budget(budget_seconds):
            docs = [
                doc
                for (doc,) in self.connection.execute(
                    "SELECT rowid FROM search_index "
                    "WHERE search_index MATCH ? AND rowid BETWEEN ? AND ? "
                    f"ORDER BY {order} LIMIT ?",
                    [match, *rowids, max(count_limit, offset + limit)],
                )
            ]
            page = docs[offset : offset + limit]
            rows = {
                doc: (story_id, title, body)
                for doc, story_id, title, body in self.connection.execute(
                    "SELECT rowid, story_id, title, body FROM search_index "
                    f"WHERE rowid IN ({marks(page)})",
                    page,
                )
            }
        return Hits(
            [rows[doc][0] for doc in page],
            min(len(docs), count_limit),
            {story_id: title for story_id, title, _ in rows.values()},
            {story_id: body.split("\n") for story_id, _, body in rows.values()},
        )

    @contextmanager
    def _budget(self, seconds: float) -> Iterator[None]:
        """SQLite interrupts the query once `seconds` have passed. The error it then
        raises depends on where it stopped ("interrupted", "vtable constructor
        failed"), so whether the budget did it is remembered here."""
        deadline = time.monotonic() + seconds
        spent = False

        def past_deadline() -> bool:
            nonlocal spent
            spent = spent or time.monotonic() > deadline
            return spent

        self.connection.set_progress_handler(past_deadline, _STEPS_PER_CHECK)
        try:
            yield
        except sqlite3.OperationalError:
            if not spent:
                raise
            raise SearchTooCostly(f"the query took over {seconds:g} s") from None
        finally:
            self.connection.set_progress_handler(None, 0)


def index_archive(connection: sqlite3.Connection, batches: Iterable[list[Entry]]) -> int:
    """Index every story of `batches` into an empty index, then merge its segments
    into one (FTS5 'optimize'), so queries read one b-tree; returns how many."""
    count = 0
    for batch in batches:
        _insert(connection, batch)
        count += len(batch)
    connection.execute("INSERT INTO search_index(search_index) VALUES ('optimize')")
    return count


def _insert(connection: sqlite3.Connection, entries: list[Entry]) -> None:
    """Index `entries`, none of which is in the index, in one statement."""
    rows = []
    for entry in entries:
        second = int(entry.published.timestamp()) << _SECOND_BITS
        (taken,) = connection.execute(
            "SELECT MAX(doc) FROM search_keys WHERE doc BETWEEN ? AND ?",
            [second, second + (1 << _SECOND_BITS) - 1],
        ).fetchone()
        doc = second if taken is None else taken + 1
        connection.execute(
            "INSERT INTO search_keys (story_id, doc) VALUES (?, ?)", [entry.story_id, doc]
        )
        rows.append(
            [
                doc,
                entry.story_id,
                stems(entry.title),
                "\n".join(stems(part) for part in (entry.place, *entry.paragraphs)),
                category_token(entry.category_slug),
            ]
        )
    connection.executemany(
        "INSERT INTO search_index (rowid, story_id, title, body, category) VALUES (?, ?, ?, ?, ?)",
        rows,
    )
