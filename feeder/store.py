"""SQLite via sqlite-utils: schema, migrations and every query feeder makes.

One database file in WAL mode so readers (status, the server, regeneration)
never wait for the writer, with short `BEGIN IMMEDIATE` write transactions so
two processes never deadlock upgrading a read lock. sqlite-utils builds and
migrates the schema; every query is plain SQL on the sqlite3 connection, so a
run that migrates nothing never imports sqlite-utils (a sixth of start-up).
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from feeder.errors import FeederError
from feeder.model import Article, Category, Entry, Rejection
from feeder.slugs import ALL_NEWS

if TYPE_CHECKING:
    import sqlite_utils

BUSY_TIMEOUT_SECONDS = 30.0
# Page cache in KiB (SQLite's default is 2 MB): room for the indexes a bulk
# ingest updates at random places, so they are not re-read for every insert.
CACHE_KIB = 16 * 1024
# WAL pages between automatic checkpoints (SQLite's default is 1,000, about a
# batch of articles). Each checkpoint fsyncs; at 10,000 (40 MB of WAL) a bulk
# ingest spends a third less time committing, and readers are not slowed.
CHECKPOINT_PAGES = 10_000


# Names looked up with one query, well under SQLite's limit on parameters.
NAMES_PER_QUERY = 500

# Built once: json.dumps with options builds a new encoder on every call.
_to_json = json.JSONEncoder(ensure_ascii=False).encode


class StoreError(FeederError):
    """The database cannot be opened or used; the message says which file and why."""


class DatabaseBusy(StoreError):
    """Another process held the database's write lock for longer than the busy timeout."""


@dataclass(frozen=True)
class StoredStory:
    """What ingest needs to know about a story already in the archive."""

    story_id: str
    sha256: str
    category_slug: str
    story_date: str
    published: datetime
    updated: datetime
    revision: int


@dataclass(frozen=True)
class StoredReject:
    name: str
    reason: str
    message: str
    first_seen: datetime
    last_seen: datetime


def utc_text(moment: datetime) -> str:
    """Timestamps are stored as UTC ISO 8601 text, which sorts in time order."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def from_utc_text(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _create_schema_v1(db: sqlite_utils.Database) -> None:
    db.table("articles").create(
        {
            "story_id": str,
            "page_key": str,
            "source_name": str,
            "title": str,
            "place": str,
            "agency": str,
            "story_date": str,
            "paragraphs": str,
            "category": str,
            "category_slug": str,
            "teasers": str,
            "sha256": str,
            "published": str,
            "updated": str,
            "revision": int,
            "page_dirty": int,
        },
        pk="story_id",
        not_null={"page_key", "title", "category_slug", "sha256", "published", "updated"},
    )
    db.table("articles").create_index(["page_key"], unique=True)
    db.table("articles").create_index(["sha256"])
    db.execute(
        "CREATE INDEX articles_category_newest ON articles(category_slug, published DESC, story_id DESC)"
    )
    db.execute("CREATE INDEX articles_newest ON articles(published DESC, story_id DESC)")
    db.execute("CREATE INDEX articles_page_dirty ON articles(page_dirty) WHERE page_dirty = 1")
    db.table("files").create(
        {"name": str, "size": int, "mtime_ns": int, "sha256": str, "outcome": str, "story_id": str},
        pk="name",
    )
    db.table("rejects").create(
        {
            "name": str,
            "sha256": str,
            "reason": str,
            "message": str,
            "first_seen": str,
            "last_seen": str,
        },
        pk="name",
    )
    db.table("feeds").create({"slug": str, "name": str, "dirty": int}, pk="slug")
    db.table("runs").create(
        {
            "id": int,
            "job": str,
            "started": str,
            "duration": float,
            "counts": str,
            "error": str,
        },
        pk="id",
    )
    db.table("runs").create_index(["job", "started"])


def _count_articles_per_feed_v2(db: sqlite_utils.Database) -> None:
    """Each feed keeps its category's article count and newest date, so the index
    page costs the same at any archive size instead of a GROUP BY over all articles."""
    db.table("feeds").add_column("articles", int, not_null_default=0)
    db.table("feeds").add_column("newest", str)
    db.execute(
        "UPDATE feeds SET articles = (SELECT COUNT(*) FROM articles "
        "WHERE articles.category_slug = feeds.slug), newest = (SELECT MAX(published) "
        "FROM articles WHERE articles.category_slug = feeds.slug)"
    )


def _dirty_pages_by_story_id_v3(db: sqlite_utils.Database) -> None:
    """Dirty pages are read in story id order, so a pass over them can go on while
    earlier batches are still being written and not yet marked clean."""
    db.execute("DROP INDEX articles_page_dirty")
    db.execute("CREATE INDEX articles_page_dirty ON articles(story_id) WHERE page_dirty = 1")


# Each entry upgrades the schema by one version; append, never edit a released one.
MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _create_schema_v1,
    _count_articles_per_feed_v2,
    _dirty_pages_by_story_id_v3,
]


class Store:
    def __init__(self, path: Path, busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.connection = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
            self.connection.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL never corrupts; a power cut can only lose the last commits.
            self.connection.execute("PRAGMA synchronous=NORMAL")
            self.connection.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
            self.connection.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_PAGES}")
            self._migrate()
        except (OSError, sqlite3.Error) as error:
            raise StoreError(f"cannot open database {path}: {error}") from error

    @cached_property
    def db(self) -> sqlite_utils.Database:
        """sqlite-utils on the same connection, for schema work; imported only when used."""
        import sqlite_utils

        return sqlite_utils.Database(self.connection)

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction that takes the write lock up front, so it cannot deadlock."""
        try:
            self.connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                raise
            # feeder's own processes take turns under the work lock, so this is another program.
            raise DatabaseBusy(
                f"database {self.path} is locked: another program has held its write lock for "
                f"over {self.busy_timeout:g} s; this run stopped, and the next one picks up what it "
                "did not store; if it repeats, stop what holds it (an sqlite3 shell, a backup job)"
            ) from None
        try:
            yield
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

    def _migrate(self) -> None:
        """Upgrade in one transaction that reads the version too, so two processes
        opening a new database at once cannot both run a migration."""
        if self._user_version() == len(MIGRATIONS):
            return
        with self.transaction():
            version = self._user_version()
            if version > len(MIGRATIONS):
                raise StoreError(
                    f"database {self.path} has schema version {version}, newer than this feeder "
                    f"({len(MIGRATIONS)}); upgrade feeder"
                )
            for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
                migration(self.db)
                self.connection.execute(f"PRAGMA user_version = {number}")

    def _user_version(self) -> int:
        return int(self.connection.execute("PRAGMA user_version").fetchone()[0])

    # --- files seen in the inbox -------------------------------------------------

    def recorded_files(self, names: list[str] | None = None) -> Iterator[tuple[str, int, int]]:
        """(name, size, mtime_ns) of every file seen in the inbox, or of those of
        `names` (sorted) that were seen, in name order.

        Plain tuples straight from the cursor, read as the caller walks them: a
        rescan compares every file in the inbox. Python orders str as SQLite orders
        UTF-8 text, by code point.
        """
        if names is None:
            return self.connection.execute("SELECT name, size, mtime_ns FROM files ORDER BY name")
        chunks = (
            names[start : start + NAMES_PER_QUERY]
            for start in range(0, len(names), NAMES_PER_QUERY)
        )
        return itertools.chain.from_iterable(
            self.connection.execute(
                f"SELECT name, size, mtime_ns FROM files WHERE name IN ({_marks(chunk)}) "
                "ORDER BY name",
                chunk,
            )
            for chunk in chunks
        )

    def record_file(
        self, name: str, size: int, mtime_ns: int, sha256: str, outcome: str, story_id: str | None
    ) -> None:
        self.connection.execute(
            "INSERT OR REPLACE INTO files (name, size, mtime_ns, sha256, outcome, story_id) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [name, size, mtime_ns, sha256, outcome, story_id],
        )

    # --- rejected files ----------------------------------------------------------

    def record_reject(self, rejection: Rejection, now: datetime) -> bool:
        """Returns whether this is news (a new file or a new reason), worth a log line."""
        previous: tuple[str, str] | None = self.connection.execute(
            "SELECT sha256, reason FROM rejects WHERE name = ?", [rejection.source_name]
        ).fetchone()
        self.connection.execute(
            "INSERT INTO rejects (name, sha256, reason, message, first_seen, last_seen) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET sha256 = excluded.sha256, "
            "reason = excluded.reason, message = excluded.message, last_seen = excluded.last_seen",
            [
                rejection.source_name,
                rejection.sha256,
                rejection.reason.value,
                rejection.message,
                utc_text(now),
                utc_text(now),
            ],
        )
        return previous != (rejection.sha256, rejection.reason.value)

    def clear_reject(self, name: str) -> None:
        self.connection.execute("DELETE FROM rejects WHERE name = ?", [name])

    def forget_missing_rejects(self, present_names: set[str]) -> list[str]:
        """A rejected file that left the inbox is no longer a problem to report."""
        gone = [
            name
            for (name,) in self.connection.execute("SELECT name FROM rejects")
            if name not in present_names
        ]
        for name in gone:
            self.clear_reject(name)
        return gone

    def rejects(self) -> list[StoredReject]:
        rows = self.connection.execute(
            "SELECT name, reason, message, first_seen, last_seen FROM rejects ORDER BY name"
        )
        return [
            StoredReject(name, reason, message, from_utc_text(first), from_utc_text(last))
            for name, reason, message, first, last in rows
        ]

    # --- articles ----------------------------------------------------------------

    def story(self, story_id: str) -> StoredStory | None:
        row = self.connection.execute(
            "SELECT story_id, sha256, category_slug, story_date, published, updated, revision "
            "FROM articles WHERE story_id = ?",
            [story_id],
        ).fetchone()
        if row is None:
            return None
        story_id, sha256, slug, story_date, published, updated, revision = row
        return StoredStory(
            story_id,
            sha256,
            slug,
            story_date,
            from_utc_text(published),
            from_utc_text(updated),
            revision,
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
            f"INSERT OR REPLACE INTO articles ({_ARTICLE_COLUMNS}) "
            f"VALUES ({_marks(_ARTICLE_COLUMNS.split(','))})",
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
        return Entry(
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

    def newest_entries(self, category_slug: str | None, limit: int) -> list[Entry]:
        """Newest first; the story id breaks ties so the order never wobbles."""
        where, parameters = (
            ("WHERE category_slug = ?", [category_slug]) if category_slug else ("", [])
        )
        return self._entries(
            f"SELECT {_ENTRY_COLUMNS} FROM articles {where} "
            "ORDER BY published DESC, story_id DESC LIMIT ?",
            [*parameters, limit],
        )

    def dirty_pages(self, after: str, limit: int) -> list[Entry]:
        """The next dirty pages in story id order, after story `after` ("" for the first)."""
        return self._entries(
            f"SELECT {_ENTRY_COLUMNS} FROM articles WHERE page_dirty = 1 AND story_id > ? "
            "ORDER BY story_id LIMIT ?",
            [after, limit],
        )

    def dirty_page_count(self) -> int:
        return int(
            self.connection.execute(
                "SELECT COUNT(*) FROM articles WHERE page_dirty = 1"
            ).fetchone()[0]
        )

    def entry_batches(self, size: int) -> Iterator[list[Entry]]:
        """The whole archive, a batch at a time, with no cursor held open between batches."""
        last = ""
        while batch := self._entries(
            f"SELECT {_ENTRY_COLUMNS} FROM articles WHERE story_id > ? ORDER BY story_id LIMIT ?",
            [last, size],
        ):
            yield batch
            last = batch[-1].story_id

    def page_keys(self) -> list[str]:
        return [key for (key,) in self.connection.execute("SELECT page_key FROM articles")]

    def entries_by_page_keys(self, keys: list[str]) -> list[Entry]:
        return self._entries(
            f"SELECT {_ENTRY_COLUMNS} FROM articles WHERE page_key IN ({_marks(keys)})", keys
        )

    def mark_pages_clean(self, pages: Iterable[tuple[str, int]]) -> None:
        """(story id, revision) of pages written; a story corrected since keeps its page dirty."""
        self.connection.executemany(
            "UPDATE articles SET page_dirty = 0 WHERE story_id = ? AND revision = ?", pages
        )

    def _entries(self, sql: str, parameters: list[Any]) -> list[Entry]:
        return [_entry(row) for row in self.connection.execute(sql, parameters)]

    # --- feeds and categories ----------------------------------------------------

    def mark_dirty(self, slugs: Iterable[str]) -> None:
        for slug in slugs:
            self.connection.execute(
                "INSERT INTO feeds (slug, dirty) VALUES (?, 1) "
                "ON CONFLICT(slug) DO UPDATE SET dirty = 1",
                [slug],
            )

    def dirty_feeds(self) -> list[str]:
        return [
            slug
            for (slug,) in self.connection.execute(
                "SELECT slug FROM feeds WHERE dirty = 1 ORDER BY slug"
            )
        ]

    def mark_clean(self, slug: str) -> None:
        self.connection.execute("UPDATE feeds SET dirty = 0 WHERE slug = ?", [slug])

    def category_slugs(self) -> list[str]:
        return [
            slug
            for (slug,) in self.connection.execute(
                "SELECT slug FROM feeds WHERE name IS NOT NULL ORDER BY slug"
            )
        ]

    def update_feeds(self, names: dict[str, str | None], added: dict[str, int]) -> None:
        """After articles were saved or moved: each touched category's feed takes its
        name (None keeps it), its count changes by `added` and its newest date is
        looked up; it and the all-news feed are marked dirty.

        Called once per batch, not per article; the newest date comes from the
        (category_slug, published) index, so this costs the same at any archive size.
        """
        if not names:
            return
        for slug, name in names.items():
            self.connection.execute(
                "INSERT INTO feeds (slug, name, dirty, articles, newest) "
                "VALUES (?1, ?2, 1, ?3, (SELECT MAX(published) FROM articles WHERE category_slug = ?1)) "
                "ON CONFLICT(slug) DO UPDATE SET name = coalesce(excluded.name, name), dirty = 1, "
                "articles = articles + excluded.articles, newest = excluded.newest",
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

    def article_count(self) -> int:
        return int(self.connection.execute("SELECT COUNT(*) FROM articles").fetchone()[0])

    # --- upkeep ------------------------------------------------------------------

    def integrity_check(self) -> str:
        """SQLite's own verdict: "ok", or the problems it found, one per line."""
        return "\n".join(row[0] for row in self.connection.execute("PRAGMA integrity_check"))

    def optimize(self) -> None:
        self.connection.execute("PRAGMA optimize")

    # --- runs ----------------------------------------------------------------------

    def record_run(
        self,
        job: str,
        started: datetime,
        duration: float,
        counts: dict[str, Any],
        error: str | None,
    ) -> None:
        with self.transaction():
            self.connection.execute(
                "INSERT INTO runs (job, started, duration, counts, error) VALUES (?, ?, ?, ?, ?)",
                [
                    job,
                    utc_text(started),
                    round(duration, 3),
                    json.dumps(counts, ensure_ascii=False),
                    error,
                ],
            )

    def last_run(self, job: str) -> dict[str, Any] | None:
        return self._run("WHERE job = ?", [job])

    def last_error(self) -> dict[str, Any] | None:
        return self._run("WHERE error IS NOT NULL", [])

    def _run(self, where: str, parameters: list[Any]) -> dict[str, Any] | None:
        row = self.connection.execute(
            f"SELECT job, started, duration, counts, error FROM runs {where} ORDER BY id DESC LIMIT 1",
            parameters,
        ).fetchone()
        if row is None:
            return None
        job, started, duration, counts, error = row
        return {
            "job": job,
            "started": from_utc_text(started),
            "duration": duration,
            "counts": json.loads(counts),
            "error": error,
        }


_ARTICLE_COLUMNS = (
    "story_id, page_key, source_name, title, place, agency, story_date, paragraphs, category, "
    "category_slug, teasers, sha256, published, updated, revision, page_dirty"
)
_ENTRY_COLUMNS = (
    "story_id, page_key, title, place, agency, paragraphs, category, category_slug, "
    "published, updated, revision"
)


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


def _marks(values: list[Any]) -> str:
    return ", ".join("?" * len(values))
