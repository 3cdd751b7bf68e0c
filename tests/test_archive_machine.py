"""Archive pages under every mix of events a desk produces, checked by hypothesis.

New stories, late ones, corrections (some moving a story to another category),
withdrawals, restores and regenerations, in any order; after each, an RFC 5005
§4.2 client polls every feed. Pages hold three stories here, so that a few
steps seal several.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import feedparser
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from lxml import etree

from feeder.feeds.entries import entry_id
from feeder.feeds.formats import FEED_FORMATS
from feeder.feeds.model import feed_path
from feeder.pipeline import ingest_and_publish, regenerate, restore, withdraw
from feeder.publish.archives import PAGES_DIR
from feeder.slugs import ALL_NEWS
from tests.archive_client import ArchiveClient
from tests.conftest import config_for, wire_text
from tests.feedcheck import parse_valid_feed

CATEGORIES = {"politika": "Политика", "ekonomika": "Экономика"}
SLUGS = (ALL_NEWS, *CATEGORIES)
ATOM = FEED_FORMATS.for_path("x.atom")
TOMBSTONE = "{http://purl.org/atompub/tombstones/1.0}deleted-entry"
TODAY = date(2023, 9, 1)


class ArchiveMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="feeder-archive-machine-"))
        self.config = replace(config_for(self.root, max_items=2), archive_page_size=3)
        self.readers = {slug: ArchiveClient(self._fetch) for slug in SLUGS}
        self.categories: dict[int, str] = {}  # every story delivered, by number
        self.withdrawn: set[int] = set()
        self.revisions: Counter[int] = Counter()
        self.pages: dict[str, frozenset[str]] = {}  # each page's stories when first seen
        self.moved_out: dict[str, set[str]] = {slug: set() for slug in CATEGORIES}
        for slug in CATEGORIES:  # each feed exists from the start, empty
            self.categories[len(self.categories) + 1] = slug
            self._deliver(len(self.categories), TODAY)
        ingest_and_publish(self.config)

    def teardown(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    # --- what the desk does -------------------------------------------------------------

    @rule(slug=st.sampled_from(list(CATEGORIES)), days_back=st.sampled_from([0, 0, 0, 400]))
    def file_a_story(self, slug: str, days_back: int) -> None:
        """A new story, or one filed late with a date long past."""
        number = len(self.categories) + 1
        self.categories[number] = slug
        self._deliver(number, TODAY - timedelta(days=days_back))
        ingest_and_publish(self.config)

    @precondition(lambda self: self._present())
    @rule(data=st.data(), move=st.booleans())
    def correct_a_story(self, data: st.DataObject, move: bool) -> None:
        number = data.draw(st.sampled_from(self._present()))
        if move:
            old = self.categories[number]
            self.categories[number] = next(slug for slug in CATEGORIES if slug != old)
            self.moved_out[old].add(self._id(number))
        self.revisions[number] += 1
        self._deliver(number, TODAY)
        ingest_and_publish(self.config)

    @precondition(lambda self: self._present())
    @rule(data=st.data())
    def withdraw_a_story(self, data: st.DataObject) -> None:
        number = data.draw(st.sampled_from(self._present()))
        withdraw(self.config, self._story_id(number), "ошибка", "editor")
        self.withdrawn.add(number)

    @precondition(lambda self: self.withdrawn)
    @rule(data=st.data())
    def restore_a_story(self, data: st.DataObject) -> None:
        number = data.draw(st.sampled_from(sorted(self.withdrawn)))
        restore(self.config, self._story_id(number))
        self.withdrawn.discard(number)

    @rule(all_pages=st.booleans())
    def regenerate(self, all_pages: bool) -> None:
        regenerate(self.config, all_pages=all_pages)

    # --- what readers see ---------------------------------------------------------------

    @invariant()
    def a_polling_client_misses_no_story(self) -> None:
        for slug, reader in self.readers.items():
            reader.poll(self.config.url(feed_path(slug, ATOM)))
            assert self._stored(slug) <= set(reader.entries), slug

    @invariant()
    def a_sealed_page_keeps_its_stories(self) -> None:
        """A page may lose a story moved to another category, nothing else; a
        withdrawn story stays as its tombstone."""
        for url, stories in self._page_sets().items():
            first = self.pages.setdefault(url, stories)
            slug = url.removeprefix(self.config.url(PAGES_DIR)).split("/")[1]
            assert stories <= first, url
            assert first - stories <= self.moved_out.get(slug, set()), url

    @invariant()
    def walking_the_pages_reaches_every_story_once(self) -> None:
        for slug in SLUGS:
            subscription = self._read(self.config.url(feed_path(slug, ATOM)))
            in_pages: Counter[str] = Counter()
            older = _prev_archive(subscription)
            while older is not None:
                page = self._read(older)
                in_pages.update(entry.id for entry in page.entries)
                older = _prev_archive(page)
            assert set(in_pages.values()) <= {1}, slug
            held = set(in_pages) | {entry.id for entry in subscription.entries}
            assert held == self._stored(slug), slug

    # --- helpers ------------------------------------------------------------------------

    def _deliver(self, number: int, day: date) -> None:
        path = self.config.inbox / f"{number:04d}_{number:016x}.txt"
        title = f"Новость {number}, версия {self.revisions[number]}"
        slug = self.categories[number]
        path.write_text(
            wire_text(title=title, date=day.strftime("%d.%m.%y"), category=CATEGORIES[slug])
        )
        moment = time.time() - 3600
        os.utime(path, (moment, moment))

    def _present(self) -> list[int]:
        return [number for number in self.categories if number not in self.withdrawn]

    def _stored(self, slug: str) -> set[str]:
        return {
            self._id(number)
            for number in self._present()
            if slug in (ALL_NEWS, self.categories[number])
        }

    def _story_id(self, number: int) -> str:
        return f"{number:04d}_{number:016x}"

    def _id(self, number: int) -> str:
        return entry_id(self.config, self._story_id(number))

    def _fetch(self, url: str) -> bytes:
        return (self.config.output_dir / url.removeprefix(self.config.base_url)).read_bytes()

    def _read(self, url: str) -> feedparser.FeedParserDict:
        return parse_valid_feed(self._fetch(url), url)

    def _page_sets(self) -> dict[str, frozenset[str]]:
        sets = {}
        for path in (self.config.output_dir / PAGES_DIR).rglob("*.atom"):
            url = self.config.url(path.relative_to(self.config.output_dir).as_posix())
            data = path.read_bytes()
            ids = {entry.id for entry in self._read(url).entries}
            gone = {element.get("ref") for element in etree.fromstring(data).iter(TOMBSTONE)}
            sets[url] = frozenset(ids | gone)
        return sets


def _prev_archive(document: feedparser.FeedParserDict) -> str | None:
    hrefs = [link.href for link in document.feed.get("links", []) if link.rel == "prev-archive"]
    return hrefs[0] if hrefs else None


ArchiveMachine.TestCase.settings = settings(max_examples=12, stateful_step_count=14, deadline=None)
test_archive_pages_under_any_mix_of_events = ArchiveMachine.TestCase
