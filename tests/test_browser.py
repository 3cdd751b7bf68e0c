"""Feed URLs and the index as a person sees them in a real browser, served over HTTP."""

from __future__ import annotations

import pytest

from feeder.config import Config
from feeder.feeds import FeedFormat, feed_path
from feeder.formats import FEED_FORMATS
from feeder.pipeline import ingest_and_publish
from tests.browser import rendered_page
from tests.conftest import deliver_day

HOSTILE_TITLE = "Взрыв <script>alert('x')</script> & «кавычки»"


@pytest.fixture
def published(served_config: Config, deliver) -> Config:
    deliver_day(deliver, 1, category="Политика", title="Первая новость")
    deliver_day(deliver, 2, category="Политика", title=HOSTILE_TITLE)
    deliver_day(deliver, 3, category="Экономика", title="Цены на нефть")
    ingest_and_publish(served_config)
    return served_config


@pytest.mark.parametrize("feed_format", list(FEED_FORMATS), ids=lambda f: f.suffix)
def test_a_feed_url_shows_a_readable_page_with_a_subscribe_hint(
    published: Config, feed_format: FeedFormat
) -> None:
    url = published.url(feed_path("politika", feed_format))
    page = rendered_page(url)
    assert page.findtext("body/h1") == "Тестовая лента — Политика"
    assert [link.text_content() for link in page.xpath("//article/h2/a")] == [
        HOSTILE_TITLE,
        "Первая новость",
    ]
    assert not page.xpath("//script")  # the hostile title stayed text
    subscribe = page.xpath("//p[@class='subscribe']")[0]
    assert "To subscribe, copy its address into your feed reader" in subscribe.text_content()
    assert subscribe.xpath("a/@href") == [url]
    assert page.xpath("//a[text()='All categories and their feeds']/@href") == [
        published.url("index.html")
    ]


def test_the_index_lists_categories_with_subscribe_links_and_autodiscovery(
    published: Config,
) -> None:
    url = published.url("index.html")
    page = rendered_page(url)
    assert page.findtext("body/h1") == "Тестовая лента"
    rows = [[cell.text_content() for cell in row.xpath("td")] for row in page.xpath("//table//tr")]
    feed_links = " · ".join(feed_format.label for feed_format in FEED_FORMATS)
    assert ["Политика", "2", "02.09.2023", feed_links] in rows
    assert ["Экономика", "1", "03.09.2023", feed_links] in rows
    links = {anchor.text_content(): anchor.get("href") for anchor in page.xpath("//a")}
    assert links["every category at once (OPML)"] == "feeds.opml"
    hrefs = set(page.xpath("//a/@href"))
    feeds = {
        feed_path(slug, feed_format)
        for slug in ("all", "politika", "ekonomika")
        for feed_format in FEED_FORMATS
    }
    assert feeds <= hrefs
    assert set(page.xpath("//head/link[@rel='alternate']/@href")) == {
        published.url(path) for path in feeds
    }
