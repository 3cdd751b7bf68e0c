"""The format registry as an extension point, and links every format must carry."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from lxml import etree

from feeder.config import Config
from feeder.feeds.entries import feed_model
from feeder.feeds.formats import FEED_FORMATS
from feeder.feeds.model import FeedFormat, FeedLink, FeedModel, feed_path
from feeder.feeds.xmlfeeds import Atom, Rss
from feeder.model import Entry
from feeder.site.pages import opml_path
from tests.client import Client
from tests.conftest import deliver_day
from tests.feedcheck import parse_valid_feed

ATOM = "{http://www.w3.org/2005/Atom}"
HUB = FeedLink("hub", "https://hub.example.org/")
# A person's browser opening a feed URL names HTML first.
BROWSER_ACCEPT = "text/html,*/*;q=0.8"
PREVIOUS = FeedLink("prev-archive", "http://feeds.example.org/news/feeds/pages/all/0a1b2c3d-7")


class TitlesOnly(FeedFormat):
    """A format defined here to prove a new one needs nothing but itself and its registration."""

    suffix = "titles"
    media_type = "text/plain"
    browser_media_type = "text/plain"
    label = "Titles"

    def render(self, feed: FeedModel) -> bytes:
        lines = [feed.title, feed.self_url(self), *(item.title for item in feed.items)]
        return "\n".join(lines).encode() + b"\n"


@pytest.fixture
def titles_only() -> Iterator[FeedFormat]:
    feed_format = FEED_FORMATS.register(TitlesOnly())
    yield feed_format
    FEED_FORMATS.unregister(feed_format)


def _entry(number: int) -> Entry:
    moment = datetime(2023, 9, number, 8, tzinfo=UTC)
    return Entry(
        story_id=f"{number:03d}",
        page_key=f"{number:03d}_page",
        title=f"Новость {number}",
        place="Баку",
        agency="Turan",
        paragraphs=("Первый абзац.", "Второй абзац."),
        category="Политика",
        category_slug="politika",
        published=moment,
        updated=moment,
        revision=1,
    )


@pytest.mark.parametrize(
    ("feed_format", "links_path"),
    [(Rss(), "channel/{atom}link"), (Atom(), "{atom}link")],
    ids=lambda value: getattr(value, "suffix", ""),
)
def test_hub_and_archive_links_of_the_model_reach_rss_and_atom(
    config: Config, feed_format: FeedFormat, links_path: str
) -> None:
    model = feed_model(config, "all", None, [_entry(2), _entry(1)], links=(HUB, PREVIOUS))
    data = feed_format.render(model)
    root = etree.fromstring(data, etree.XMLParser(recover=False))
    links = {
        link.get("rel"): link.get("href") for link in root.iterfind(links_path.format(atom=ATOM))
    }
    assert links["hub"] == HUB.href
    assert links["prev-archive"] == PREVIOUS.href
    assert links["self"] == model.self_url(feed_format)
    parsed = parse_valid_feed(data, model.self_url(feed_format))
    parsed_links = {link.rel: link.href for link in parsed.feed.links}
    assert (parsed_links["hub"], parsed_links["prev-archive"]) == (HUB.href, PREVIOUS.href)
    assert [entry.title for entry in parsed.entries] == ["Новость 2", "Новость 1"]


@pytest.mark.parametrize("feed_format", list(FEED_FORMATS), ids=lambda f: f.suffix)
def test_a_feed_without_extra_links_has_only_self_and_the_page(
    config: Config, feed_format: FeedFormat
) -> None:
    model = feed_model(config, "all", None, [_entry(1)])
    parsed = parse_valid_feed(feed_format.render(model), model.self_url(feed_format))
    assert {link.rel for link in parsed.feed.links} == {"self", "alternate"}


def test_a_registered_format_is_published_served_and_announced(
    titles_only: FeedFormat, config: Config, deliver, run_ingest, client: Client
) -> None:
    deliver_day(deliver, 1, title="Первая")
    deliver_day(deliver, 2, title="Вторая", category="Экономика")
    outcome = run_ingest()
    for slug in ("all", "politika", "ekonomika"):
        assert feed_path(slug, titles_only) in outcome.publish.feeds_written
    written = (config.output_dir / "feeds" / "all.titles").read_text().splitlines()
    assert written == ["Тестовая лента", config.url("feeds/all.titles"), "Вторая", "Первая"]

    reply = client.get("/feeds/all.titles")
    assert reply.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "Accept" in reply.headers["Vary"].split(", ")
    assert reply.body == (config.output_dir / "feeds" / "all.titles").read_bytes()

    index = etree.HTML((config.output_dir / "index.html").read_bytes())
    assert config.url("feeds/ekonomika.titles") in index.xpath(
        "//head/link[@rel='alternate'][@type='text/plain']/@href"
    )
    assert config.url("feeds/all.titles") in index.xpath(
        "//section[@class='subscribe']//code/text()"
    )
    category = etree.HTML((config.output_dir / "categories" / "politika.html").read_bytes())
    assert config.url("feeds/politika.titles") in category.xpath(
        "//section[@class='subscribe']//code/text()"
    )
    article = etree.HTML((config.articles_dir / f"{2:03d}_{2:016x}.html").read_bytes())
    assert article.xpath("//head/link[@type='text/plain']/@title") == [
        "Тестовая лента — Экономика (Titles)"
    ]


def test_a_browser_is_given_the_format_s_type_for_browsers_while_the_feed_has_no_page(
    titles_only: FeedFormat, config: Config, deliver, run_ingest, client: Client
) -> None:
    deliver_day(deliver, 1)
    run_ingest()
    (config.output_dir / "categories" / "politika.html").unlink()
    reply = client.get("/feeds/politika.rss", {"Accept": BROWSER_ACCEPT})
    assert reply.headers["Content-Type"] == "application/xml; charset=utf-8"
    reply = client.get("/feeds/politika.titles", {"Accept": BROWSER_ACCEPT})
    assert reply.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_each_opml_file_offers_each_feed_once_in_one_format(
    titles_only: FeedFormat, config: Config, deliver, run_ingest
) -> None:
    """feeds.opml in the primary format, as before; one more file per other format,
    each linked from the index."""
    deliver_day(deliver, 1)
    run_ingest()
    index = (config.output_dir / "index.html").read_text()
    for feed_format in FEED_FORMATS:
        path = opml_path(feed_format)
        opml = ElementTree.parse(config.output_dir / path).getroot()
        urls = [outline.get("xmlUrl") for outline in opml.iter("outline")]
        assert urls == [config.url(feed_path(slug, feed_format)) for slug in ("all", "politika")]
        assert f'href="{path}"' in index
    assert opml_path(FEED_FORMATS.primary) == "feeds.opml"


@pytest.mark.parametrize("suffix", ["rss", "html"])
def test_a_suffix_already_taken_is_refused(suffix: str) -> None:
    taken = TitlesOnly()
    taken.suffix = suffix
    with pytest.raises(ValueError, match=f"suffix {suffix!r}"):
        FEED_FORMATS.register(taken)
    assert [feed_format.suffix for feed_format in FEED_FORMATS] == ["rss", "atom", "json"]
