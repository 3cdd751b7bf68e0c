"""The post-publish hook: what listeners are told, and that they cannot break publishing."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from feeder.config import Config
from feeder.feeds.formats import FEED_FORMATS
from feeder.feeds.model import feed_path
from feeder.publish.events import FILE_WRITTEN, FileWritten, Listeners
from tests.conftest import deliver_day


def _event(relative_path: str = "feeds/all.rss") -> FileWritten:
    return FileWritten(
        relative_path=relative_path,
        path=Path("/srv/public") / relative_path,
        url=f"http://feeds.example.org/{relative_path}",
        media_type="application/rss+xml",
        data=b"<rss/>",
    )


def test_listeners_are_told_in_subscription_order() -> None:
    listeners = Listeners()
    heard: list[tuple[str, str]] = []
    listeners.subscribe(lambda event: heard.append(("first", event.relative_path)))
    listeners.subscribe(lambda event: heard.append(("second", event.relative_path)))
    listeners.emit(_event("feeds/all.rss"))
    listeners.emit(_event("index.html"))
    assert heard == [
        ("first", "feeds/all.rss"),
        ("second", "feeds/all.rss"),
        ("first", "index.html"),
        ("second", "index.html"),
    ]


def test_a_failing_listener_is_logged_and_the_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    listeners = Listeners()
    heard: list[str] = []

    def purge_cdn(event: FileWritten) -> None:
        raise ConnectionError("CDN unreachable")

    listeners.subscribe(purge_cdn)
    listeners.subscribe(lambda event: heard.append(event.relative_path))
    with caplog.at_level(logging.ERROR, logger="feeder.publish.events"):
        listeners.emit(_event())
    assert heard == ["feeds/all.rss"]
    (record,) = caplog.records
    assert (
        record.getMessage()
        == "feeds/all.rss: written, but tests.test_events.purge_cdn failed on it"
    )
    assert "CDN unreachable" in caplog.text


def test_an_unsubscribed_listener_hears_nothing_more() -> None:
    listeners = Listeners()
    heard: list[str] = []
    listener = listeners.subscribe(lambda event: heard.append(event.relative_path))
    listeners.emit(_event("feeds/a.rss"))
    listeners.unsubscribe(listener)
    listeners.emit(_event("feeds/b.rss"))
    assert heard == ["feeds/a.rss"]


@pytest.fixture
def written() -> Iterator[list[FileWritten]]:
    """Every event publishing emits while the test runs."""
    events: list[FileWritten] = []
    FILE_WRITTEN.subscribe(events.append)
    yield events
    FILE_WRITTEN.unsubscribe(events.append)


def test_publishing_announces_each_file_it_writes(
    written: list[FileWritten], config: Config, deliver, run_ingest
) -> None:
    deliver_day(deliver, 1)
    run_ingest()
    events = {event.relative_path: event for event in written}
    for slug in ("all", "politika"):
        for feed_format in FEED_FORMATS:
            event = events[feed_path(slug, feed_format)]
            assert (event.feed_format, event.feed_slug) == (feed_format, slug)
            assert event.media_type == feed_format.media_type
            assert event.url == config.url(feed_path(slug, feed_format))
    for relative, media_type in [
        ("index.html", "text/html"),
        ("feeds.opml", "text/x-opml"),
        ("feeds/feed.xsl", "text/xsl"),
    ]:
        assert (events[relative].media_type, events[relative].feed_format) == (media_type, None)
    for event in written:
        assert event.path == config.output_dir / event.relative_path
        assert event.data == event.path.read_bytes()


def test_an_unchanged_file_is_not_announced_again(
    written: list[FileWritten], deliver, run_ingest
) -> None:
    deliver_day(deliver, 1)
    run_ingest()
    deliver_day(deliver, 2, category="Экономика")
    written.clear()
    run_ingest()
    paths = {event.relative_path for event in written}
    assert "feeds/ekonomika.rss" in paths and "feeds/all.atom" in paths
    assert not {"feeds/politika.rss", "feeds/politika.atom", "feeds/feed.xsl"} & paths


def test_a_failing_listener_never_stops_publishing(config: Config, deliver, run_ingest) -> None:
    def broken(event: FileWritten) -> None:
        raise RuntimeError("listener bug")

    FILE_WRITTEN.subscribe(broken)
    try:
        deliver_day(deliver, 1)
        outcome = run_ingest()
    finally:
        FILE_WRITTEN.unsubscribe(broken)
    assert len(outcome.publish.feeds_written) == 2 * len(FEED_FORMATS)
    assert (config.output_dir / "index.html").is_file()
    assert run_ingest().publish.feeds_written == []  # the feeds were marked clean
