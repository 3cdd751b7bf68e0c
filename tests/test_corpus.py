"""Odd and hostile deliveries (tests/corpus.py) and what each one becomes.

EXPECTED is the contract, one row per variant: the fields a subscriber sees in
the feeds, or the exact reason the file is rejected. docs/input.md shows the
same table, and a test below keeps the two in step.
"""

from __future__ import annotations

import errno
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import pytest

from feeder.config import Config, load_config
from feeder.feeds.entries import entry_id
from feeder.feeds.formats import FEED_FORMATS
from feeder.feeds.model import FeedFormat, feed_path
from feeder.intake.inbox import storable_name
from feeder.intake.ingest import IngestReport
from feeder.intake.wire import story_id_for
from feeder.model import Entry, RejectReason
from feeder.pipeline import ingest_and_publish
from feeder.slugs import ALL_NEWS
from feeder.store import FileOutcome, Store
from tests import corpus
from tests.commands import feeder_cli
from tests.conftest import ROOT, config_for, write_config
from tests.feedcheck import RenderedHtml, feed_files, parse_feed_file, parse_valid_feed
from tests.state import entries


@dataclass(frozen=True)
class Ingested:
    """A variant after all its rounds: where it went and what each run reported."""

    config: Config
    subject: str
    reports: list[IngestReport]

    def stories(self) -> list[Entry]:
        return entries(self.config.database)

    def story_ids(self) -> list[str]:
        return [entry.story_id for entry in self.stories()]

    def rejects(self) -> dict[str, str]:
        with Store(self.config.database) as store:
            return {reject.name: reject.reason for reject in store.rejects()}

    def feed_entry(self, slug: str, feed_format: FeedFormat, story_id: str) -> Any:
        """The story's entry, from a feed that is valid and carries no teaser's text."""
        relative = feed_path(slug, feed_format)
        feed = (self.config.output_dir / relative).read_bytes()
        assert not any(teaser.encode() in feed for teaser in corpus.TEASERS)
        parsed = parse_valid_feed(feed, self.config.url(relative))
        (entry,) = [
            entry for entry in parsed.entries if entry.id == entry_id(self.config, story_id)
        ]
        return entry


@dataclass(frozen=True)
class Published:
    """In the all-news feed and its category's, RSS and Atom, with these fields."""

    title: str = "Алиев выразил соболезнования Путину в связью гибелью миротворцев"
    date: str = "2023-09-21"
    category: str = "Политика"
    first_paragraph: str = corpus.FIRST_PARAGRAPH
    paragraphs: int = 7
    revision: int = 1

    @property
    def label(self) -> str:
        dated = [f"dated {self.date}"] if self.date != Published.date else []
        revised = [f"revision {self.revision}"] if self.revision != 1 else []
        return ", ".join(["published", *dated, *revised])

    def check(self, ingested: Ingested) -> None:
        story_id = story_id_for(ingested.subject)
        assert ingested.story_ids() == [story_id]
        assert ingested.rejects() == {}
        ((slug, revision),) = [(e.category_slug, e.revision) for e in ingested.stories()]
        assert revision == self.revision
        for feed_slug in (ALL_NEWS, slug):
            for feed_format in FEED_FORMATS:
                entry = ingested.feed_entry(feed_slug, feed_format, story_id)
                assert entry.title == self.title
                assert time.strftime("%Y-%m-%d", entry.published_parsed) == self.date
                assert self.category in {entry.tags[0].term, entry.tags[0].label}
                body = RenderedHtml.of(entry.content[0].value)
                assert body.tags == ["p"] * self.paragraphs  # agency text never becomes markup
                assert body.paragraphs[0] == self.first_paragraph
                assert RenderedHtml.of(entry.summary).text == self.first_paragraph


@dataclass(frozen=True)
class Skipped(Published):
    """Left alone while it may still be written, published once it is complete."""

    @property
    def label(self) -> str:
        return "skipped, then published"

    def check(self, ingested: Ingested) -> None:
        first = ingested.reports[0]
        assert (first.skipped, first.new, first.rejected) == (1, 0, 0)
        super().check(ingested)


@dataclass(frozen=True)
class Rejected:
    reason: RejectReason

    @property
    def label(self) -> str:
        return f"rejected: `{self.reason.value}`"

    def check(self, ingested: Ingested) -> None:
        assert ingested.rejects() == {storable_name(ingested.subject): self.reason.value}
        assert ingested.story_ids() == []
        assert ingested.reports[-1].rejected == 1


@dataclass(frozen=True)
class Duplicate:
    """Skipped as the same bytes as a story already published from `of`."""

    of: str = corpus.SEED_NAME
    label: ClassVar[str] = "duplicate"

    def check(self, ingested: Ingested) -> None:
        story_id = story_id_for(self.of)
        assert ingested.story_ids() == [story_id]
        with Store(ingested.config.database) as store:
            outcome = store.file_outcome(ingested.subject)
        assert outcome == FileOutcome("duplicate", story_id)
        assert ingested.reports[-1].duplicate == 1


@dataclass(frozen=True)
class Ignored:
    """Not an article delivery: not read, not reported."""

    label: ClassVar[str] = "ignored"

    def check(self, ingested: Ingested) -> None:
        assert ingested.story_ids() == [] and ingested.rejects() == {}
        assert all(count == 0 for count in ingested.reports[-1].counts().values())


Outcome = Published | Rejected | Duplicate | Ignored

CORRECTED = Published(title=corpus.CORRECTED_TITLE, revision=2)

EXPECTED: dict[str, Outcome] = {
    "seed": Published(),
    "crlf": Published(),
    "utf8-bom": Published(),
    "utf16-bom": Published(),
    "cp1251": Published(),
    "koi8-r": Published(),
    "trailing-blank-lines": Published(),
    "end-mark-own-line": Published(),
    "no-teasers": Published(),
    "teasers-no-boilerplate": Published(),
    "category-odd-spacing": Published(category="Политика"),
    "year-00": Published(date="2000-01-01"),
    "year-68": Published(date="2068-09-21"),
    "year-69": Published(date="1969-09-21"),
    "four-digit-year": Published(),
    "control-characters": Published(),
    "markup": Published(
        title=corpus.MARKUP_TITLE, first_paragraph=f"{corpus.MARKUP} {corpus.FIRST_PARAGRAPH}"
    ),
    "long-title": Published(title=corpus.LONG_TITLE),
    "name-cyrillic": Published(),
    "name-spaces": Published(),
    "name-not-utf8": Rejected(RejectReason.BAD_FILE_NAME),
    "suffix-upper-case": Published(),
    "no-headline": Rejected(RejectReason.NO_HEADLINE),
    "unknown-dateline": Rejected(RejectReason.NO_DATELINE),
    "dateline-without-date": Rejected(RejectReason.NO_DATELINE),
    "impossible-date": Rejected(RejectReason.IMPOSSIBLE_DATE),
    "missing-end-mark": Rejected(RejectReason.NO_END_MARK),
    "no-body": Rejected(RejectReason.NO_BODY),
    "no-category": Rejected(RejectReason.NO_CATEGORY),
    "empty-category": Rejected(RejectReason.NO_CATEGORY),
    "paragraph-as-category": Rejected(RejectReason.NO_CATEGORY),
    "category-invisible-characters": Published(category="Политика"),
    "category-only-invisible": Rejected(RejectReason.NO_CATEGORY),
    "dateline-fullwidth-digits": Rejected(RejectReason.NO_DATELINE),
    "dateline-arabic-indic-digits": Rejected(RejectReason.NO_DATELINE),
    "mixed-encodings": Rejected(RejectReason.MIXED_ENCODINGS),
    "file-time-impossible": Rejected(RejectReason.IMPOSSIBLE_FILE_TIME),
    "empty": Rejected(RejectReason.EMPTY),
    "whitespace-only": Rejected(RejectReason.EMPTY),
    "utf16-no-bom": Rejected(RejectReason.NOT_TEXT),
    "binary-junk": Rejected(RejectReason.NOT_TEXT),
    "too-large": Rejected(RejectReason.TOO_LARGE),
    "unreadable": Rejected(RejectReason.UNREADABLE),
    "not-txt": Ignored(),
    "hidden": Ignored(),
    "directory": Ignored(),
    "symlink-dangling": Rejected(RejectReason.UNREADABLE),
    "just-written": Skipped(),
    "growing": Skipped(),
    "duplicate": Duplicate(),
    "correction": CORRECTED,
    "correction-twice": CORRECTED,
    "fixed-in-place": Published(),
    "symlink-inside": Duplicate(),
    "symlink-outside": Rejected(RejectReason.OUTSIDE_INBOX),
}


@pytest.mark.parametrize("variant", corpus.variants(), ids=lambda variant: variant.key)
def test_each_delivery_becomes_what_the_table_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variant: corpus.Variant
) -> None:
    config = config_for(tmp_path, settle_seconds=2)
    reports = []
    for drops in variant.rounds:
        for drop in drops:
            drop.place(config.inbox)
        with _as_feeder_meets(drops, config.inbox, monkeypatch):
            reports.append(ingest_and_publish(config).ingest)
        for feed in feed_files(config.feeds_dir):
            parse_feed_file(config, feed)
    EXPECTED[variant.key].check(Ingested(config, variant.subject, reports))


def test_the_table_has_one_row_per_variant_and_every_rejection_reason() -> None:
    assert list(EXPECTED) == [variant.key for variant in corpus.variants()]
    reasons = {outcome.reason for outcome in EXPECTED.values() if isinstance(outcome, Rejected)}
    # `failed` is feeder's own failure, which no delivery causes on purpose;
    # test_ingest plants one.
    assert reasons == set(RejectReason) - {RejectReason.FAILED}


def test_docs_show_the_same_table() -> None:
    """docs/input.md lists every variant, in order, with the outcome this test expects."""
    docs = (ROOT / "docs" / "input.md").read_text(encoding="utf-8")
    table = docs.partition("\n## The corpus")[2]
    rows = re.findall(
        r"^\| `([a-z0-9-]+)` \| [^|]+ \| ([^|(]+?)(?: \(.*\))? \|$", table, re.MULTILINE
    )
    assert rows == [(key, outcome.label) for key, outcome in EXPECTED.items()]


# What the rejection messages tell the operator to do, one of these each; {config}
# is the config file in use.
ACTIONS = (
    "fix the file in the inbox or ask the agency to deliver it again",
    "raise max_file_size in {config}",
    "make it readable by the user feeder runs as",
    "copy the file into the inbox instead of linking to it",
    "put the file it names in place or remove the link",
    "rename the file",
    "give it the current time with `touch`",
)


def test_each_rejection_is_logged_once_and_listed_until_fixed_or_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """All the rejected variants in one inbox, through the command line an operator uses."""
    config_path = write_config(tmp_path)
    inbox = load_config(config_path).inbox
    rejected = _rejected_in_one_inbox()
    drops = tuple(drop for _, group in rejected.values() for drop in group)
    for drop in drops:
        drop.place(inbox)
    with _as_feeder_meets(drops, inbox, monkeypatch):
        runs = [feeder_cli(config_path, "ingest", log_level="warning") for _ in range(2)]
        listed = feeder_cli(config_path, "status").stdout
    logged = "".join(run.stderr for run in runs).splitlines()
    for name, (reason, _) in rejected.items():
        (line,) = [line for line in logged if f" {name}: rejected: " in line]
        assert any(action.format(config=config_path) in line for action in ACTIONS), line
        assert f"  {name}: [{reason.value}] " in listed
    fixed, removed = sorted(rejected)[::2], sorted(rejected)[1::2]
    for name in removed:
        (inbox / name).unlink()
    for name in fixed:
        (inbox / name).unlink()
        corpus.seed_file(corpus.replaced(0, f"Исправлено: {name}"), name).place(inbox)
    assert f": {len(fixed)} new, " in feeder_cli(config_path, "ingest").stdout
    assert "Rejected files: 0\n" in feeder_cli(config_path, "status").stdout


def _rejected_in_one_inbox() -> dict[str, tuple[RejectReason, tuple[corpus.Drop, ...]]]:
    """Each rejected variant's reason and drops, its subject renamed `<key>.txt`."""
    return {
        f"{variant.key}.txt": (
            outcome.reason,
            tuple(
                replace(drop, name=f"{variant.key}.txt") if drop.name == variant.subject else drop
                for drops in variant.rounds
                for drop in drops
            ),
        )
        for variant in corpus.variants()
        # Renamed, a file with a bad name would be a good one; test_ingest covers it.
        if isinstance(outcome := EXPECTED[variant.key], Rejected)
        and outcome.reason is not RejectReason.BAD_FILE_NAME
    }


@contextmanager
def _as_feeder_meets(
    drops: tuple[corpus.Drop, ...], inbox: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """What a test running as root cannot see on its own, shown to feeder honestly.

    Root reads a `chmod 000` file, so opening one for reading fails here as the kernel
    makes it fail for feeder's own user. A file the agency is still writing grows by
    its tail just as feeder opens it, after feeder has seen its size.
    """
    growing = {
        inbox / drop.name: drop.tail for drop in drops if isinstance(drop, corpus.GrowingFile)
    }
    real_open = os.open

    def open_as_feeder(path: str | Path, flags: int, *args: Any, **kwargs: Any) -> int:
        if not flags & (os.O_WRONLY | os.O_RDWR) and Path(path).parent == inbox:
            if not os.stat(path, follow_symlinks=False).st_mode & 0o444:
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
            if Path(path) in growing:
                with Path(path).open("ab") as writer:
                    writer.write(growing.pop(Path(path)))
        return real_open(path, flags, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(os, "open", open_as_feeder)
        yield
