"""Feeds within their byte budget, even from articles built to explode them."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import feedparser

from feeder.config import load_config
from feeder.feeds.budget import SUMMARY_MAX_CHARS, shortened
from feeder.feeds.formats import FEED_FORMATS
from feeder.feeds.model import feed_path
from feeder.serve.server import FeedServer
from tests.client import Client
from tests.conftest import ROOT, wire_text, write_config
from tests.feedcheck import XML_FORMATS

# About 1 MB of the characters escaping multiplies most, in 20 paragraphs.
HOSTILE_PARAGRAPH = "<&" * 24_000 + " "
ARTICLES = 50
BUDGET = 1_000_000
# The ingest's peak resident memory; 332 MB when pages went to the writer 500 at a time.
PEAK_RSS_MB = 200
DOWNLOAD = "import sys, urllib.request; urllib.request.urlopen(sys.argv[1]).read()"


def test_a_long_summary_is_cut_at_a_word() -> None:
    text = "слово " * 1_000
    cut = shortened(text)
    assert len(cut) <= SUMMARY_MAX_CHARS + 1 and cut.endswith("слово…")
    assert shortened("коротко") == "коротко"


def test_fifty_exploding_articles_keep_every_feed_in_budget_and_the_server_responsive(
    readable_root: Path,
) -> None:
    config_path = write_config(readable_root, server={"host": "127.0.0.1", "port": 0})
    inbox = readable_root / "inbox"
    for number in range(1, ARTICLES + 1):
        path = inbox / f"{number:03d}_{number:016x}.txt"
        path.write_text(
            wire_text(
                date=f"{number % 28 + 1:02d}.09.23",
                title=f"Взрыв {number}",
                paragraphs=tuple(HOSTILE_PARAGRAPH for _ in range(20)),
            )
        )
        os.utime(path, (time.time() - 3600,) * 2)
    # Run as its own process, as operators run it (docs/serving.md has its peak memory).
    command = [sys.executable, "-m", "feeder", "--config", str(config_path), "ingest"]
    launched = subprocess.run(
        [sys.executable, "-m", "bench.launch", str(readable_root / "ingest.log"), *command],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    report = json.loads(launched.stdout)
    assert report["exit_code"] == 0, (readable_root / "ingest.log").read_text()[-2000:]
    assert report["peak_rss_mb"] < PEAK_RSS_MB, report
    config = load_config(config_path)
    for feed_format in FEED_FORMATS:
        for slug in ("all", "politika"):
            path = config.output_dir / feed_path(slug, feed_format)
            assert path.stat().st_size <= BUDGET, (path, path.stat().st_size)
    for feed_format in XML_FORMATS:  # feedparser reads no JSON Feed
        for slug in ("all", "politika"):
            path = config.output_dir / feed_path(slug, feed_format)
            parsed = feedparser.parse(path.read_bytes())
            assert parsed.bozo == 0
            titles = [entry.title for entry in parsed.entries]
            assert titles and titles[0] == "Взрыв 27"  # the newest day, 28.09, kept
            link = parsed.entries[0].link
            assert link in parsed.entries[0].content[0].value  # cut to its summary and a link

    with FeedServer(config) as server:
        pages = sorted((config.output_dir / "articles").iterdir())[:6]
        # Downloads from other processes, so that only the server's own work is timed.
        downloads = [
            subprocess.Popen(
                [sys.executable, "-c", DOWNLOAD, f"{server.url}articles/{page.name}"],
                stdout=subprocess.DEVNULL,
            )
            for page in pages
        ]
        client = Client(server.url)
        durations = []
        for _ in range(10):
            started = time.perf_counter()
            assert client.get("/index.html").status == 200
            durations.append(time.perf_counter() - started)
        for download in downloads:
            assert download.wait(timeout=60) == 0
        client.close()
    # The median: the two cores are shared with the downloading processes.
    assert statistics.median(durations) < 0.1, durations
