"""RFC 5005 archived feeds, as readers that backfill and follow a feed walk them."""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from feeder.backup import backup_database
from feeder.config import Config
from feeder.feeds.entries import entry_id
from feeder.feeds.formats import FEED_FORMATS
from feeder.feeds.model import FeedFormat, feed_path
from feeder.paths import GZIP_SUFFIX
from feeder.pipeline import ingest_and_publish, regenerate, restore, withdraw
from feeder.publish.archives import PAGES_DIR
from feeder.serve.http_rules import cache_control
from feeder.slugs import ALL_NEWS
from feeder.store import Store
from tests.archive_client import ArchiveClient
from tests.client import Client
from tests.conftest import DeliverFn, file_tree, wire_text
from tests.feedcheck import XML_FORMATS, parse_valid_feed
from tests.readers import newsboat_feeds
from tests.state import downgrade

HISTORY = "{http://purl.org/syndication/history/1.0}"
TOMBSTONE = "{http://purl.org/atompub/tombstones/1.0}deleted-entry"
FORMATS = list(FEED_FORMATS)
ATOM = FEED_FORMATS.for_path("x.atom")
# Odd stories are Politika's, even ones Ekonomika's.
CATEGORIES = {"politika": "Политика", "ekonomika": "Экономика"}
FIRST_DAY = date(2023, 1, 1)


def story_name(number: int) -> str:
    return f"{number:04d}_{number:016x}.txt"


def deliver_story(
    deliver: DeliverFn,
    number: int,
    *,
    title: str | None = None,
    category: str | None = None,
    day: date | None = None,
) -> None:
    """Story `number`, ten a day from 1 January 2023, so newer numbers are newer stories."""
    day = day or FIRST_DAY + timedelta(days=number // 10)
    deliver(
        story_name(number),
        wire_text(
            title=title or f"Новость {number}",
            date=day.strftime("%d.%m.%y"),
            category=category or ("Политика" if number % 2 else "Экономика"),
        ),
    )


def deliver_stories(deliver: DeliverFn, numbers: range) -> None:
    for number in numbers:
        deliver_story(deliver, number)


@dataclass(frozen=True)
class Document:
    url: str
    data: bytes
    parsed: feedparser.FeedParserDict

    def link(self, rel: str) -> str | None:
        hrefs = [link.href for link in self.parsed.feed.get("links", []) if link.rel == rel]
        assert len(hrefs) <= 1, f"{self.url} has {len(hrefs)} {rel} links"
        return hrefs[0] if hrefs else None

    @property
    def older(self) -> str | None:
        return self.link("prev-archive") or self.parsed.feed.get("next_url")

    @property
    def ids(self) -> list[str]:
        return [entry.id for entry in self.parsed.entries]

    def xml(self) -> etree._Element:
        return etree.fromstring(self.data)

    @property
    def tombstones(self) -> list[str]:
        return [element.get("ref") for element in self.xml().iter(TOMBSTONE)]


def read(config: Config, url: str) -> Document:
    """The document at `url`, from the output directory, checked as a validator would."""
    data = fetch_file(config, url)
    return Document(url, data, parse_valid_feed(data, url))


def fetch_file(config: Config, url: str) -> bytes:
    assert url.startswith(config.base_url), url
    return (config.output_dir / url.removeprefix(config.base_url)).read_bytes()


def walk(config: Config, slug: str, feed_format: FeedFormat) -> tuple[Document, list[Document]]:
    """The subscription document, and every archive page its prev-archive links lead to."""
    subscription = read(config, config.url(feed_path(slug, feed_format)))
    pages: list[Document] = []
    older = subscription.older
    while older is not None:
        assert older not in [page.url for page in pages], f"a loop at {older}"
        pages.append(read(config, older))
        older = pages[-1].older
    return subscription, pages


def stored_ids(config: Config, slug: str) -> set[str]:
    with Store(config.database) as store:
        return {
            entry_id(config, entry.story_id)
            for batch in store.entry_batches(500)
            for entry in batch
            if slug in (ALL_NEWS, entry.category_slug)
        }


def check_archive(config: Config, slug: str, feed_format: FeedFormat) -> list[Document]:
    """Walk one feed as RFC 5005 asks; every stored story is in exactly one page or,
    no page holding it yet, in the subscription document."""
    subscription, pages = walk(config, slug, feed_format)
    in_pages = Counter(identifier for page in pages for identifier in page.ids)
    expected = stored_ids(config, slug)
    assert set(in_pages.values()) <= {1}, "no story is in two pages"
    assert set(in_pages) | set(subscription.ids) == expected, "every stored story is reachable"
    assert set(subscription.ids) <= expected
    numbers = [int(page.url.rsplit("-", 1)[1].split(".")[0]) for page in pages]
    assert numbers == list(range(len(pages), 0, -1)), "pages are numbered from the oldest"
    if feed_format in XML_FORMATS:
        assert subscription.xml().find(f".//{HISTORY}archive") is None
        newer = [None, *(page.url for page in pages)]
        for page, next_archive in zip(pages, newer, strict=False):
            assert page.xml().find(f".//{HISTORY}archive") is not None
            assert page.link("self") == page.url
            assert page.link("current") == subscription.url
            assert page.link("next-archive") == next_archive
    return pages


def page_sets(config: Config) -> dict[str, frozenset[str]]:
    """Every Atom archive page on disk: the stories it holds and the ones it says were deleted."""
    sets = {}
    for path in sorted((config.output_dir / PAGES_DIR).rglob("*.atom")):
        document = read(config, config.url(path.relative_to(config.output_dir).as_posix()))
        sets[document.url] = frozenset(document.ids) | frozenset(document.tombstones)
    return sets


def changed_files(config: Config, before: dict[str, bytes]) -> set[str]:
    """Files under feeds/ written, created or removed since `before` (a `file_tree`),
    less the gzip copies that follow each file (tests/test_precompress.py)."""
    after = file_tree(config.output_dir)
    return {
        name
        for name in before.keys() | after.keys()
        if before.get(name) != after.get(name)
        and name.startswith("feeds/")
        and not name.endswith(GZIP_SUFFIX)
    }


def documents(location: str) -> set[str]:
    return {f"{location}.{feed_format.suffix}" for feed_format in FORMATS}


def subscriptions(*slugs: str) -> set[str]:
    return {feed_path(slug, feed_format) for slug in slugs for feed_format in FORMATS}


def page_holding(config: Config, slug: str, number: int) -> str:
    """The location (no suffix) of the page of feed `slug` that holds story `number`."""
    story = entry_id(config, story_name(number).removesuffix(".txt"))
    for page in walk(config, slug, ATOM)[1]:
        if story in page.ids or story in page.tombstones:
            return page.url.removeprefix(config.base_url).removesuffix(".atom")
    raise AssertionError(f"no page of {slug} holds story {number}")


@pytest.fixture
def archive(config: Config, deliver: DeliverFn) -> Config:
    """120 stories: all news has two full pages, each category one."""
    deliver_stories(deliver, range(1, 121))
    ingest_and_publish(config)
    return config


@pytest.mark.parametrize("feed_format", FORMATS, ids=lambda f: f.suffix)
def test_walking_prev_archive_reaches_every_stored_story_once(
    archive: Config, feed_format: FeedFormat
) -> None:
    pages = {slug: check_archive(archive, slug, feed_format) for slug in (ALL_NEWS, *CATEGORIES)}
    assert {slug: len(found) for slug, found in pages.items()} == {
        ALL_NEWS: 2,
        "politika": 1,
        "ekonomika": 1,
    }
    assert all(len(page.ids) == archive.archive_page_size for page in pages[ALL_NEWS])


def test_every_format_carries_the_same_entries_in_the_same_order(archive: Config) -> None:
    for slug in (ALL_NEWS, *CATEGORIES):
        walked = {feed_format.suffix: walk(archive, slug, feed_format) for feed_format in FORMATS}
        shapes = {
            suffix: [
                [(entry.id, entry.title, entry.link) for entry in document.parsed.entries]
                for document in (subscription, *pages)
            ]
            for suffix, (subscription, pages) in walked.items()
        }
        assert shapes["rss"] == shapes["atom"] == shapes["json"], slug


def test_every_page_passes_strict_xml_feedparser_and_newsboat(
    archive: Config, tmp_path: Path
) -> None:
    """parse_valid_feed (in `read`) parses strictly and wants feedparser's bozo 0.
    newsboat keeps a story once whatever feed brings it, so each feed's pages in
    each format are read by a newsboat of their own."""
    for slug in (ALL_NEWS, *CATEGORIES):
        for feed_format in XML_FORMATS:
            urls = {
                (archive.output_dir / page.url.removeprefix(archive.base_url)).as_uri(): page
                for page in walk(archive, slug, feed_format)[1]
            }
            read_by_newsboat = newsboat_feeds(list(urls), tmp_path / f"{slug}-{feed_format.suffix}")
            for url, page in urls.items():
                assert sorted(item["guid"] for item in read_by_newsboat[url]) == sorted(page.ids)


def test_a_page_is_titled_by_its_dates_and_links_to_the_day_page(archive: Config) -> None:
    oldest = walk(archive, ALL_NEWS, ATOM)[1][-1]
    assert oldest.parsed.feed.title == "Тестовая лента — 2023-01-01 – 2023-01-06"
    assert oldest.link("alternate") == archive.url("archive/all/2023-01-06.html")


def test_a_polling_rfc5005_client_misses_no_story_correction_or_late_story(
    served_config: Config, deliver: DeliverFn
) -> None:
    """Between polls the desk files more stories than a subscription document
    holds, corrects week-old stories and files one dated a year back."""
    config = served_config
    client = Client(config.base_url)
    clients = {
        slug: ArchiveClient(
            lambda url: client.get(url.removeprefix(config.base_url.rstrip("/"))).body
        )
        for slug in (ALL_NEWS, "politika")
    }

    def poll() -> None:
        for slug, reader in clients.items():
            reader.poll(config.url(feed_path(slug, ATOM)))

    rounds = [range(1, 131), range(131, 261), range(261, 391)]
    deliver_stories(deliver, rounds[0])
    ingest_and_publish(config)
    poll()
    corrected = {5: "Новость 5, исправленная", 61: "Новость 61, исправленная"}
    for number, title in corrected.items():
        deliver_story(deliver, number, title=title)
    deliver_story(deliver, 1000, day=FIRST_DAY - timedelta(days=365))  # filed late
    ingest_and_publish(config)
    poll()
    for numbers in rounds[1:]:
        deliver_stories(deliver, numbers)
        ingest_and_publish(config)
        poll()
    client.close()
    for slug, reader in clients.items():
        assert set(reader.entries) == stored_ids(config, slug), slug
        pages_fetched = [count for url, count in reader.fetches.items() if "/pages/" in url]
        assert pages_fetched and set(pages_fetched) == {1}, "no page was fetched twice"
        titles = {identifier: copy.title for identifier, copy in reader.entries.items()}
        for number, title in corrected.items():
            if slug == ALL_NEWS or number % 2:
                assert titles[entry_id(config, story_name(number)[:-4])] == title
    assert entry_id(config, story_name(1000)[:-4]) in clients[ALL_NEWS].entries


def test_a_new_story_rewrites_its_two_subscription_documents_only(
    archive: Config, deliver: DeliverFn
) -> None:
    before = file_tree(archive.output_dir)
    deliver_story(deliver, 121)
    ingest_and_publish(archive)
    assert changed_files(archive, before) == subscriptions(ALL_NEWS, "politika")


def test_a_story_that_fills_a_page_seals_it_and_links_the_page_before(
    archive: Config, deliver: DeliverFn
) -> None:
    """Politika has 60 stories and all news 120: 40 more Politika stories fill the
    second page of one and the third of the other."""
    before = file_tree(archive.output_dir)
    deliver_stories(deliver, range(121, 201, 2))
    ingest_and_publish(archive)
    expected = subscriptions(ALL_NEWS, "politika")
    for slug in (ALL_NEWS, "politika"):
        newest, *older = walk(archive, slug, ATOM)[1]
        location = newest.url.removeprefix(archive.base_url).removesuffix(".atom")
        assert read(archive, archive.url(feed_path(slug, ATOM))).older == newest.url
        before_newest = older[0].url.removeprefix(archive.base_url).removesuffix(".atom")
        # The new page, and the one before it gains next-archive (JSON Feed has none).
        expected |= documents(location) | {f"{before_newest}.{f.suffix}" for f in XML_FORMATS}
    assert changed_files(archive, before) == expected


def test_a_correction_rewrites_the_pages_that_hold_it_and_reaches_the_subscription(
    archive: Config, deliver: DeliverFn
) -> None:
    before = file_tree(archive.output_dir)
    deliver_story(deliver, 3, title="Новость 3, исправленная")
    ingest_and_publish(archive)
    assert changed_files(archive, before) == (
        subscriptions(ALL_NEWS, "politika")
        | documents(page_holding(archive, ALL_NEWS, 3))
        | documents(page_holding(archive, "politika", 3))
    )
    story = entry_id(archive, story_name(3)[:-4])
    for slug in (ALL_NEWS, "politika"):
        assert story in read(archive, archive.url(feed_path(slug, ATOM))).ids


def test_a_category_move_leaves_its_page_and_joins_the_other_feed(
    archive: Config, deliver: DeliverFn
) -> None:
    sets = page_sets(archive)
    old_page = page_holding(archive, "politika", 3)
    before = file_tree(archive.output_dir)
    deliver_story(deliver, 3, category="Экономика")
    ingest_and_publish(archive)
    # Politika's subscription document did not hold the old story: it stays as it was.
    assert changed_files(archive, before) == (
        subscriptions(ALL_NEWS, "ekonomika")
        | documents(old_page)
        | documents(page_holding(archive, ALL_NEWS, 3))
    )
    story = entry_id(archive, story_name(3)[:-4])
    assert page_sets(archive)[archive.url(f"{old_page}.atom")] == sets[
        archive.url(f"{old_page}.atom")
    ] - {story}
    assert story in read(archive, archive.url(feed_path("ekonomika", ATOM))).ids
    for slug in (ALL_NEWS, *CATEGORIES):
        check_archive(archive, slug, ATOM)


def test_a_withdrawal_leaves_a_tombstone_in_its_page_and_a_restore_puts_it_back(
    archive: Config,
) -> None:
    sets = page_sets(archive)
    story_id = story_name(3)[:-4]
    story = entry_id(archive, story_id)
    pages = [page_holding(archive, slug, 3) for slug in (ALL_NEWS, "politika")]
    before = file_tree(archive.output_dir)
    withdraw(archive, story_id, "legal", "editor")
    # The subscription documents did not hold the old story; RSS and Atom say when
    # the feed changed, and Atom's carry the tombstone (JSON Feed has neither).
    assert changed_files(archive, before) == {
        feed_path(slug, feed_format)
        for slug in (ALL_NEWS, "politika")
        for feed_format in XML_FORMATS
    } | {name for page in pages for name in documents(page)}
    for page in pages:
        document = read(archive, archive.url(f"{page}.atom"))
        assert story not in document.ids
        assert document.tombstones == [story]
    assert page_sets(archive) == sets
    restore(archive, story_id)
    assert file_tree(archive.output_dir).keys() == before.keys()
    for page in pages:
        assert story in read(archive, archive.url(f"{page}.atom")).ids
    assert page_sets(archive) == sets


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda config: (config, lambda: regenerate(config)), id="regen"),
        pytest.param(
            lambda config: (config, lambda: regenerate(config, all_pages=True)), id="regen-all"
        ),
        pytest.param(lambda config: (replace(config, max_items=3), None), id="max_items"),
        pytest.param(lambda config: (replace(config, archive_page_size=70), None), id="page size"),
        pytest.param(
            lambda config: (
                replace(config, timezone=__import__("zoneinfo").ZoneInfo("Asia/Tokyo")),
                None,
            ),
            id="time zone",
        ),
    ],
)
def test_a_page_url_serves_the_same_entries_after(
    archive: Config, deliver: DeliverFn, change
) -> None:
    sets = page_sets(archive)
    config, publish = change(archive)
    deliver_stories(deliver, range(121, 201))
    (publish or (lambda: ingest_and_publish(config)))()
    ingest_and_publish(config)
    after = page_sets(config)
    assert {url: after[url] for url in sets} == sets
    for slug in (ALL_NEWS, *CATEGORIES):
        check_archive(config, slug, ATOM)


def test_a_restored_backup_seals_its_next_pages_under_new_urls(
    archive: Config, deliver: DeliverFn, tmp_path: Path
) -> None:
    """Pages sealed after the backup was taken were seen by readers; the restored
    database never fills those URLs with other stories."""
    backup = backup_database(archive.database, tmp_path / "backup.db").path
    deliver_stories(deliver, range(121, 221))
    ingest_and_publish(archive)
    seen = page_sets(archive)
    for suffix in ("", "-wal", "-shm"):
        archive.database.with_name(archive.database.name + suffix).unlink(missing_ok=True)
    shutil.copy(backup, archive.database)
    for number in range(121, 221):
        (archive.inbox / story_name(number)).unlink()
    deliver_stories(deliver, range(300, 400))  # other stories than those lost
    ingest_and_publish(archive)
    after = page_sets(archive)
    assert {url: after[url] for url in seen} == seen, "a URL seen keeps its stories"
    reader = ArchiveClient(lambda url: fetch_file(archive, url))
    reader.poll(archive.url(feed_path(ALL_NEWS, ATOM)))
    assert set(reader.entries) == stored_ids(archive, ALL_NEWS)


def test_a_subscription_document_over_its_byte_budget_seals_early(
    config: Config, deliver: DeliverFn
) -> None:
    """Ten stories of about 4 KB each in feeds do not fit in 20 KB: the oldest are
    sealed into a page rather than left out of every document."""
    small = replace(config, max_feed_bytes=20_000, max_items=10)
    for number in range(1, 11):
        deliver(
            story_name(number),
            wire_text(title=f"Новость {number}", paragraphs=(f"Абзац {number}. " * 400,)),
        )
    ingest_and_publish(small)
    subscription, pages = walk(small, ALL_NEWS, ATOM)
    assert len(subscription.data) <= 20_000
    assert pages, "sealed early"
    assert len(set(subscription.ids) | {i for page in pages for i in page.ids}) == 10


def test_pages_are_served_immutable_and_month_documents_gone(
    archive: Config, client: Client
) -> None:
    page = page_holding(archive, ALL_NEWS, 3)
    for path, status, cache in [
        (f"/{page}.atom", 200, cache_control(archive, sealed=True)),
        (f"/{page}.json?|x", 200, cache_control(archive, sealed=True)),
        (f"/{feed_path(ALL_NEWS, ATOM)}", 200, cache_control(archive)),
        ("/feeds/archive/all/2023-01.atom", 410, cache_control(archive)),
        ("/feeds/archive/politika/2023-01.json", 410, cache_control(archive)),
    ]:
        reply = client.get(path)
        assert (reply.status, reply.headers["cache-control"]) == (status, cache), path
    shown = client.get(f"/{page}.atom", {"accept": "text/html"})
    assert shown.headers["content-type"].startswith("text/html")
    assert shown.headers["cache-control"] == cache_control(archive), "the page changes"


def test_an_upgraded_install_keeps_its_history_in_pages(
    archive: Config, deliver: DeliverFn
) -> None:
    """An install of the month-document release (schema 12): its stories join their
    feeds in dateline order, the next publish seals them into pages, and the month
    documents go."""
    shutil.rmtree(archive.output_dir / PAGES_DIR)
    downgrade(archive.database, 12)
    old = archive.output_dir / "feeds/archive/all/2023-01.atom"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"<feed/>")
    deliver_story(deliver, 121)
    ingest_and_publish(archive)
    assert not (archive.output_dir / "feeds/archive").exists()
    for slug in (ALL_NEWS, *CATEGORIES):
        check_archive(archive, slug, ATOM)
    oldest = walk(archive, ALL_NEWS, ATOM)[1][-1]
    assert sorted(oldest.ids) == sorted(
        entry_id(archive, story_name(number)[:-4]) for number in range(1, 51)
    ), "in dateline order"
