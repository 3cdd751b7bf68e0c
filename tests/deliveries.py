"""The agency's side of a test: numbered stories, corrections, copies and broken
files delivered with increasing mtimes, and the check that all of it was published."""

from __future__ import annotations

import os
import time

from feeder.config import Config
from feeder.files import TEMP_SUFFIX
from feeder.intake.wire import parse
from feeder.model import Article
from feeder.store import Store
from tests.conftest import wire_text
from tests.state import article_rows

CATEGORIES = ["Политика", "Экономика", "В мире", "Общество", "Спорт"]


def story_text(number: int, version: int = 1) -> str:
    return wire_text(
        title=f"Новость {number}, версия {version}",
        date=f"{number % 28 + 1:02d}.09.23",
        category=CATEGORIES[number % len(CATEGORIES)],
        paragraphs=(f"Новость номер {number}.", "Подробности. " * 30),
    )


class Inbox:
    """The agency's side: what was delivered, so the test knows what must be published."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.good: dict[str, str] = {}
        self.versions: dict[str, int] = {}
        self.duplicates: set[str] = set()
        self.broken: set[str] = set()
        self.clock = time.time() - 86400  # every delivery settled, each a second later

    def deliver(self, name: str, text: str) -> None:
        path = self.config.inbox / name
        path.write_text(text)
        self.clock += 1
        os.utime(path, (self.clock, self.clock))

    def new_stories(self, numbers: range) -> None:
        for number in numbers:
            name = f"{number:05d}_{number:016x}.txt"
            self.good[name] = story_text(number)
            self.versions[name] = 1
            self.deliver(name, self.good[name])

    def corrections(self, names: list[str]) -> None:
        for name in names:
            self.versions[name] += 1
            self.good[name] = story_text(int(name[:5]), self.versions[name])
            self.deliver(name, self.good[name])

    def copies(self, names: list[str]) -> None:
        for number, name in enumerate(names):
            copy = f"copy_{number:05d}.txt"
            self.duplicates.add(copy)
            self.deliver(copy, self.good[name])

    def broken_files(self, count: int) -> None:
        for number in range(count):
            name = f"broken_{number:05d}.txt"
            self.broken.add(name)
            self.deliver(name, wire_text(title=f"Сломанная {number}", end_mark=""))


def _content_hash(text: str) -> str:
    article = parse(text.encode(), "x.txt")
    assert isinstance(article, Article)
    return article.sha256


def assert_everything_published(config: Config, inbox: Inbox) -> None:
    """Each good file's latest version is stored exactly once; the rest are accounted for."""
    stored = {row["source_name"]: row["sha256"] for row in article_rows(config.database)}
    assert stored == {name: _content_hash(text) for name, text in inbox.good.items()}
    with Store(config.database) as store:
        outcomes = {name: store.file_outcome(name) for name in inbox.duplicates}
        assert all(o is not None and o.outcome == "duplicate" for o in outcomes.values())
        assert {reject.name for reject in store.rejects()} == inbox.broken
        assert store.dirty_feeds() == []
        assert store.dirty_page_count() == 0
    assert list(config.output_dir.rglob(f"*{TEMP_SUFFIX}")) == []
