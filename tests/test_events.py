"""The channels' seam: what channels are told of files and stories, and that they
cannot break publishing nor lose a story change."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from feeder import pipeline
from feeder.channels.channel import Channel
from feeder.channels.dispatch import Channels
from feeder.config import Config
from feeder.events import FileWritten, StoryEvent
from feeder.feeds.formats import FEED_FORMATS
from feeder.feeds.model import feed_path
from feeder.model import StoryChange
from feeder.store import Store
from tests.conftest import deliver_day


class Recorder(Channel):
    """Keeps what it is told; `story_changed` queues in the outbox as a real channel does."""

    name = "recorder"
    written: ClassVar[list[FileWritten]] = []
    unchanged: ClassVar[list[FileWritten]] = []

    def file_written(self, event: FileWritten) -> None:
        self.written.append(event)

    def file_unchanged(self, event: FileWritten) -> None:
        self.unchanged.append(event)

    def story_changed(self, event: StoryEvent, now: float) -> None:
        key = f"{event.story_id}|{event.change.value}|{event.revision}"
        self.store.enqueue(self.name, key, "everyone", event.payload(), now)


class Broken(Channel):
    name = "broken"

    def file_written(self, event: FileWritten) -> None:
        raise ConnectionError("CDN unreachable")


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[Recorder]]:
    monkeypatch.setattr(pipeline, "CHANNELS", (*pipeline.CHANNELS, Recorder))
    Recorder.written.clear()
    Recorder.unchanged.clear()
    yield Recorder


def _event(relative_path: str = "feeds/all.rss") -> FileWritten:
    return FileWritten(
        relative_path=relative_path,
        path=Path("/srv/public") / relative_path,
        url=f"http://feeds.example.org/{relative_path}",
        media_type="application/rss+xml",
        data=b"<rss/>",
    )


def _queued(config: Config) -> list[StoryEvent]:
    with Store(config.database) as store:
        rows = store.connection.execute(
            "SELECT payload FROM outbox WHERE channel = 'recorder' ORDER BY id"
        ).fetchall()
    return [StoryEvent.from_payload(json.loads(payload)) for (payload,) in rows]


def test_a_failing_channel_is_logged_and_the_others_still_run(
    config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    Recorder.written.clear()
    with Store(config.database) as store:
        channels = Channels(config, store, (Broken, Recorder))
        with caplog.at_level(logging.ERROR, logger="feeder.channels.dispatch"):
            channels.file_written(_event())
    assert [event.relative_path for event in Recorder.written] == ["feeds/all.rss"]
    (record,) = caplog.records
    assert record.getMessage() == "feeds/all.rss: written, but channel broken failed on it"
    assert "CDN unreachable" in caplog.text


def test_publishing_tells_channels_of_each_file_it_writes(
    recorder: type[Recorder], config: Config, deliver, run_ingest
) -> None:
    deliver_day(deliver, 1)
    run_ingest()
    events = {event.relative_path: event for event in recorder.written}
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
    for event in recorder.written:
        assert event.path == config.output_dir / event.relative_path
        assert event.data == event.path.read_bytes()


def test_an_unchanged_file_is_told_as_unchanged(
    recorder: type[Recorder], deliver, run_ingest
) -> None:
    deliver_day(deliver, 1)
    run_ingest()
    deliver_day(deliver, 2, category="Экономика")
    recorder.written.clear()
    run_ingest()
    paths = {event.relative_path for event in recorder.written}
    assert "feeds/ekonomika.rss" in paths and "feeds/all.atom" in paths
    assert not {"feeds/politika.rss", "feeds/politika.atom", "feeds/feed.xsl"} & paths
    assert "feeds/feed.xsl" in {event.relative_path for event in recorder.unchanged}


def test_a_failing_channel_never_stops_publishing(
    monkeypatch: pytest.MonkeyPatch, config: Config, deliver, run_ingest
) -> None:
    monkeypatch.setattr(pipeline, "CHANNELS", (Broken, *pipeline.CHANNELS))
    deliver_day(deliver, 1)
    outcome = run_ingest()
    assert len(outcome.publish.feeds_written) == 2 * len(FEED_FORMATS)
    assert (config.output_dir / "index.html").is_file()
    assert run_ingest().publish.feeds_written == []  # the feeds were marked clean


def test_every_change_of_a_story_is_queued_once_with_what_a_message_needs(
    recorder: type[Recorder], config: Config, deliver, run_ingest
) -> None:
    deliver_day(deliver, 1, title="Переговоры в Баку")
    run_ingest()
    run_ingest()  # nothing new: nothing queued
    deliver_day(deliver, 1, title="Переговоры в Баку продолжатся")  # same story, corrected
    run_ingest()
    (published, corrected) = _queued(config)
    story_id = published.story_id
    pipeline.withdraw(config, story_id, "editor", "legal")
    pipeline.restore(config, story_id)
    changes = [(event.change, event.revision, event.headline) for event in _queued(config)]
    assert changes == [
        (StoryChange.PUBLISHED, 1, "Переговоры в Баку"),
        (StoryChange.CORRECTED, 2, "Переговоры в Баку продолжатся"),
        (StoryChange.WITHDRAWN, 2, "Переговоры в Баку продолжатся"),
        (StoryChange.RESTORED, 2, "Переговоры в Баку продолжатся"),
    ]
    with Store(config.database) as store:
        (page_key,) = store.connection.execute("SELECT page_key FROM articles").fetchone()
    assert corrected.url == config.url(f"articles/{page_key}.html")
    assert corrected.category_slug == "politika" and corrected.lead == corrected.body[0]
    assert corrected.published.utcoffset() == config.timezone.utcoffset(
        corrected.published.replace(tzinfo=None)
    )


def test_a_story_change_that_is_not_committed_queues_nothing(
    recorder: type[Recorder], monkeypatch: pytest.MonkeyPatch, config: Config, deliver, run_ingest
) -> None:
    """The deliveries commit with the change or not at all."""
    deliver_day(deliver, 1)

    def crash(self: Store, *args: object) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(Store, "update_feeds", crash)
    with pytest.raises(OSError):
        run_ingest()
    monkeypatch.undo()
    with Store(config.database) as store:
        assert store.article_count() == 0
    assert _queued(config) == []
    monkeypatch.setattr(pipeline, "CHANNELS", (*pipeline.CHANNELS, Recorder))
    run_ingest()
    assert [event.change for event in _queued(config)] == [StoryChange.PUBLISHED]
