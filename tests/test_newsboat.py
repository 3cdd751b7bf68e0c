"""A subscriber's reader loads the generated feeds from file:// URLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from feeder.config import Config
from feeder.feeds import FeedFormat, feed_path
from tests.conftest import SEED, wire_text
from tests.readers import newsboat_items


@pytest.mark.parametrize("feed_format", list(FeedFormat), ids=lambda f: f.value)
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
