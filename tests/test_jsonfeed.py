"""JSON Feed 1.1: the fields the spec defines, as a real reader sees them, hostile text intact."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from reader import make_reader

from feeder.config import Config
from feeder.feeds.entries import entry_id, feed_model
from feeder.feeds.jsonfeed import JsonFeed
from feeder.feeds.model import FeedLink, feed_path
from feeder.model import Entry
from feeder.pipeline import ingest_and_publish
from feeder.slugs import ALL_NEWS
from feeder.store import Store
from feeder.visible import visible
from tests.client import Client
from tests.conftest import deliver_day, wire_text
from tests.feedcheck import valid_json_feed

JSON = JsonFeed()
HUB = FeedLink("hub", "https://hub.example.org/websub")


def entry(number: int, **fields: object) -> Entry:
    moment = datetime(2023, 9, number, 8, tzinfo=UTC)
    values: dict[str, object] = {
        "story_id": f"{number:03d}",
        "page_key": f"{number:03d}_page",
        "title": f"Новость {number}",
        "place": "Баку",
        "agency": "Turan",
        "paragraphs": ("Первый абзац.", "Второй абзац."),
        "category": "Политика",
        "category_slug": "politika",
        "published": moment,
        "updated": moment.replace(hour=9),
        "revision": 2,
        **fields,
    }
    return Entry(**values)  # type: ignore[arg-type]


def test_a_feed_carries_every_field_the_spec_defines(config: Config) -> None:
    older = FeedLink(
        "prev-archive", config.url("feeds/pages/politika/0a1b2c3d-7"), same_format=True
    )
    model = feed_model(config, "politika", "Политика", [entry(2), entry(1)], links=(HUB, older))
    url = config.url("feeds/politika.json")
    document = valid_json_feed(JSON.render(model), url)
    assert {key: value for key, value in document.items() if key != "items"} == {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Тестовая лента — Политика",
        "home_page_url": config.url("categories/politika.html"),
        "feed_url": url,
        "description": "Тестовая лента — Политика",
        "language": "ru",
        "authors": [{"name": "Тестовая лента"}],
        "hubs": [{"type": "WebSub", "url": HUB.href}],
        "next_url": config.url("feeds/pages/politika/0a1b2c3d-7.json"),
    }
    assert document["items"][0] == {
        "id": "tag:example.org,2024:feeder/story/002",
        "url": config.url("articles/002_page.html"),
        "title": "Новость 2",
        "content_html": "<p>Первый абзац.</p><p>Второй абзац.</p>",
        "summary": "Первый абзац.",
        "date_published": "2023-09-02T08:00:00+00:00",
        "date_modified": "2023-09-02T09:00:00+00:00",
        "authors": [{"name": "Turan"}],
        "tags": ["Политика"],
        "language": "ru",
    }


def test_without_links_there_are_no_hubs_and_no_next_url(config: Config) -> None:
    document = json.loads(JSON.render(feed_model(config, ALL_NEWS, None, [entry(1)])))
    assert "hubs" not in document and "next_url" not in document


def test_the_same_feed_gives_the_same_bytes(config: Config) -> None:
    render = lambda: JSON.render(feed_model(config, ALL_NEWS, None, [entry(2), entry(1)]))  # noqa: E731
    assert render() == render()


def test_characters_json_allows_raw_but_readers_trip_over_are_escaped(config: Config) -> None:
    """Ingest drops these (feeder.intake.decoding); the renderer is safe without that."""
    title = "DEL\x7f C1\x85 LS\u2028 PS\u2029 lone\ud800 surrogate"
    data = JSON.render(feed_model(config, ALL_NEWS, None, [entry(1, title=title)]))
    document = valid_json_feed(data, config.url("feeds/all.json"))  # UTF-8, nothing raw
    assert document["items"][0]["title"] == title.replace("\ud800", "\ufffd")
    assert b"\\u007f" in data and b"\\u0085" in data and b"\\u2028" in data


HOSTILE = [
    '</script><script>alert("x")</script>',
    "\"quotes\" 'single' \\backslash\\ /slash/ & &amp; <b>bold</b>",
    "bidi \u202eevil\u202c zero\u200bwidth \ufeffBOM emoji 😀 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_text_round_trips_as_pages_show_it(config: Config, deliver, text: str) -> None:
    deliver(
        "001_0000000000000001.txt",
        wire_text(title=text, paragraphs=(text, "Второй абзац.")),
    )
    ingest_and_publish(config)
    for slug in (ALL_NEWS, "politika"):
        data = (config.output_dir / feed_path(slug, JSON)).read_bytes()
        (item,) = valid_json_feed(data, config.url(feed_path(slug, JSON)))["items"]
        # Bidi controls and zero-width characters go, as from pages (`feeder.visible`).
        assert item["title"] == visible(text)
        assert item["summary"] == visible(text)
        assert b"</script>" not in data or "</script>" in text  # JSON carries it as text


def test_a_reader_sees_every_item_with_its_id_title_link_and_dates(
    served_config: Config, deliver, tmp_path: Path
) -> None:
    """reader (a maintained feed reader library) fetches the feeds over HTTP, as it
    would from any site, and picks its JSON Feed parser by the media type served."""
    for number in range(1, 53):  # Politika's and all news' first archive pages fill
        deliver(
            f"{number:03d}_{number:016x}.txt",
            wire_text(title=f"Новость {number}", date=f"{number % 28 + 1:02d}.09.23"),
        )
    deliver(
        "099_0000000000000099.txt",
        wire_text(title="Июльская", date="10.07.23", category="Экономика"),
    )
    ingest_and_publish(served_config)
    with Store(served_config.database) as store:
        stored = {
            entry_id(served_config, entry.story_id): entry
            for batch in store.entry_batches(100)
            for entry in batch
        }
    feeds_dir = served_config.output_dir / "feeds"
    urls = [
        served_config.url(path.relative_to(served_config.output_dir).as_posix())
        for path in sorted(feeds_dir.rglob("[!.]*.json"))
    ]
    assert len(urls) == 3 + 2  # all, politika, ekonomika; a page of all and of politika
    with make_reader(str(tmp_path / "reader.sqlite")) as feed_reader:
        for url in urls:
            feed_reader.add_feed(url)
        feed_reader.update_feeds()
        for url in urls:
            feed = feed_reader.get_feed(url)
            assert feed.last_exception is None, (url, feed.last_exception)
            entries = list(feed_reader.get_entries(feed=url))
            assert entries, url
            for seen in entries:
                story = stored[seen.id]
                assert seen.title == story.title
                assert seen.link == served_config.url(f"articles/{story.page_key}.html")
                assert seen.published == story.published
                assert seen.updated == story.updated


def test_served_with_its_media_type_and_validators(
    served_config: Config, deliver, client: Client
) -> None:
    deliver_day(deliver, 1)
    ingest_and_publish(served_config)
    path = "/" + feed_path(ALL_NEWS, JSON)
    reply = client.get(path)
    assert reply.status == 200
    assert reply.headers["content-type"] == "application/feed+json; charset=utf-8"
    again = client.get(path, {"If-None-Match": reply.headers["etag"]})
    assert again.status == 304
