"""A subscriber's reader loads the generated feeds, from files and from the server."""

from __future__ import annotations

import logging
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from feeder.config import Config
from feeder.feeds.model import FeedFormat, feed_path
from feeder.pipeline import ingest_and_publish
from tests.client import Client
from tests.conftest import SEED, deliver_day, wire_text
from tests.feedcheck import XML_FORMATS
from tests.readers import newsboat_items, newsboat_validators


@pytest.mark.parametrize("feed_format", XML_FORMATS, ids=lambda f: f.suffix)
def test_newsboat_stores_every_entry_of_a_generated_feed(
    config: Config, deliver, run_ingest, tmp_path: Path, feed_format: FeedFormat
) -> None:
    deliver(SEED.name, SEED.read_bytes())
    for number in range(1, 6):
        deliver(
            f"{number:03d}_{number:016x}.txt",
            wire_text(title=f"Новость <{number}> & Co", date=f"0{number}.10.23"),
        )
    run_ingest()
    url = (config.output_dir / feed_path("politika", feed_format)).as_uri()
    items = newsboat_items(url, tmp_path / "newsboat")
    assert len(items) == 6
    titles = {item["title"] for item in items}
    assert "Новость <3> & Co" in titles
    assert any(title.startswith("Алиев выразил соболезнования") for title in titles)
    assert {item["author"] for item in items} == {"Turan"}
    assert all(item["guid"].startswith("tag:example.org,2024:feeder/story/") for item in items)


@pytest.mark.parametrize("feed_format", XML_FORMATS, ids=lambda f: f.suffix)
def test_newsboat_polls_the_served_feed_and_is_answered_304_once_it_has_it(
    served_config: Config,
    client: Client,
    deliver,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    feed_format: FeedFormat,
) -> None:
    caplog.set_level(logging.INFO)
    for number in range(1, 4):
        deliver_day(deliver, number, title=f"Новость {number}")
    ingest_and_publish(served_config)
    path = feed_path("politika", feed_format)
    url = served_config.url(path)
    assert url.startswith("http://127.0.0.1:")
    # newsboat keeps a feed's validators from its second fetch on, so the third is conditional.
    for _ in range(3):
        items = newsboat_items(url, tmp_path / "newsboat")
    assert sorted(item["title"] for item in items) == ["Новость 1", "Новость 2", "Новость 3"]
    statuses = [
        record.getMessage().rsplit(" ", 1)[1]
        for record in caplog.records
        if record.name == "uvicorn.access" and f"GET /{path} " in record.getMessage()
    ]
    assert statuses[0] == "200" and statuses[-1] == "304", statuses
    # newsboat asks for gzip, and the gzip representation has its own ETag.
    served = client.get("/" + path, {"Accept-Encoding": "gzip"}).headers
    etag, last_modified = newsboat_validators(url, tmp_path / "newsboat")
    assert etag == served["ETag"]
    assert last_modified == parsedate_to_datetime(served["Last-Modified"]).timestamp()
