"""Properties that must hold for any input, not just the examples we thought of.

Example counts are bounded so the suite stays fast; hypothesis keeps the
failures it finds in .hypothesis/ and tries them first next time.
"""

from __future__ import annotations

import operator
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from feeder.config import Config
from feeder.feeds.entries import entry_id
from feeder.feeds.formats import FEED_FORMATS
from feeder.feeds.model import feed_path
from feeder.intake.wire import parse
from feeder.model import Article, Rejection, RejectReason
from feeder.pipeline import ingest_and_publish
from feeder.printable import printable
from feeder.slugs import ALL_NEWS
from feeder.store import Store
from tests.commands import feeder_cli
from tests.conftest import SEED, config_for, wire_text, write_config
from tests.feedcheck import RenderedHtml, entry_texts, parse_valid_feed
from tests.state import entries, tables

# --- any bytes under any name ---------------------------------------------------

SEED_ENCODED = [
    SEED.read_bytes(),
    SEED.read_text().encode("cp1251"),
    SEED.read_text().encode("utf-16"),
]


@st.composite
def damaged_seeds(draw: st.DrawFn) -> bytes:
    """The seed in one of its encodings with a few byte ranges replaced by noise."""
    data = bytearray(draw(st.sampled_from(SEED_ENCODED)))
    for _ in range(draw(st.integers(0, 4))):
        start = draw(st.integers(0, len(data)))
        end = draw(st.integers(start, min(len(data), start + 64)))
        data[start:end] = draw(st.binary(max_size=16))
    return bytes(data)


@settings(max_examples=300, deadline=None)
@given(data=st.one_of(st.binary(max_size=3000), damaged_seeds()), name=st.text(max_size=60))
def test_the_parser_returns_an_article_or_a_rejection_for_any_bytes(data: bytes, name: str) -> None:
    assert isinstance(parse(data, name), Article | Rejection)


# --- any inbox through `feeder ingest`: every file ends ingested or rejected --------

# The wire format's own lines, so that drawn files get past its first checks.
WIRE_LINES = [
    "Заголовок новости",
    "Баку/21.09.23/Turan: Первый абзац.",
    "Баку/31.02.23/Turan: Невозможная дата.",
    "Второй абзац. --0--",
    "--0--",
    "Политика",
    "-",
    "Написать отзыв",
    "",
    "   ",
]
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "cp1251", "koi8-r"]
wire_or_any_line = st.one_of(st.sampled_from(WIRE_LINES), st.text(max_size=80))


@st.composite
def inbox_files(draw: st.DrawFn) -> bytes:
    """Wire-format line structures in any line ending and encoding (one per line,
    at times), or noise, or a seed with bytes replaced."""
    lines = draw(st.lists(wire_or_any_line, max_size=12))
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    file_encoding = draw(st.sampled_from(ENCODINGS))
    mixed = draw(st.booleans())
    encoded = [
        line.encode(draw(st.sampled_from(ENCODINGS)) if mixed else file_encoding, "replace")
        for line in lines
    ]
    structured = ending.encode(file_encoding if file_encoding != "utf-16" else "utf-8").join(
        encoded
    )
    return draw(st.one_of(st.just(structured), st.binary(max_size=2000), damaged_seeds()))


@settings(max_examples=40, deadline=None)
@given(files=st.lists(inbox_files(), min_size=1, max_size=4))
def test_every_inbox_file_ends_ingested_or_rejected_with_its_reason_in_status(
    files: list[bytes],
) -> None:
    """No file is left without an outcome, none makes feeder fail on it (the
    `failed` reason is feeder's own bug), and the command ends without a traceback."""
    with tempfile.TemporaryDirectory() as directory:
        config_path = write_config(Path(directory))
        names = [f"{number:03d}_fuzz.txt" for number in range(len(files))]
        for name, data in zip(names, files, strict=True):
            (Path(directory) / "inbox" / name).write_bytes(data)
            os.utime(Path(directory) / "inbox" / name, (FIRST_DELIVERY, FIRST_DELIVERY))
        ingest = feeder_cli(config_path, "ingest")
        status = feeder_cli(config_path, "status")
        assert (ingest.exit_code, status.exit_code) == (0, 0), ingest.output
        assert "Traceback" not in ingest.output + status.output
        with Store(Path(directory) / "var" / "feeder.db") as store:
            for name in names:
                reject, outcome = store.reject(name), store.file_outcome(name)
                if reject is None:
                    assert outcome is not None and outcome.story_id is not None, name
                    assert store.story(outcome.story_id) is not None, name
                    continue
                assert reject.reason != RejectReason.FAILED.value, reject.message
                assert printable(f"  {name}: [{reject.reason}] {reject.message}") in status.output


# --- any accepted article makes valid feeds that show its text -------------------

# Any character, any script, controls and markup included; only line breaks would
# change which line is which. Each line starts visibly, so that few lines vanish.
visible = st.characters(whitelist_categories=["L", "N", "P", "S"], blacklist_characters="-")
anything = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n"))
line = st.builds(operator.add, visible, anything)
# The dateline's place and agency cannot hold its separators '/' and ':'.
dateline_word = st.text(st.characters(whitelist_categories=["L", "Nd"]), min_size=1, max_size=20)
story_names = st.text(
    st.characters(whitelist_categories=["L", "Nd", "Zs"], whitelist_characters="-_.,()'&"),
    min_size=1,
    max_size=30,
).filter(lambda name: not name.startswith("."))


@st.composite
def wire_articles(draw: st.DrawFn) -> bytes:
    text = wire_text(
        title=draw(line),
        date=draw(st.dates(date(1969, 1, 1), date(2068, 12, 31))).strftime("%d.%m.%y"),
        paragraphs=tuple(draw(st.lists(line, min_size=1, max_size=4))),
        category=draw(line),
        teasers=tuple(draw(st.lists(line, max_size=2))),
        place=draw(dateline_word),
        agency=draw(dateline_word),
    )
    return text.encode(draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16"])))


@settings(max_examples=100, deadline=None)
@given(data=wire_articles(), stem=story_names)
def test_feeds_of_any_accepted_article_are_valid_and_show_its_text(data: bytes, stem: str) -> None:
    name = f"{stem}.txt"
    article = parse(data, name)
    assume(isinstance(article, Article))
    with _workspace() as config:
        (config.inbox / name).write_bytes(data)
        ingest_and_publish(config)
        (slug,) = [entry.category_slug for entry in entries(config.database)]
        for feed_slug in (ALL_NEWS, slug):
            for feed_format in FEED_FORMATS:
                relative = feed_path(feed_slug, feed_format)
                feed = (config.output_dir / relative).read_bytes()
                (entry,) = parse_valid_feed(feed, config.url(relative)).entries
                assert entry.id == entry_id(config, article.story_id)
                (shown,) = entry_texts(feed)
                assert shown.title == article.title
                content = RenderedHtml.of(shown.content)
                assert content.tags == ["p"] * len(article.paragraphs)
                assert tuple(content.paragraphs) == article.paragraphs
                assert RenderedHtml.of(shown.summary).text == article.paragraphs[0]


# --- how deliveries fall into runs does not change the result ----------------------

# Drawn in any order these make new stories, duplicates (the same content under
# another name), corrections (other content under the same name, some moving the
# story to another category), re-deliveries, and a broken file (no category).
# The names sort in another order than they are likely to be delivered.
NAMES = ["005_aaaaaaaaaaaaaaaa.txt", "001_bbbbbbbbbbbbbbbb.txt", "Новость.txt", "009_c.txt"]
CONTENTS = [
    wire_text(title="Первая", category="Политика", date="21.09.23"),
    wire_text(title="Вторая", category="Экономика", date="20.09.23"),
    wire_text(title="Первая, исправленная", category="Политика", date="21.09.23"),
    wire_text(title="Первая, в другой рубрике", category="Экономика", date="21.09.23"),
    wire_text(title="Без рубрики", category=None),
]
# 2023-09-21 10:00 in Baku: some deliveries fall on their dateline's day, some do not.
FIRST_DELIVERY = datetime(2023, 9, 21, 10, tzinfo=ZoneInfo("Asia/Baku")).timestamp()

Delivery = tuple[str, str]


@st.composite
def split_deliveries(draw: st.DrawFn) -> tuple[list[Delivery], list[bool]]:
    """Deliveries in order (name, content), and whether a run follows each."""
    deliveries = draw(
        st.lists(
            st.tuples(st.sampled_from(NAMES), st.sampled_from(CONTENTS)), min_size=1, max_size=8
        )
    )
    runs = draw(st.lists(st.booleans(), min_size=len(deliveries), max_size=len(deliveries)))
    return deliveries, runs


# Found by hypothesis: a story that passed through a category's day between two
# runs dated that day's page in the day sitemap by its visit.
_VISITED = "Баку/20.09.23/Turan: Первый абзац.\nВторой абзац. --0--\nЭкономика"
_STAYED = "Баку/21.09.23/Turan: Первый абзац.\nВторой абзац. --0--\nПолитика"
_TAIL = "\n-\nЧужая новость.\nНаписать отзыв"


@settings(max_examples=40, deadline=None)
@given(split_deliveries())
@example(
    (
        [
            ("001_bbbbbbbbbbbbbbbb.txt", f"Первая\n{_STAYED}{_TAIL}"),
            ("001_bbbbbbbbbbbbbbbb.txt", f"Вторая\n{_VISITED}{_TAIL}"),
            ("001_bbbbbbbbbbbbbbbb.txt", f"Первая\n{_STAYED}{_TAIL}"),
            ("005_aaaaaaaaaaaaaaaa.txt", f"Вторая\n{_VISITED}{_TAIL}"),
        ],
        [False, False, True, False],
    )
)
def test_splitting_deliveries_across_runs_changes_nothing(
    split: tuple[list[Delivery], list[bool]],
) -> None:
    """Split anywhere, the database and every published byte are the same.

    The order of deliveries is kept. A run must come between two deliveries of the
    same name: the inbox holds one version of a name, and a version replaced before
    any run saw it was never delivered as far as feeder can know. So the reference
    ingests with only those runs (everything else at once), the other also after
    every delivery the split picks.
    """
    deliveries, runs = split
    with _workspace() as reference, _workspace() as split_up:
        _deliver(reference, deliveries, [False] * len(deliveries))
        _deliver(split_up, deliveries, runs)
        assert _database(split_up) == _database(reference)
        assert _published(split_up) == _published(reference)


def _deliver(config: Config, deliveries: list[Delivery], run_after: list[bool]) -> None:
    unseen: set[str] = set()
    for number, ((name, content), run) in enumerate(zip(deliveries, run_after, strict=True)):
        if name in unseen:
            ingest_and_publish(config)
            unseen.clear()
        path = config.inbox / name
        path.write_text(content)
        moment = FIRST_DELIVERY + 60 * number
        os.utime(path, (moment, moment))
        unseen.add(name)
        if run:
            ingest_and_publish(config)
            unseen.clear()
    ingest_and_publish(config)


def _database(config: Config) -> dict[str, list[tuple[Any, ...]]]:
    """Everything the database holds about the deliveries, less the clock's times
    (a file's ctime among them) and the feeds' versions, which count the runs that
    changed them."""
    return tables(
        config.database,
        leave_out={
            "rejects": {"first_seen", "last_seen"},
            "feeds": {"version"},
            "files": {"ctime_ns"},
        },
    )


def _published(config: Config) -> dict[str, bytes]:
    return {
        str(path.relative_to(config.output_dir)): path.read_bytes()
        for path in sorted(config.output_dir.rglob("*"))
        if path.is_file()
    }


@contextmanager
def _workspace() -> Iterator[Config]:
    """A fresh inbox, database and output folder (hypothesis runs many examples per test)."""
    with tempfile.TemporaryDirectory() as directory:
        yield config_for(Path(directory))
