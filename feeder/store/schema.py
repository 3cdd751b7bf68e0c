"""The schema and its migrations, one function per version."""

from __future__ import annotations

import json
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


def _site_tables_v5(db: sqlite_utils.Database) -> None:
    """Month counts, change records and pages a neighbour made stale, for the site
    (see `feeder.store.site`). Stories already stored count as new, and their pages
    are redone in the new design."""
    db.execute(
        "CREATE TABLE site_changes (id INTEGER PRIMARY KEY, story_id TEXT NOT NULL, "
        "old_slug TEXT, old_published TEXT, new_slug TEXT NOT NULL, "
        "new_published TEXT NOT NULL, updated TEXT NOT NULL)"
    )
    db.execute(
        "CREATE TABLE months (slug TEXT NOT NULL, month TEXT NOT NULL, stories INTEGER NOT NULL, "
        "updated TEXT NOT NULL, dirty INTEGER NOT NULL, PRIMARY KEY (slug, month)) WITHOUT ROWID"
    )
    db.execute("CREATE INDEX months_dirty ON months(dirty) WHERE dirty = 1")
    db.execute("CREATE TABLE site_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("CREATE TABLE stale_pages (story_id TEXT PRIMARY KEY) WITHOUT ROWID")
    # BEFORE INSERT, so the row a save replaces is still there to read.
    db.execute(
        "CREATE TRIGGER articles_site_change BEFORE INSERT ON articles BEGIN "
        "INSERT INTO site_changes (story_id, old_slug, old_published, new_slug, new_published, updated) "
        "SELECT NEW.story_id, old.category_slug, old.published, NEW.category_slug, NEW.published, "
        "NEW.updated FROM (SELECT 1) LEFT JOIN articles AS old ON old.story_id = NEW.story_id; END"
    )
    db.execute(
        "INSERT INTO site_changes (story_id, new_slug, new_published, updated) "
        "SELECT story_id, category_slug, published, updated FROM articles ORDER BY story_id"
    )
    db.execute("UPDATE articles SET page_dirty = 1")
    # Month archives, neighbours and sitemaps list stories by time without their
    # bodies: the time indexes carry what they show, so no row is read for them
    # (a row's later columns sit behind its body's overflow pages).
    listed = "page_key, title, category, updated"
    db.execute("DROP INDEX articles_newest")
    db.execute(
        f"CREATE INDEX articles_newest ON articles(published DESC, story_id DESC, "
        f"category_slug, {listed})"
    )
    db.execute("DROP INDEX articles_category_newest")
    db.execute(
        f"CREATE INDEX articles_category_newest ON articles(category_slug, published DESC, "
        f"story_id DESC, {listed})"
    )


def _content_hashes_and_ctimes_v6(db: sqlite_utils.Database) -> None:
    """Stories are compared by their parsed content, not their bytes, so a copy in
    another encoding or with other line endings is a duplicate: every stored hash
    is recomputed from the stored fields. Files are also known by their ctime,
    which no tool can set, so a same-size correction with its mtime kept is seen."""
    from feeder.model import content_hash

    last = ""
    while rows := db.execute(
        "SELECT story_id, title, place, agency, story_date, paragraphs, category, teasers "
        "FROM articles WHERE story_id > ? ORDER BY story_id LIMIT 1000",
        [last],
    ).fetchall():
        db.conn.executemany(
            "UPDATE articles SET sha256 = ? WHERE story_id = ?",
            [
                (
                    content_hash(
                        title,
                        place,
                        agency,
                        day,
                        json.loads(body or "[]"),
                        category,
                        json.loads(teasers or "[]"),
                    ),
                    story_id,
                )
                for story_id, title, place, agency, day, body, category, teasers in rows
            ],
        )
        last = rows[-1][0]
    db.table("files").add_column("ctime_ns", int)


def _future_files_v7(db: sqlite_utils.Database) -> None:
    """Files dated in the future wait for their time; `feeder status` lists them."""
    db.table("future_files").create({"name": str, "mtime": str, "first_seen": str}, pk="name")


def _withdrawals_v8(db: sqlite_utils.Database) -> None:
    """Withdrawn stories, kept whole for a restore (see `feeder.store.withdrawals`).
    A story leaving `articles` is a site change too, recorded by a trigger with no
    new position, as a story moving within it is by the insert trigger."""
    db.execute(
        "CREATE TABLE withdrawals (story_id TEXT PRIMARY KEY, page_key TEXT NOT NULL, "
        "category_slug TEXT NOT NULL, title TEXT NOT NULL, withdrawn_by TEXT NOT NULL, "
        "withdrawn_at TEXT NOT NULL, reason TEXT NOT NULL, article TEXT NOT NULL, "
        "notice_dirty INTEGER NOT NULL)"
    )
    # The insert trigger names the table, so it goes while the table is rebuilt
    # without its NOT NULLs (SQLite cannot drop a constraint in place).
    (insert_trigger,) = db.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'articles_site_change'"
    ).fetchone()
    db.execute("DROP TRIGGER articles_site_change")
    db.execute(
        "CREATE TABLE site_changes_v8 (id INTEGER PRIMARY KEY, story_id TEXT NOT NULL, "
        "old_slug TEXT, old_published TEXT, new_slug TEXT, new_published TEXT, "
        "updated TEXT NOT NULL)"
    )
    db.execute("INSERT INTO site_changes_v8 SELECT * FROM site_changes")
    db.execute("DROP TABLE site_changes")
    db.execute("ALTER TABLE site_changes_v8 RENAME TO site_changes")
    db.execute(insert_trigger)
    # REPLACE deletes without firing delete triggers (recursive_triggers is off),
    # so a correction is not taken for a removal.
    db.execute(
        "CREATE TRIGGER articles_site_removal AFTER DELETE ON articles BEGIN "
        "INSERT INTO site_changes (story_id, old_slug, old_published, updated) VALUES "
        "(OLD.story_id, OLD.category_slug, OLD.published, "
        "strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')); END"
    )


def _websub_hub_v9(db: sqlite_utils.Database) -> None:
    """The WebSub hub's state (feeder.channels.websub.state): requests awaiting verification,
    subscriptions, one pending delivery per subscription and pings to other hubs.
    Times are Unix seconds (REAL): retries are due at fractions of a second."""
    # One statement at a time: executescript would commit the migration's transaction.
    statements = """
        CREATE TABLE websub_intents (
            id INTEGER PRIMARY KEY, callback TEXT NOT NULL, topic TEXT NOT NULL,
            mode TEXT NOT NULL, lease_seconds INTEGER, secret TEXT,
            callback_host TEXT NOT NULL, requested REAL NOT NULL,
            UNIQUE (callback, topic));
        CREATE INDEX websub_intents_host ON websub_intents(callback_host);
        CREATE TABLE websub_subscriptions (
            id INTEGER PRIMARY KEY, callback TEXT NOT NULL, topic TEXT NOT NULL,
            callback_host TEXT NOT NULL, secret TEXT, lease_seconds INTEGER NOT NULL,
            expires REAL NOT NULL, created REAL NOT NULL, delivered_version TEXT,
            UNIQUE (callback, topic));
        CREATE INDEX websub_subscriptions_topic ON websub_subscriptions(topic);
        CREATE INDEX websub_subscriptions_host ON websub_subscriptions(callback_host);
        CREATE TABLE websub_deliveries (
            subscription_id INTEGER PRIMARY KEY, version TEXT NOT NULL,
            generation INTEGER NOT NULL, attempts INTEGER NOT NULL, due REAL NOT NULL,
            last_error TEXT, failed INTEGER NOT NULL DEFAULT 0);
        CREATE INDEX websub_deliveries_due ON websub_deliveries(failed, due);
        CREATE TABLE websub_pings (
            hub TEXT NOT NULL, topic TEXT NOT NULL, generation INTEGER NOT NULL,
            attempts INTEGER NOT NULL, due REAL NOT NULL, last_error TEXT,
            failed INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (hub, topic))
        """
    for statement in statements.split(";"):
        db.execute(statement)


def _cut_long_slugs_v10(db: sqlite_utils.Database) -> None:
    """Category slugs and page keys too long for a file name (`feeder.slugs`) get
    the cut form that ingest now gives them, wherever they are stored; their feeds,
    months and pages are marked for writing: none of them could be written before."""
    from feeder.slugs import MAX_PAGE_KEY_BYTES, MAX_SLUG_BYTES, capped, page_key

    long_slugs = db.execute(
        "SELECT slug FROM feeds WHERE length(slug) > ?1 UNION "
        "SELECT category_slug FROM articles WHERE length(category_slug) > ?1 UNION "
        "SELECT category_slug FROM withdrawals WHERE length(category_slug) > ?1",
        [MAX_SLUG_BYTES],
    ).fetchall()
    for (old,) in long_slugs:
        new = capped(old, MAX_SLUG_BYTES)
        for statement in (
            "UPDATE articles SET category_slug = ?2, page_dirty = 1 WHERE category_slug = ?1",
            "UPDATE feeds SET slug = ?2, dirty = 1, version = version + 1 WHERE slug = ?1",
            "UPDATE months SET slug = ?2, dirty = 1 WHERE slug = ?1",
            "UPDATE withdrawals SET category_slug = ?2 WHERE category_slug = ?1",
            "UPDATE site_changes SET old_slug = ?2 WHERE old_slug = ?1",
            "UPDATE site_changes SET new_slug = ?2 WHERE new_slug = ?1",
        ):
            db.execute(statement, [old, new])
    if long_slugs:
        db.execute(
            "INSERT OR REPLACE INTO site_state (key, value) VALUES ('pages_sitemap_dirty', '1')"
        )
    for table, dirty in (("articles", "page_dirty"), ("withdrawals", "notice_dirty")):
        rows = db.execute(
            f"SELECT story_id FROM {table} WHERE length(page_key) > ?", [MAX_PAGE_KEY_BYTES]
        ).fetchall()
        db.conn.executemany(
            f"UPDATE {table} SET page_key = ?, {dirty} = 1 WHERE story_id = ?",
            [(page_key(story_id), story_id) for (story_id,) in rows],
        )


def _unwritten_files_v11(db: sqlite_utils.Database) -> None:
    """The files the last publish could not write, and why, for `feeder status`."""
    db.execute(
        "CREATE TABLE unwritten_files (path TEXT PRIMARY KEY, message TEXT NOT NULL, "
        "at TEXT NOT NULL) WITHOUT ROWID"
    )


def _site_days_v12(db: sqlite_utils.Database) -> None:
    """Story counts per local day, for the day pages and day sitemaps that replace the
    month-long lists (see `feeder.store.site`). Every stored story counts as new
    again, so the months are recounted with the days, and every month and day is
    marked to be written in the new design; months are emptied rather than
    dropped, as a time-zone change does."""
    db.execute(
        "CREATE TABLE days (slug TEXT NOT NULL, day TEXT NOT NULL, stories INTEGER NOT NULL, "
        "updated TEXT NOT NULL, dirty INTEGER NOT NULL, PRIMARY KEY (slug, day)) WITHOUT ROWID"
    )
    db.execute("CREATE INDEX days_dirty ON days(dirty) WHERE dirty = 1")
    # A day's sitemap lists the pages of that day in every category.
    db.execute("CREATE INDEX days_by_day ON days(day)")
    # Records not yet applied would count twice with the stories recorded below.
    db.execute("DELETE FROM site_changes")
    db.execute("UPDATE months SET stories = 0, dirty = 1")
    db.execute(
        "INSERT INTO site_changes (story_id, new_slug, new_published, updated) "
        "SELECT story_id, category_slug, published, updated FROM articles ORDER BY story_id"
    )


def _archive_pages_v13(db: sqlite_utils.Database) -> None:
    """RFC 5005 archive pages in place of month documents (`feeder.store.archive_pages`).

    Each feed keeps the order its stories joined it (`feed_entries.seq`, never
    reused), and fixed pages of that order (`feed_pages`) that the next publish
    seals. Stories already stored join in dateline order, and every feed is to be
    rewritten, linking to its pages; a change log filled by triggers in the saving
    transaction tells the publisher what joined, changed, moved or left since."""
    statements = """
        CREATE TABLE feed_entries (
            slug TEXT NOT NULL, seq INTEGER NOT NULL, story_id TEXT NOT NULL,
            changed INTEGER NOT NULL, state TEXT NOT NULL,
            PRIMARY KEY (slug, seq)) WITHOUT ROWID;
        CREATE INDEX feed_entries_story ON feed_entries(story_id, slug);
        CREATE INDEX feed_entries_changed ON feed_entries(slug, changed) WHERE state = 'in';
        CREATE TABLE feed_pages (
            slug TEXT NOT NULL, number INTEGER NOT NULL, generation TEXT NOT NULL,
            first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL, dirty INTEGER NOT NULL,
            PRIMARY KEY (slug, number)) WITHOUT ROWID;
        CREATE INDEX feed_pages_dirty ON feed_pages(dirty) WHERE dirty = 1;
        CREATE INDEX feed_pages_last ON feed_pages(slug, last_seq);
        CREATE TABLE feed_sequences (
            slug TEXT PRIMARY KEY, joined INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE archive_state (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE feed_changes (
            id INTEGER PRIMARY KEY, story_id TEXT NOT NULL, old_slug TEXT, new_slug TEXT);
        CREATE TRIGGER articles_feed_change BEFORE INSERT ON articles BEGIN
            INSERT INTO feed_changes (story_id, old_slug, new_slug)
            SELECT NEW.story_id, old.category_slug, NEW.category_slug
            FROM (SELECT 1) LEFT JOIN articles AS old ON old.story_id = NEW.story_id; END;
        CREATE TRIGGER articles_feed_removal AFTER DELETE ON articles BEGIN
            INSERT INTO feed_changes (story_id, old_slug)
            VALUES (OLD.story_id, OLD.category_slug); END;
        CREATE TEMP TABLE joining AS
            SELECT story_id, category_slug,
                   row_number() OVER (ORDER BY published, story_id) AS position,
                   row_number() OVER (PARTITION BY category_slug ORDER BY published, story_id)
                       AS category_position
            FROM articles;
        INSERT INTO feed_entries (slug, seq, story_id, changed, state)
            SELECT 'all', position, story_id, position, 'in' FROM temp.joining;
        INSERT INTO feed_entries (slug, seq, story_id, changed, state)
            SELECT category_slug, category_position, story_id, position, 'in' FROM temp.joining;
        INSERT INTO feed_sequences (slug, joined)
            SELECT 'all', count(*) FROM temp.joining
            UNION ALL SELECT category_slug, count(*) FROM temp.joining GROUP BY category_slug;
        INSERT INTO archive_state (key, value)
            SELECT 'changes', count(*) FROM temp.joining;
        DROP TABLE temp.joining;
        UPDATE feeds SET dirty = 1, version = version + 1
        """
    # A trigger's own statements end in "; END", so each statement ends at ";" and a newline.
    for statement in statements.split(";\n"):
        db.execute(statement)
    # The first generation is the same everywhere, so that the same stories always
    # give the same output; a restored backup starts a random one.
    db.execute("INSERT INTO archive_state (key, value) VALUES ('generation', '0')")


def _outbox_v14(db: sqlite_utils.Database) -> None:
    """The channels' durable outbox (feeder.store.outbox): one pending delivery per
    channel and key, written in the transaction of the change it delivers; pauses of
    a channel's destination; recent sends for rate limits; and what each channel
    keeps of its own (a Telegram message id per story), so no channel needs a
    migration. The hub's queue moves here from its own two tables."""
    statements = """
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY, channel TEXT NOT NULL, key TEXT NOT NULL,
            destination TEXT NOT NULL, payload TEXT NOT NULL, generation INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0, due REAL NOT NULL,
            failed INTEGER NOT NULL DEFAULT 0, last_error TEXT, created REAL NOT NULL,
            UNIQUE (channel, key));
        CREATE INDEX outbox_due ON outbox(channel, failed, due);
        CREATE TABLE channel_pauses (
            channel TEXT NOT NULL, destination TEXT NOT NULL, reason TEXT NOT NULL,
            since REAL NOT NULL, PRIMARY KEY (channel, destination)) WITHOUT ROWID;
        CREATE TABLE channel_sends (
            channel TEXT NOT NULL, destination TEXT NOT NULL, at REAL NOT NULL);
        CREATE INDEX channel_sends_at ON channel_sends(channel, destination, at);
        CREATE TABLE channel_records (
            channel TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
            PRIMARY KEY (channel, key)) WITHOUT ROWID;
        INSERT INTO outbox (channel, key, destination, payload, generation, attempts, due,
                            failed, last_error, created)
            SELECT 'websub', CAST(d.subscription_id AS TEXT), s.callback_host,
                   json_object('version', d.version), d.generation, d.attempts, d.due,
                   d.failed, d.last_error, d.due
            FROM websub_deliveries d JOIN websub_subscriptions s ON s.id = d.subscription_id;
        INSERT INTO outbox (channel, key, destination, payload, generation, attempts, due,
                            failed, last_error, created)
            SELECT 'websub-ping', json_array(hub, topic), hub,
                   json_object('hub', hub, 'topic', topic), generation, attempts, due,
                   failed, last_error, due
            FROM websub_pings;
        DROP TABLE websub_deliveries;
        DROP TABLE websub_pings
        """
    for statement in statements.split(";"):
        db.execute(statement)


def _fediverse_v15(db: sqlite_utils.Database) -> None:
    """The fediverse accounts' signing keys (in the database, so a backup carries
    them), their followers, and the keys of other servers' actors, kept so a
    Delete signed by an actor that is already gone can still be checked."""
    statements = """
        CREATE TABLE fediverse_keys (
            handle TEXT PRIMARY KEY, private_pem TEXT NOT NULL, public_pem TEXT NOT NULL,
            created REAL NOT NULL) WITHOUT ROWID;
        CREATE TABLE fediverse_followers (
            handle TEXT NOT NULL, actor TEXT NOT NULL, inbox TEXT NOT NULL,
            shared_inbox TEXT NOT NULL, host TEXT NOT NULL, since REAL NOT NULL,
            PRIMARY KEY (handle, actor)) WITHOUT ROWID;
        CREATE INDEX fediverse_followers_inbox ON fediverse_followers(handle, shared_inbox);
        CREATE INDEX fediverse_followers_host ON fediverse_followers(host);
        CREATE TABLE fediverse_remote_keys (
            key_id TEXT PRIMARY KEY, owner TEXT NOT NULL, public_pem TEXT NOT NULL,
            inbox TEXT NOT NULL, shared_inbox TEXT NOT NULL, fetched REAL NOT NULL)
            WITHOUT ROWID
        """
    for statement in statements.split(";"):
        db.execute(statement)


def _fediverse_seen_signatures_v16(db: sqlite_utils.Database) -> None:
    """Inbox signatures seen within the clock-skew window, so a request captured
    before a restart cannot be replayed after it."""
    db.execute(
        "CREATE TABLE fediverse_seen_signatures ("
        "fingerprint BLOB PRIMARY KEY, seen REAL NOT NULL) WITHOUT ROWID"
    )
    db.execute("CREATE INDEX fediverse_seen_signatures_seen ON fediverse_seen_signatures(seen)")


def _search_v17(db: sqlite_utils.Database) -> None:
    """The search index (feeder.store.search): an FTS5 table of stems whose rowid
    is the publication time, each story's row in `search_keys`, titles weighing
    three times the text in best-match order. It starts empty: indexing a large
    archive here would hold the write lock for minutes at start-up, so `feeder
    status` asks for `feeder regen --search` instead."""
    db.execute(
        "CREATE VIRTUAL TABLE search_index USING fts5("
        "story_id UNINDEXED, title, body, category, "
        "tokenize = 'unicode61 remove_diacritics 0')"
    )
    db.execute("INSERT INTO search_index(search_index, rank) VALUES ('rank', 'bm25(0, 3, 1, 0)')")
    db.execute(
        "CREATE TABLE search_keys (story_id TEXT PRIMARY KEY, doc INTEGER NOT NULL UNIQUE) "
        "WITHOUT ROWID"
    )


# Each entry upgrades the schema by one version; append, never edit a released one.
MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _create_schema_v1,
    _count_articles_per_feed_v2,
    _dirty_pages_by_story_id_v3,
    _version_feeds_v4,
    _site_tables_v5,
    _content_hashes_and_ctimes_v6,
    _future_files_v7,
    _withdrawals_v8,
    _websub_hub_v9,
    _cut_long_slugs_v10,
    _unwritten_files_v11,
    _site_days_v12,
    _archive_pages_v13,
    _outbox_v14,
    _fediverse_v15,
    _fediverse_seen_signatures_v16,
    _search_v17,
]
