"""The gzip copies publishing writes beside the files readers poll."""

from __future__ import annotations

import gzip
import os

from feeder.config import Config
from feeder.feeds.formats import FEED_FORMATS
from feeder.feeds.model import feed_path
from feeder.files import TEMP_SUFFIX
from feeder.pipeline import ingest_and_publish, regenerate
from feeder.serve.server import FeedServer
from tests.client import Client
from tests.conftest import deliver_day

POLLED = [
    *(feed_path(slug, feed_format) for slug in ("all", "politika") for feed_format in FEED_FORMATS),
    "index.html",
    "feeds.opml",
    "feeds/feed.xsl",
]


def _copy_status(config: Config, relative: str) -> tuple[int, int]:
    status = (config.output_dir / f"{relative}.gz").stat()
    return status.st_ino, status.st_mtime_ns


def test_each_polled_file_has_a_gzip_copy_with_its_bytes_and_mtime(config: Config, deliver) -> None:
    deliver_day(deliver, 1)
    ingest_and_publish(config)
    for relative in POLLED:
        source = config.output_dir / relative
        copy = source.with_name(source.name + ".gz")
        assert gzip.decompress(copy.read_bytes()) == source.read_bytes(), relative
        assert copy.stat().st_mtime_ns == source.stat().st_mtime_ns, relative
    assert not list(config.output_dir.rglob(f"*{TEMP_SUFFIX}"))  # no temp file left behind


def test_a_copy_is_rewritten_only_when_its_source_changes(config: Config, deliver) -> None:
    deliver_day(deliver, 1)
    ingest_and_publish(config)
    before = {relative: _copy_status(config, relative) for relative in POLLED}
    regenerate(config, all_pages=True)
    assert {relative: _copy_status(config, relative) for relative in POLLED} == before
    deliver_day(deliver, 2, category="Экономика", title="Вторая")
    ingest_and_publish(config)
    after = {relative: _copy_status(config, relative) for relative in POLLED}
    changed = {relative for relative in POLLED if after[relative] != before[relative]}
    assert changed == {feed_path("all", f) for f in FEED_FORMATS} | {"index.html", "feeds.opml"}
    assert "Вторая" in gzip.decompress((config.feeds_dir / "all.rss.gz").read_bytes()).decode()


def test_a_copy_of_another_version_is_not_served(
    served_config: Config, server: FeedServer, deliver
) -> None:
    """A crash between a source's rename and its copy's leaves the older copy: the
    server tells it by its mtime and compresses the file as it is instead, with a
    weak ETag (`feeder.serve.compression`)."""
    deliver_day(deliver, 1)
    ingest_and_publish(served_config)
    source = served_config.feeds_dir / "all.rss"
    status = source.stat()
    os.utime(source, ns=(status.st_atime_ns, status.st_mtime_ns + 1_000_000_000))
    client = Client(server.url)
    reply = client.get("/feeds/all.rss", {"Accept-Encoding": "gzip"})
    client.close()
    assert reply.headers["ETag"].startswith('W/"')
    assert gzip.decompress(reply.body) == source.read_bytes()
