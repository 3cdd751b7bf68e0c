"""RFC 5005 archived feeds, as a reader backfilling a feed walks them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import feedparser
import pytest
from lxml import etree

from feeder.config import Config
from feeder.events import FILE_WRITTEN, FileWritten
from feeder.feeds import FeedFormat, entry_id, feed_path
from feeder.formats import FEED_FORMATS
from feeder.http_rules import GZIP_SUFFIX, cache_control
from feeder.model import Entry
from feeder.pipeline import ingest_and_publish, regenerate
from feeder.server import FeedServer
from feeder.slugs import ALL_NEWS
from feeder.store import Store
from feeder.store.site import month_of
from tests.client import Client
from tests.conftest import config_for, file_tree, wire_text
from tests.feedcheck import XML_FORMATS, parse_valid_feed
from tests.readers import newsboat_feeds

HISTORY = "{http://purl.org/syndication/history/1.0}"
FORMATS = list(FEED_FORMATS)
SLUGS = (ALL_NEWS, "politika", "ekonomika")
# Politika has stories in June and September, Ekonomika in July and September:
# each feed has a month without stories between two with.
STORIES = [
    ("05.06.23", "Политика"),
    ("20.06.23", "Политика"),
    ("03.07.23", "Экономика"),
    ("01.09.23", "Политика"),
    ("02.09.23", "Экономика"),
    ("30.09.23", "Экономика"),
    ("29.09.23", "Политика"),
]


def story_name(number: int) -> str:
    return f"{number:03d}_{number:016x}.txt"


def deliver_story(deliver, number: int, date: str, category: str, **fields: str) -> None:
    title = fields.pop("title", f"Новость {number}")
    deliver(story_name(number), wire_text(title=title, date=date, category=category, **fields))


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """Two entries per subscription feed, so most stories are in the archive alone."""
    return config_for(tmp_path, max_items=2)


@pytest.fixture
def archive(config: Config, deliver) -> Config:
    for number, (date, category) in enumerate(STORIES, start=1):
        deliver_story(deliver, number, date, category)
    ingest_and_publish(config)
    return config


@dataclass(frozen=True)
class Document:
    url: str
    data: bytes
    parsed: feedparser.FeedParserDict

    def link(self, rel: str) -> str | None:
        hrefs = [link.href for link in self.parsed.feed.links if link.rel == rel]
        assert len(hrefs) <= 1, f"{self.url} has {len(hrefs)} {rel} links"
        return hrefs[0] if hrefs else None

    @property
    def older(self) -> str | None:
        """RFC 5005's prev-archive; JSON Feed's next_url, which leads the same way."""
        return self.link("prev-archive") or self.parsed.feed.get("next_url")

    @property
    def ids(self) -> list[str]:
        return [entry.id for entry in self.parsed.entries]

    def is_marked_archive(self) -> bool:
        return etree.fromstring(self.data).find(f".//{HISTORY}archive") is not None


def read(config: Config, url: str) -> Document:
    """The document at `url`, from the output directory, checked as a validator would."""
    assert url.startswith(config.base_url)
    data = (config.output_dir / url.removeprefix(config.base_url)).read_bytes()
    return Document(url, data, parse_valid_feed(data, url))


def walk(config: Config, slug: str, feed_format: FeedFormat) -> tuple[Document, list[Document]]:
    """The subscription feed, and the archive documents its prev-archive links lead to."""
    subscription = read(config, config.url(feed_path(slug, feed_format)))
    documents: list[Document] = []
    older = subscription.older
    while older is not None:
        assert older not in [document.url for document in documents], f"a loop at {older}"
        documents.append(read(config, older))
        older = documents[-1].older
    return subscription, documents


def stored(config: Config, slug: str) -> list[Entry]:
    with Store(config.database) as store:
        return [
            entry
            for batch in store.entry_batches(500)
            for entry in batch
            if slug in (ALL_NEWS, entry.category_slug)
        ]


def check_archive(config: Config, slug: str, feed_format: FeedFormat) -> list[str]:
    """Walk one feed's archive and check it as RFC 5005 asks; returns the months walked."""
    subscription, documents = walk(config, slug, feed_format)
    reached = Counter(identifier for document in documents for identifier in document.ids)
    expected = {entry_id(config, entry.story_id) for entry in stored(config, slug)}
    assert set(reached) == expected, "every stored story is in the archive"
    assert set(reached.values()) == {1}, "and in one month document only"
    assert set(subscription.ids) <= expected
    months = [document.url.rsplit("/", 1)[1].split(".")[0] for document in documents]
    assert months == sorted(months, reverse=True), "each prev-archive leads to an older month"
    for month, document in zip(months, documents, strict=True):
        assert document.link("self") == document.url
        published = [entry.published_parsed for entry in document.parsed.entries]
        assert published == sorted(published, reverse=True), "newest first"
        assert {
            month_of(datetime(*entry.published_parsed[:6], tzinfo=UTC), config.timezone)
            for entry in document.parsed.entries
        } == {month}
    if feed_format in XML_FORMATS:
        assert not subscription.is_marked_archive()
        newer = [None, *(document.url for document in documents)]
        for document, next_archive in zip(documents, newer, strict=False):
            assert document.is_marked_archive()
            assert document.link("current") == subscription.url
            assert document.link("next-archive") == next_archive
    return months


@pytest.mark.parametrize("slug", SLUGS)
@pytest.mark.parametrize("feed_format", FORMATS, ids=lambda f: f.suffix)
def test_walking_prev_archive_reaches_every_stored_story_once(
    archive: Config, slug: str, feed_format: FeedFormat
) -> None:
    months = check_archive(archive, slug, feed_format)
    assert (
        months
        == {
            ALL_NEWS: ["2023-09", "2023-07", "2023-06"],
            "politika": ["2023-09", "2023-06"],
            "ekonomika": ["2023-09", "2023-07"],
        }[slug]
    )


def document_stems(config: Config) -> list[str]:
    """Every subscription feed and month document, by its path without suffix."""
    feeds = config.output_dir / "feeds"
    return sorted(
        {
            str(path.relative_to(config.output_dir).with_suffix(""))
            for feed_format in FORMATS
            for path in feeds.rglob(f"[!.]*.{feed_format.suffix}")
        }
    )


def test_every_format_carries_the_same_entries_in_the_same_order(archive: Config) -> None:
    stems = document_stems(archive)
    assert len(stems) == 3 + 7  # three subscription feeds and seven month documents
    for stem in stems:
        parsed = {
            feed_format.suffix: read(archive, archive.url(f"{stem}.{feed_format.suffix}")).parsed
            for feed_format in FORMATS
        }
        entries = {
            suffix: [(entry.id, entry.title, entry.link, entry.published_parsed) for entry in feed]
            for suffix, feed in ((suffix, feed.entries) for suffix, feed in parsed.items())
        }
        assert len({tuple(each) for each in entries.values()}) == 1, stem
        assert [entry.updated_parsed for entry in parsed["atom"].entries] == [
            entry.updated_parsed for entry in parsed["json"].entries
        ]


def test_every_document_passes_strict_xml_feedparser_and_newsboat(
    archive: Config, tmp_path: Path
) -> None:
    """parse_valid_feed (in `read`) parses strictly and wants feedparser's bozo 0."""
    documents = [
        read(archive, archive.url(f"{stem}.{feed_format.suffix}"))
        for stem in document_stems(archive)
        for feed_format in XML_FORMATS
    ]
    for number, document in enumerate(documents):
        url = (archive.output_dir / document.url.removeprefix(archive.base_url)).as_uri()
        items = newsboat_feeds([url], tmp_path / f"newsboat-{number}")[url]
        assert sorted(item["guid"] for item in items) == sorted(document.ids), url


def changed_files(root: Path, before: dict[str, bytes]) -> set[str]:
    """Files written, created or removed since `before` (a `file_tree`)."""
    after = file_tree(root)
    return {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}


def documents_of(slug: str, month: str, formats: list[FeedFormat] = FORMATS) -> set[str]:
    """JSON Feed has no next-archive: a new month after one changes only its XML documents."""
    return {f"feeds/archive/{slug}/{month}.{feed_format.suffix}" for feed_format in formats}


def feeds_changed(config: Config, before: dict[str, bytes]) -> set[str]:
    """Under feeds/, less the gzip copies that follow each file (tests/test_precompress.py)."""
    return {
        name
        for name in changed_files(config.output_dir, before)
        if name.startswith("feeds/") and not name.endswith(GZIP_SUFFIX)
    }


def test_a_correction_rewrites_only_the_month_documents_that_show_it(
    archive: Config, deliver
) -> None:
    before = file_tree(archive.output_dir)
    deliver_story(deliver, 1, "05.06.23", "Политика", title="Новость 1, исправленная")
    ingest_and_publish(archive)
    assert feeds_changed(archive, before) == documents_of("politika", "2023-06") | documents_of(
        ALL_NEWS, "2023-06"
    )


def test_a_category_move_rewrites_both_sides_and_relinks_the_neighbours(
    archive: Config, deliver
) -> None:
    """Story 3 was Ekonomika's only July story: that month's documents go, and
    Politika gains a July between its June and September."""
    before = file_tree(archive.output_dir)
    deliver_story(deliver, 3, "03.07.23", "Политика")
    ingest_and_publish(archive)
    assert feeds_changed(archive, before) == (
        documents_of("ekonomika", "2023-07")  # removed
        | documents_of("ekonomika", "2023-09")  # no prev-archive any more
        | documents_of("politika", "2023-06", XML_FORMATS)  # next-archive: July
        | documents_of("politika", "2023-07")  # new
        | documents_of("politika", "2023-09")  # prev-archive: July
        | documents_of(ALL_NEWS, "2023-07")  # the story's category
    )
    assert not (archive.output_dir / "feeds/archive/ekonomika/2023-07.rss").exists()
    assert f"feeds/archive/ekonomika/2023-07.rss{GZIP_SUFFIX}" in before  # its copy, gone too
    assert not (archive.output_dir / f"feeds/archive/ekonomika/2023-07.rss{GZIP_SUFFIX}").exists()
    for slug in SLUGS:
        for feed_format in FORMATS:
            check_archive(archive, slug, feed_format)


def test_a_new_month_links_the_subscription_feed_to_it(archive: Config, deliver) -> None:
    before = file_tree(archive.output_dir)
    deliver_story(deliver, 20, "02.10.23", "Экономика")
    ingest_and_publish(archive)
    assert feeds_changed(archive, before) == (
        {
            feed_path(slug, feed_format)
            for slug in (ALL_NEWS, "ekonomika")
            for feed_format in FORMATS
        }
        | documents_of("ekonomika", "2023-10")
        | documents_of("ekonomika", "2023-09", XML_FORMATS)  # next-archive: October
        | documents_of(ALL_NEWS, "2023-10")
        | documents_of(ALL_NEWS, "2023-09", XML_FORMATS)
    )
    subscription = read(archive, archive.url(feed_path("ekonomika", FEED_FORMATS.primary)))
    assert subscription.older == archive.url("feeds/archive/ekonomika/2023-10.rss")


def test_regen_rebuilds_deleted_documents(archive: Config) -> None:
    before = file_tree(archive.output_dir)
    (archive.output_dir / "feeds/archive/all/2023-07.atom").unlink()
    regenerate(archive)
    assert file_tree(archive.output_dir) == before


@pytest.mark.parametrize(
    "publish",
    [ingest_and_publish, lambda config: regenerate(config, all_pages=True)],
    ids=["next ingest", "regen --all-pages"],
)
def test_a_new_time_zone_moves_stories_to_their_new_months(
    archive: Config, publish: Callable[[Config], object]
) -> None:
    """In Pago Pago (UTC-11) noon in Baku on 1 September is the evening of 31 August.
    Month documents of months left without stories go, stray ones too."""
    stray = archive.output_dir / "feeds/archive/politika/2023-05.json"
    stray.write_bytes(b"{}")
    moved = replace(archive, timezone=ZoneInfo("Pacific/Pago_Pago"))
    publish(moved)
    assert not stray.exists()
    assert check_archive(moved, "politika", FEED_FORMATS.primary) == [
        "2023-09",
        "2023-08",
        "2023-06",
    ]
    for slug in SLUGS:
        for feed_format in FORMATS:
            check_archive(moved, slug, feed_format)


def test_month_documents_are_served_with_their_types_and_closed_months_cached_long(
    tmp_path: Path, deliver
) -> None:
    """The stories of 2023 are in months that have ended; today's is in the current one."""
    config = config_for(tmp_path, server={"port": 0, "cache_max_age": 60})
    today = datetime.now(config.timezone)
    deliver_story(deliver, 1, "05.06.23", "Политика")
    deliver_story(deliver, 2, today.strftime("%d.%m.%y"), "Политика")
    ingest_and_publish(config)
    with FeedServer(config) as server:
        client = Client(server.url)
        for feed_format in FORMATS:
            for month, expected in (
                ("2023-06", cache_control(config, closed_month=True)),
                (month_of(today, config.timezone), cache_control(config)),
            ):
                path = f"/feeds/archive/politika/{month}.{feed_format.suffix}"
                reply = client.get(path)
                assert reply.status == 200, path
                assert reply.headers["Content-Type"] == f"{feed_format.media_type}; charset=utf-8"
                assert reply.headers["Cache-Control"] == expected
                again = client.get(path, {"If-None-Match": reply.headers["ETag"]})
                assert again.status == 304
                assert again.headers["Cache-Control"] == expected
        client.close()


def test_listeners_are_told_of_each_month_document_written(archive: Config, deliver) -> None:
    heard: list[FileWritten] = []
    listener = FILE_WRITTEN.subscribe(heard.append)
    try:
        deliver_story(deliver, 30, "15.09.23", "Экономика")
        ingest_and_publish(archive)
    finally:
        FILE_WRITTEN.unsubscribe(listener)
    months = {event.relative_path: event for event in heard if "/archive/" in event.relative_path}
    assert set(months) == documents_of("ekonomika", "2023-09") | documents_of(ALL_NEWS, "2023-09")
    for relative, event in months.items():
        assert event.feed_format is not None and relative.endswith(f".{event.feed_format.suffix}")
        assert event.feed_slug == relative.split("/")[2]
        assert event.media_type == event.feed_format.media_type
        assert event.data == (archive.output_dir / relative).read_bytes()
