"""SQLite via sqlite-utils: the archive feeder keeps, one module per concern.

`database` opens the file and runs the migrations of `schema`; `stories`,
`inbox`, `feeds`, `runs`, `site` (the pages' months and what to redo) and
`archive_pages` (each feed's history in RFC 5005 pages), `outbox` (the
channels' durable deliveries) and `search` (the full-text index) each
hold the queries of one concern and return frozen dataclasses. `Store` is all of them on one connection.
"""

from __future__ import annotations

from feeder.store.archive_pages import ArchivePage, ArchivePageRecords
from feeder.store.database import DatabaseBusy, StoreError
from feeder.store.feeds import FeedRecords
from feeder.store.inbox import FileOutcome, InboxRecords, RecordedFile, StoredReject
from feeder.store.outbox import ChannelSummary, FailedItem, OutboxItem, OutboxRecords
from feeder.store.runs import Run, RunRecords
from feeder.store.schema import MIGRATIONS
from feeder.store.search import Hits, IndexSize, SearchRecords, SearchTooCostly
from feeder.store.site import SiteRecords
from feeder.store.stories import StoredStory, StoryRecords
from feeder.store.withdrawals import Tombstone, Withdrawal, WithdrawalRecords

__all__ = [
    "MIGRATIONS",
    "ArchivePage",
    "ChannelSummary",
    "DatabaseBusy",
    "FailedItem",
    "FileOutcome",
    "Hits",
    "IndexSize",
    "OutboxItem",
    "OutboxRecords",
    "RecordedFile",
    "Run",
    "SearchTooCostly",
    "Store",
    "StoreError",
    "StoredReject",
    "StoredStory",
    "Tombstone",
    "Withdrawal",
]


class Store(
    SearchRecords,
    StoryRecords,
    InboxRecords,
    FeedRecords,
    RunRecords,
    SiteRecords,
    WithdrawalRecords,
    ArchivePageRecords,
    OutboxRecords,
):
    """The database feeder keeps; a context manager that closes it."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
