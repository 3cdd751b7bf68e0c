"""What feeder stored, read through its Store: the one place tests look at the database.

Where the Store has no reader for something a test checks (every column of an
article, every row for a whole-state comparison), the query is here, so a
schema change touches this module and no test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from feeder.channels.websub.state import HubState, Intent, PendingDelivery, Subscription
from feeder.model import Entry
from feeder.store import Run, Store

# What ingest stores; `runs` only times the jobs.
TABLES = ("articles", "files", "rejects", "feeds")


def entries(database: Path) -> list[Entry]:
    """Every story, in story id order."""
    with Store(database) as store:
        return [entry for batch in store.entry_batches(500) for entry in batch]


def article_count(database: Path) -> int:
    """0 until a daemon starting up has created the database."""
    if not database.exists():
        return 0
    with Store(database) as store:
        return store.article_count()


def integrity(database: Path) -> str:
    with Store(database) as store:
        return store.integrity_check()


def dirty_feeds(database: Path) -> list[str]:
    with Store(database) as store:
        return store.dirty_feeds()


def dirty_page_count(database: Path) -> int:
    with Store(database) as store:
        return store.dirty_page_count()


def last_run(database: Path, job: str) -> Run | None:
    with Store(database) as store:
        return store.last_run(job)


def revision_total(database: Path) -> int:
    """Each story counts its versions: more than one per story means one was stored twice."""
    return sum(entry.revision for entry in entries(database))


def article_rows(database: Path) -> list[dict[str, Any]]:
    """Every column of every article, in story id order."""
    return [dict(zip(columns, row, strict=True)) for columns, row in _rows(database, "articles")]


def tables(database: Path, leave_out: dict[str, set[str]]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of each of TABLES, less the columns `leave_out` names per table."""
    return {
        table: [
            tuple(v for c, v in zip(columns, row, strict=True) if c not in leave_out.get(table, ()))
            for columns, row in _rows(database, table)
        ]
        for table in TABLES
    }


def _rows(database: Path, table: str) -> Iterator[tuple[list[str], tuple[Any, ...]]]:
    with Store(database) as store:
        cursor = store.connection.execute(f"SELECT * FROM {table} ORDER BY 1")
        columns = [description[0] for description in cursor.description]
        rows = cursor.fetchall()
    for row in rows:
        yield columns, row


def websub_subscriptions(database: Path) -> list[Subscription]:
    with Store(database) as store:
        return HubState(store).subscriptions()


def websub_intents(database: Path) -> list[Intent]:
    """Subscription requests not yet verified (as many as a test makes)."""
    with Store(database) as store:
        return HubState(store).intents(10_000)


def websub_deliveries(database: Path) -> list[PendingDelivery]:
    with Store(database) as store:
        return HubState(store).deliveries()


# What each migration since schema 9 created, newest first: dropping them leaves
# the database an older feeder kept, for upgrade tests.
_CREATED_SINCE_9 = {
    17: ["TABLE search_index", "TABLE search_keys"],
    16: ["TABLE fediverse_seen_signatures"],
    15: ["TABLE fediverse_keys", "TABLE fediverse_followers", "TABLE fediverse_remote_keys"],
    14: [
        "TABLE outbox",
        "TABLE channel_pauses",
        "TABLE channel_sends",
        "TABLE channel_records",
    ],
    13: [
        "TRIGGER articles_feed_change",
        "TRIGGER articles_feed_removal",
        "TABLE feed_changes",
        "TABLE feed_entries",
        "TABLE feed_pages",
        "TABLE feed_sequences",
        "TABLE archive_state",
    ],
    12: ["TABLE days"],
    11: ["TABLE unwritten_files"],
}

# The hub's own queue, which schema 14 moved into the outbox.
_WEBSUB_QUEUE_BEFORE_14 = """
    CREATE TABLE websub_deliveries (
        subscription_id INTEGER PRIMARY KEY, version TEXT NOT NULL,
        generation INTEGER NOT NULL, attempts INTEGER NOT NULL, due REAL NOT NULL,
        last_error TEXT, failed INTEGER NOT NULL DEFAULT 0);
    CREATE INDEX websub_deliveries_due ON websub_deliveries(failed, due);
    CREATE TABLE websub_pings (
        hub TEXT NOT NULL, topic TEXT NOT NULL, generation INTEGER NOT NULL,
        attempts INTEGER NOT NULL, due REAL NOT NULL, last_error TEXT,
        failed INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (hub, topic));
"""


def downgrade(database: Path, version: int) -> None:
    """The database as feeder at schema `version` (9 or later) left it."""
    with Store(database) as store:
        for later, objects in _CREATED_SINCE_9.items():
            if later > version:
                for kind_and_name in objects:
                    store.connection.execute(f"DROP {kind_and_name}")
        if version < 14:
            store.connection.executescript(_WEBSUB_QUEUE_BEFORE_14)
        store.connection.execute(f"PRAGMA user_version = {version}")
