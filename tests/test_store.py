"""The database: schema versioning and the indexes that keep feeds fast at any size."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

import feeder.slugs
from feeder.config import Config
from feeder.feeds.formats import FEED_FORMATS
from feeder.feeds.model import feed_path
from feeder.files import PublishError
from feeder.paths import article_path
from feeder.pipeline import ingest_and_publish
from feeder.store import MIGRATIONS, Store, StoreError
from tests.conftest import deliver_day, wire_text
from tests.state import article_rows, downgrade


def test_a_new_database_is_migrated_to_the_latest_schema_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "feeder.db"
    with Store(path) as store:
        assert store.schema_version() == len(MIGRATIONS)
        assert store.journal_mode() == "wal"
    Store(path).close()  # opening again migrates nothing and keeps the data


def test_a_database_from_a_newer_feeder_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "feeder.db"
    Store(path).close()
    with sqlite3.connect(path) as connection:
        connection.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(StoreError, match="newer than this feeder"):
        Store(path)


@pytest.mark.parametrize(
    ("query", "index"),
    [
        (
            "SELECT * FROM articles WHERE category_slug = 'x' ORDER BY published DESC, story_id DESC LIMIT 50",
            "articles_category_newest",
        ),
        (
            "SELECT * FROM articles ORDER BY published DESC, story_id DESC LIMIT 50",
            "articles_newest",
        ),
        ("SELECT story_id FROM articles WHERE sha256 = 'x'", "articles_sha256"),
        (
            "SELECT * FROM articles WHERE page_dirty = 1 AND story_id > 'x' ORDER BY story_id LIMIT 500",
            "articles_page_dirty",
        ),
    ],
)
def test_feed_queries_use_an_index_not_a_scan_or_sort(
    tmp_path: Path, query: str, index: str
) -> None:
    with Store(tmp_path / "feeder.db") as store:
        plan = " ".join(row[-1] for row in store.db.execute(f"EXPLAIN QUERY PLAN {query}"))
    assert index in plan
    assert "TEMP B-TREE" not in plan


def test_a_version_1_database_gains_per_feed_counts_and_newest_dates(tmp_path: Path) -> None:
    path = tmp_path / "feeder.db"
    db = sqlite_utils.Database(path)
    MIGRATIONS[0](db)
    db.execute("PRAGMA user_version = 1")
    db.table("feeds").insert_all(
        [{"slug": "politika", "name": "Политика", "dirty": 0}, {"slug": "all", "dirty": 0}]
    )
    for story_id, published in [
        ("a", "2023-09-21T08:00:00+00:00"),
        ("b", "2023-09-22T08:00:00+00:00"),
    ]:
        db.table("articles").insert(
            {
                "story_id": story_id,
                "page_key": story_id,
                "title": story_id,
                "category_slug": "politika",
                "sha256": story_id,
                "published": published,
                "updated": published,
            }
        )
    db.close()
    with Store(path) as store:
        (category,) = store.categories()
    assert (category.slug, category.count) == ("politika", 2)
    assert (
        category.newest is not None and category.newest.isoformat() == "2023-09-22T08:00:00+00:00"
    )


def test_a_feed_marked_dirty_while_it_was_written_stays_dirty(tmp_path: Path) -> None:
    with Store(tmp_path / "feeder.db") as store:
        store.mark_dirty(["politika"])
        written = store.feed_version("politika")
        store.mark_dirty(["politika"])  # a change lands while that version is being written
        store.mark_clean("politika", written)
        assert store.dirty_feeds() == ["politika"]
        store.mark_clean("politika", store.feed_version("politika"))
        assert store.dirty_feeds() == []


def test_stored_hashes_become_hashes_of_parsed_content(config: Config, deliver) -> None:
    """Hashes stored from raw bytes are recomputed by the migration, so a re-encoded
    copy of a story stored before the upgrade is still its duplicate."""
    upgrade = next(
        number
        for number, migration in enumerate(MIGRATIONS)
        if migration.__name__.startswith("_content_hashes")
    )
    config.database.parent.mkdir(parents=True)
    db = sqlite_utils.Database(config.database)
    for migration in MIGRATIONS[:upgrade]:
        migration(db)
    db.execute(f"PRAGMA user_version = {upgrade}")
    db.table("articles").insert(
        {
            "story_id": "001_story",
            "page_key": "001_story",
            "source_name": "001_story.txt",
            "title": "Заголовок новости",
            "place": "Баку",
            "agency": "Turan",
            "story_date": "2023-09-21",
            "paragraphs": '["Первый абзац.", "Второй абзац."]',
            "category": "Политика",
            "category_slug": "politika",
            "teasers": '["Чужая новость."]',
            "sha256": "a hash of the delivered bytes",
            "published": "2023-09-21T08:00:00+00:00",
            "updated": "2023-09-21T08:00:00+00:00",
            "revision": 1,
            "page_dirty": 0,
        }
    )
    db.close()
    deliver("002_copy.txt", wire_text().replace("\n", "\r\n").encode("cp1251"))
    assert ingest_and_publish(config).ingest.duplicate == 1


def test_slugs_an_older_feeder_made_too_long_for_a_file_name_are_cut_by_the_upgrade(
    config: Config, deliver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An older feeder stored these slugs and then failed every publish on them."""
    deliver_day(deliver, 1, category="京" * 60)
    deliver("京" * 83 + ".txt", wire_text(category="Политика"))
    with monkeypatch.context() as older:
        older.setattr(feeder.slugs, "capped", lambda slug, limit: slug)
        with pytest.raises(PublishError, match="File name too long"):
            ingest_and_publish(config)
    downgrade(config.database, 9)  # the schema of the feeder before slugs were cut
    ingest_and_publish(config)
    rows = {row["category"]: row for row in article_rows(config.database)}
    slug, key = rows["京" * 60]["category_slug"], rows["Политика"]["page_key"]
    assert len(slug) <= feeder.slugs.MAX_SLUG_BYTES
    assert len(key) <= feeder.slugs.MAX_PAGE_KEY_BYTES
    assert (config.output_dir / feed_path(slug, FEED_FORMATS.primary)).exists()
    assert (config.output_dir / article_path(key)).exists()
    with Store(config.database) as store:
        assert store.dirty_feeds() == [] and store.dirty_page_count() == 0
        assert {category.slug for category in store.categories()} == {slug, "politika"}


def test_deliveries_the_hub_had_queued_move_into_the_outbox_on_upgrade(config: Config) -> None:
    """Schema 14 moves the hub's own queue into the channels' outbox: a delivery or
    ping pending in a feeder of schema 13 is still pending, with its attempts."""
    from feeder.channels.websub.state import HubState

    with Store(config.database):
        pass
    downgrade(config.database, 13)
    with sqlite3.connect(config.database) as connection:
        connection.execute(
            "INSERT INTO websub_subscriptions (id, callback, topic, callback_host, "
            "lease_seconds, expires, created) VALUES (7, 'http://reader.example/cb', "
            "'http://feeds.example.org/news/feeds/all.atom', '192.0.2.1', 3600, 9e9, 0)"
        )
        connection.execute(
            "INSERT INTO websub_deliveries (subscription_id, version, generation, attempts, "
            "due, last_error) VALUES (7, 'v1', 3, 2, 100.0, 'timed out')"
        )
        connection.execute(
            "INSERT INTO websub_pings (hub, topic, generation, attempts, due) VALUES "
            "('https://hub.example/', 'http://feeds.example.org/news/feeds/all.atom', 1, 0, 5.0)"
        )
    with Store(config.database) as store:
        state = HubState(store)
        (pending,) = state.deliveries()
        assert (pending.callback, pending.attempts, pending.last_error) == (
            "http://reader.example/cb",
            2,
            "timed out",
        )
        (due,) = state.due_deliveries(now=200.0, limit=10)
        assert (due.subscription_id, due.generation) == (7, 3)
        (ping,) = state.due_pings(now=200.0, limit=10)
        assert ping.hub == "https://hub.example/"
        assert store.schema_version() == len(MIGRATIONS)


def test_processes_opening_a_new_database_at_once_all_get_it(tmp_path: Path) -> None:
    """`feeder run`'s workers and a manual command may open a new database together:
    the switch to WAL must wait its turn instead of failing with "database is locked"
    (it did in one start in ten before)."""
    import threading

    for attempt in range(20):
        database = tmp_path / str(attempt) / "feeder.db"
        errors: list[StoreError] = []

        def open_it(database: Path = database, errors: list[StoreError] = errors) -> None:
            try:
                with Store(database) as store:
                    assert store.schema_version() == len(MIGRATIONS)
            except StoreError as error:
                errors.append(error)

        threads = [threading.Thread(target=open_it) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
