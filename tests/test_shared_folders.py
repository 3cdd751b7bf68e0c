"""Two daemons whose databases share one folder, which is also the output folder of
one of them: each write has its own temp file, so neither daemon ever fails a write
or replaces a file with the other's bytes, however their writes interleave."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from lxml import etree

from feeder.config import Config, load_config
from feeder.feeds.formats import FEED_FORMATS
from tests import conftest
from tests.daemon_helpers import (
    BASE_URL,
    daemon_log,
    deliver_files,
    running_daemon,
    stop,
    wait_for,
)
from tests.feedcheck import feed_files, parse_valid_feed

pytestmark = pytest.mark.slow

ARTICLES = 90
MAX_ITEMS = 100
# Heartbeats this often (instead of every few seconds) make them busy writers.
HEARTBEAT_SECONDS = 0.002


def daemon_config(workdir: Path, database: Path, output_dir: Path) -> Path:
    workdir.mkdir()
    return conftest.write_config(
        workdir,
        base_url=BASE_URL,
        database=str(database),
        output_dir=str(output_dir),
        max_items=MAX_ITEMS,
        schedule={"ingest_interval": 1},
    )


def published_entries(config: Config) -> int:
    feed = config.feeds_dir / "all.atom"
    try:
        return len(parse_valid_feed(feed.read_bytes(), config.url("feeds/all.atom")).entries)
    except (OSError, AssertionError):
        return 0


def assert_output_whole(config: Config) -> None:
    """Every feed valid and complete, a page per article, index and OPML intact."""
    feeds = feed_files(config.feeds_dir)
    subscriptions = [feed for feed in feeds if feed.parent == config.feeds_dir]
    # All news and three categories, in every format; their month documents beside.
    assert len(subscriptions) == 4 * len(FEED_FORMATS)
    for feed in feeds:
        relative = str(feed.relative_to(config.output_dir))
        parsed = parse_valid_feed(feed.read_bytes(), config.url(relative))
        if feed in subscriptions:
            expected = ARTICLES if feed.stem == "all" else ARTICLES // 3
            assert len(parsed.entries) == expected, relative
    assert len(list(config.articles_dir.glob("*.html"))) == ARTICLES
    assert config.site_title in (config.output_dir / "index.html").read_text()
    etree.fromstring((config.output_dir / "feeds.opml").read_bytes())


def test_two_daemons_sharing_a_folder_never_break_each_other_s_files(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    paths = [
        daemon_config(tmp_path / "first", shared / "first.db", shared),
        daemon_config(tmp_path / "second", shared / "second.db", tmp_path / "second" / "public"),
    ]
    configs = [load_config(path) for path in paths]
    with (
        running_daemon(paths[0], "--no-serve", heartbeat_seconds=HEARTBEAT_SECONDS) as first,
        running_daemon(paths[1], "--no-serve", heartbeat_seconds=HEARTBEAT_SECONDS) as second,
    ):
        for config in configs:
            deliver_files(config.inbox, ARTICLES)
        for config in configs:
            wait_for(lambda config=config: published_entries(config) == ARTICLES, timeout=60)
        time.sleep(2)  # heartbeats go on beside each other
        for config, daemon in zip(configs, (first, second), strict=True):
            state = json.loads(config.daemon_state_path.read_text())
            assert state["pid"] == daemon.pid
        for daemon in (first, second):
            assert stop(daemon) == 0  # a heartbeat running at the stop must not hang it
    for path, config in zip(paths, configs, strict=True):
        log = daemon_log(path)
        assert "failed" not in log and "Traceback" not in log, log[-3000:]
        assert_output_whole(config)
