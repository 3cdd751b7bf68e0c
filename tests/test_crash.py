"""Crash safety: feeder killed at any moment, a full disk, a locked database.

Whatever happens, the database stays sound, the output holds only complete
files (the old version or the new one), the error says what to do, and the
next run finishes the work. `feeder` runs here as a subprocess killed with
SIGKILL at random moments drawn from a fixed seed.
"""

from __future__ import annotations

import errno
import functools
import gzip
import itertools
import json
import os
import random
import signal
import sqlite3
import subprocess
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from feeder import pipeline
from feeder.config import Config, load_config
from feeder.feeds.formats import FEED_FORMATS
from feeder.feeds.jsonfeed import JsonFeed
from feeder.feeds.model import feed_path
from feeder.files import TEMP_SUFFIX
from feeder.paths import GZIP_SUFFIX
from feeder.pipeline import ingest_and_publish, regenerate
from feeder.serve.precompress import Precompress
from feeder.slugs import ALL_NEWS
from feeder.store import Store
from tests.commands import feeder_cli, feeder_command
from tests.conftest import file_tree, write_config
from tests.deliveries import Inbox, assert_everything_published
from tests.feedcheck import entry_texts, feed_files, parse_feed_file, parse_valid_feed
from tests.state import dirty_feeds, integrity

# The ingest kills start on over a thousand files, some duplicates and broken ones;
# after each kill and the run that completes the work, corrections and new stories
# arrive for the next. The window adapts to the run's length, so ten kills still land
# in every phase (start-up, ingest batches, feed and page writes).
GOOD, DUPLICATES, BROKEN = 1200, 150, 150
CYCLE_CORRECTIONS, CYCLE_NEW = 150, 50
INGEST_KILLS = 10
# Each regen rewrites 800 pages and every feed.
REGEN_PAGES, REGEN_KILLS = 800, 6


def assert_database_sound(config: Config) -> None:
    assert integrity(config.database) == "ok"


def assert_output_complete(config: Config) -> None:
    """Every file a reader can fetch is whole: feeds and OPML are well-formed XML (a cut
    file never is), pages end with </html>. Temp files are hidden and never served."""
    for feed in feed_files(config.feeds_dir):
        if feed.suffix == ".json":
            json.loads(feed.read_bytes())
        else:
            etree.parse(feed)
    opml = config.output_dir / "feeds.opml"
    if opml.exists():
        etree.parse(opml)
    for page in [config.output_dir / "index.html", *config.articles_dir.glob("[!.]*")]:
        if page.exists():
            assert page.read_bytes().rstrip().endswith(b"</html>"), page


def assert_feeds_valid(config: Config) -> None:
    for feed in feed_files(config.feeds_dir):
        parse_feed_file(config, feed)


JSON_FEED = next(f for f in FEED_FORMATS if isinstance(f, JsonFeed))


def assert_feeds_show_the_newest_stories(config: Config) -> None:
    """Each subscription document holds what the database says it holds, in their
    newest text, and its archive pages reach every other story of the feed."""
    with Store(config.database) as store:
        slugs = [ALL_NEWS, *store.category_slugs()]
        held = {
            slug: store.entries_by_story_ids(
                [
                    story
                    for part in store.subscription_members(slug, config.max_items)
                    for story in part
                ]
            )
            for slug in slugs
        }
        stored = {
            slug: {
                entry.title
                for batch in store.entry_batches(500)
                for entry in batch
                if slug in (ALL_NEWS, entry.category_slug)
            }
            for slug in slugs
        }
    for slug, entries in held.items():
        newest_first = sorted(entries, key=lambda e: (e.published, e.story_id), reverse=True)
        for feed_format in FEED_FORMATS:
            path = config.output_dir / feed_path(slug, feed_format)
            assert [entry.title for entry in entry_texts(path.read_bytes())] == [
                e.title for e in newest_first
            ]
        # JSON Feed's next_url leads through the archive pages as prev-archive does.
        reached: set[str] = set()
        url: str | None = config.url(feed_path(slug, JSON_FEED))
        while url is not None:
            document = json.loads(
                (config.output_dir / url.removeprefix(config.base_url)).read_bytes()
            )
            reached |= {item["title"] for item in document["items"]}
            url = document.get("next_url")
        assert reached == stored[slug], slug


class RandomKills:
    """Kill moments from a fixed seed, spread over about as long as a whole run takes.

    A run that ends before its moment is no kill; it shows how long the next run
    will take, so on any machine the kills land in every phase: start-up, ingest
    batches, feed and page writes.
    """

    def __init__(self, seed: int, first_run_seconds: float) -> None:
        self.moments = random.Random(seed)
        self.window = first_run_seconds
        self.kills = 0

    def run(self, config_path: Path, *args: str) -> None:
        started = time.monotonic()
        if feeder_until_killed(config_path, *args, after=self.moments.uniform(0, self.window)):
            self.kills += 1
        else:
            self.window = time.monotonic() - started


def feeder_until_killed(config_path: Path, *args: str, after: float) -> bool:
    """Run `feeder ARGS`; SIGKILL it `after` seconds unless it is done. Returns whether it was killed."""
    command = feeder_command(config_path, *args)
    with subprocess.Popen(
        [*command, "--log-level", "error"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    ) as process:
        try:
            process.wait(timeout=after)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
            return True
        assert process.returncode == 0, process.stderr.read().decode() if process.stderr else ""
        return False


@pytest.mark.slow
def test_ingest_killed_at_random_moments_loses_nothing_and_leaves_no_partial_file(
    tmp_path: Path,
) -> None:
    config_path = write_config(tmp_path)
    config = load_config(config_path)
    inbox = Inbox(config)
    inbox.new_stories(range(GOOD))
    inbox.copies(sorted(inbox.good)[:DUPLICATES])
    inbox.broken_files(BROKEN)
    killer = RandomKills(seed=5, first_run_seconds=1.5)
    while killer.kills < INGEST_KILLS:
        killer.run(config_path, "ingest")
        assert_database_sound(config)
        assert_output_complete(config)
        assert not feeder_until_killed(config_path, "ingest", after=60)  # the next run completes
        assert_everything_published(config, inbox)
        assert_feeds_show_the_newest_stories(config)
        inbox.corrections(killer.moments.sample(sorted(inbox.good), CYCLE_CORRECTIONS))
        inbox.new_stories(range(len(inbox.good), len(inbox.good) + CYCLE_NEW))
    assert not feeder_until_killed(config_path, "ingest", after=60)
    assert_database_sound(config)
    assert_feeds_valid(config)
    assert_everything_published(config, inbox)
    # And what is on disk is exactly what an uninterrupted full rebuild writes.
    fresh = replace(config, output_dir=tmp_path / "rebuilt")
    regenerate(fresh, all_pages=True)
    assert file_tree(config.output_dir) == file_tree(fresh.output_dir)


@pytest.mark.slow
def test_regen_killed_mid_write_leaves_every_feed_old_or_new(tmp_path: Path) -> None:
    titles = ["Лента до правки", "Лента после правки"]
    config_path = write_config(tmp_path, site_title=titles[0])
    inbox = Inbox(load_config(config_path))
    inbox.new_stories(range(REGEN_PAGES))
    ingest_and_publish(load_config(config_path))
    killer = RandomKills(seed=7, first_run_seconds=0.8)
    retitled = itertools.cycle(reversed(titles))
    while killer.kills < REGEN_KILLS:
        # A changed title changes every feed and page, so each regen rewrites them all.
        write_config(tmp_path, site_title=next(retitled))
        killer.run(config_path, "regen", "--all-pages")
        config = load_config(config_path)
        assert_output_complete(config)
        for feed in feed_files(config.feeds_dir):
            title = parse_feed_file(config, feed).feed.title
            assert title.startswith(tuple(titles)), title
    assert not feeder_until_killed(config_path, "regen", "--all-pages", after=60)
    final = load_config(config_path)
    assert_feeds_valid(final)
    assert list(final.output_dir.rglob(f"*{TEMP_SUFFIX}")) == []
    for feed in final.feeds_dir.glob("*.atom"):
        assert final.site_title in feed.read_text()


def test_a_killed_writer_s_temp_files_are_gone_after_the_next_run(tmp_path: Path) -> None:
    """A writer killed between writing a temp file and moving it into place leaves the
    file it was writing dirty in the database, so the next run writes that file again
    and removes the temp files left in the output's temp folder. The server never serves
    hidden files meanwhile (tests/test_server.py)."""
    config = load_config(write_config(tmp_path))
    inbox = Inbox(config)
    inbox.new_stories(range(3))
    ingest_and_publish(config)
    inbox.new_stories(range(3, 6))
    stale = [
        config.output_temp_dir / f".all.rss.0123456789abcdef{TEMP_SUFFIX}",
        config.output_temp_dir / f".story.html.fedcba9876543210{TEMP_SUFFIX}",
    ]
    for temp in stale:
        temp.write_bytes(b"<rss><chann")
    ingest_and_publish(config)
    assert list(config.output_dir.rglob(f".*{TEMP_SUFFIX}")) == []
    assert_output_complete(config)


def _fail_fsync_disk_full(monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk often shows at fsync, when the file system allocates the blocks."""

    def disk_full(descriptor: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", disk_full)


def _refuse_new_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """A read-only output folder; root ignores permissions, so creating a file is refused here."""
    real_open = os.open

    def read_only(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & os.O_WRONLY:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only)


@pytest.mark.parametrize(
    ("break_output", "strerror", "failed_file"),
    [
        # Pages are not fsynced, so a full disk shows first at a feed.
        (_fail_fsync_disk_full, "No space left on device", "feeds/all.rss"),
        # A new story's page is written before the feeds that link to it.
        (_refuse_new_files, "Permission denied", "articles/00001_0000000000000001.html"),
    ],
    ids=["disk-full", "not-writable"],
)
def test_a_failed_write_is_one_clear_line_and_the_next_run_writes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, break_output, strerror: str, failed_file: str
) -> None:
    config_path = write_config(tmp_path)
    config = load_config(config_path)
    inbox = Inbox(config)
    inbox.new_stories(range(1))
    assert feeder_cli(config_path, "ingest").exit_code == 0
    before = file_tree(config.feeds_dir)
    inbox.new_stories(range(1, 3))
    with monkeypatch.context() as patch:
        break_output(patch)
        result = feeder_cli(config_path, "ingest")
    assert result.exit_code == 1
    failed = config.output_dir / failed_file
    assert result.stderr == (
        f"Error: cannot write {failed}: {strerror}; check free space and that "
        f"{failed.parent} is a writable folder; the next run retries\n"
    )
    assert_database_sound(config)
    # The old feeds, whole (the new stories' pages, written first, may be there already).
    assert file_tree(config.feeds_dir) == before
    assert "all" in dirty_feeds(config.database)
    assert (
        f"FAILED: PublishError: cannot write {failed}" in feeder_cli(config_path, "status").stdout
    )
    feed = config.feeds_dir / "all.rss"
    assert feeder_cli(config_path, "ingest").exit_code == 0
    assert len(parse_valid_feed(feed.read_bytes(), config.url("feeds/all.rss")).entries) == 3
    assert_everything_published(config, inbox)


def test_a_database_locked_past_the_busy_timeout_is_one_clear_line_and_the_next_run_catches_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_path = write_config(tmp_path)
    config = load_config(config_path)
    inbox = Inbox(config)
    inbox.new_stories(range(2))
    feeder_cli(config_path, "ingest")
    inbox.new_stories(range(2, 5))
    # The real timeout is 30 s; the test waits a fraction of a second instead.
    monkeypatch.setattr(pipeline, "Store", functools.partial(Store, busy_timeout=0.2))
    other_writer = sqlite3.connect(config.database, isolation_level=None)
    try:
        other_writer.execute("BEGIN IMMEDIATE")
        result = feeder_cli(config_path, "ingest")
    finally:
        other_writer.close()
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(
        f"Error: database {config.database} is locked: another program has held its write lock "
        "for over 0.2 s"
    )
    assert "stop what holds it" in result.stderr
    assert feeder_cli(config_path, "ingest").exit_code == 0
    assert_everything_published(config, inbox)


def test_a_gzip_copy_left_behind_its_feed_is_rewritten_by_the_next_regen(tmp_path: Path) -> None:
    """nginx's gzip_static serves `<file>.gz` whatever its age, so a copy that a crash
    or a failed write left at an older version would serve old news to every reader
    that accepts gzip."""
    config_path = write_config(tmp_path)
    config = load_config(config_path)
    inbox = Inbox(config)
    inbox.new_stories(range(3))
    ingest_and_publish(config)
    feed = config.feeds_dir / "all.rss"
    copy = feed.with_name(feed.name + GZIP_SUFFIX)
    inbox.new_stories(range(3, 4))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Precompress, "file_written", lambda self, event: None)  # no copies this time
        ingest_and_publish(config)
    assert gzip.decompress(copy.read_bytes()) != feed.read_bytes()
    assert feeder_cli(config_path, "regen").exit_code == 0
    assert gzip.decompress(copy.read_bytes()) == feed.read_bytes()
    assert copy.stat().st_mtime_ns == feed.stat().st_mtime_ns
