"""The schema and its migrations, one function per version."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils


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


def _version_feeds_v4(db: sqlite_utils.Database) -> None:
    """Each change to a feed bumps its version, so a publish marks it clean only if
    nothing changed it while it was being written (pages do this with their revision)."""
    db.table("feeds").add_column("version", int, not_null_default=0)


# Each entry upgrades the schema by one version; append, never edit a released one.
MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _create_schema_v1,
    _count_articles_per_feed_v2,
    _dirty_pages_by_story_id_v3,
    _version_feeds_v4,
]
