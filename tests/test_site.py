"""The site a reader opens: front page, categories, month archives, articles, sitemaps.

Pages are read as parsed HTML, by the text a reader sees and the links they follow.
"""

from __future__ import annotations

import os
import re
import shutil
import xml.etree.ElementTree as ElementTree
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from feeder.config import Config
from feeder.feeds.formats import FEED_FORMATS
from feeder.feeds.model import FeedFormat, feed_path
from feeder.pipeline import ingest_and_publish, regenerate
from feeder.publish import site as sitepublish
from feeder.store import MIGRATIONS, Store
from tests.conftest import ROOT, config_for, deliver_day, wire_text
from tests.feedcheck import parse_valid_feed
from tests.site_pages import (
    crawl,
    deliver_at,
    news_article,
    output_files,
    page,
    strict_parse,
    text,
    texts,
)
from tests.state import downgrade

BAKU = ZoneInfo("Asia/Baku")
FORMATS = list(FEED_FORMATS)
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"


def story_page(number: int) -> str:
    return f"articles/{number:03d}_{number:016x}.html"


def test_the_front_page_shows_the_newest_headlines_every_category_the_archive_and_feeds(
    config: Config, deliver, run_ingest
) -> None:
    deliver_day(deliver, 1, category="Политика", title="Первая", paragraphs=("Начало.", "Дальше."))
    deliver_day(deliver, 2, category="Политика", title="Вторая")
    deliver_day(deliver, 3, category="Экономика", title="Третья")
    run_ingest()
    front = page(config, "index.html")
    assert texts(front, "//ol[@class='headlines']/li/h3") == ["Третья", "Вторая", "Первая"]
    first = front.xpath("//ol[@class='headlines']/li")[2]
    assert first.xpath("h3/a/@href") == [story_page(1)]
    assert texts(first, "p") == ["Политика · 1 сентября 2023 г., 12:00", "Начало."]
    assert first.xpath("p/a/@href") == ["categories/politika.html"]
    assert texts(front, "//ul[@class='categories']/li") == [
        "Политика 2 статьи, последняя 2 сентября 2023 г., 12:00",
        "Экономика 1 статья, последняя 3 сентября 2023 г., 12:00",
    ]
    assert front.xpath("//ul[@class='categories']/li/a/@href") == [
        "categories/politika.html",
        "categories/ekonomika.html",
    ]
    assert texts(front, "//ul[@class='months']/li") == ["сентябрь 2023 г. 3 статьи"]
    assert front.xpath("//ul[@class='months']/li/a/@href") == ["archive/all/2023-09.html"]
    (every_month,) = front.xpath("//section[h2[@id='archive']]/p/a")
    assert (text(every_month), every_month.get("href")) == (
        "Все месяцы архива",
        "archive/all/index.html",
    )
    subscribe = front.xpath("//section[@class='subscribe']")[0]
    assert texts(subscribe, ".//code") == [config.url(feed_path("all", f)) for f in FORMATS]
    assert "Лента приносит каждую новую статью" in text(subscribe)
    assert subscribe.xpath(".//a/@href") == ["feeds.opml", "feeds-atom.opml", "feeds-json.opml"]
    assert set(front.xpath("//head/link[@rel='alternate']/@href")) == {
        config.url(feed_path(slug, f)) for slug in ("all", "politika", "ekonomika") for f in FORMATS
    }


def test_counts_take_russian_plural_forms(config: Config, deliver, run_ingest) -> None:
    sizes = {"Политика": 1, "Экономика": 2, "Спорт": 5, "Культура": 21}
    number = 0
    for category, size in sizes.items():
        for _ in range(size):
            number += 1
            deliver_day(deliver, number % 28 + 1, category=category, title=f"Новость {number}")
            (config.inbox / f"{number % 28 + 1:03d}_{number % 28 + 1:016x}.txt").rename(
                config.inbox / f"{number:03d}_story.txt"
            )
    run_ingest()
    counts = {
        slug: texts(page(config, f"categories/{slug}.html"), "//main/p[@class='meta']")[0]
        for slug in ("politika", "ekonomika", "sport", "kultura")
    }
    assert counts == {
        "politika": "1 статья",
        "ekonomika": "2 статьи",
        "sport": "5 статей",
        "kultura": "21 статья",
    }


def test_a_story_filed_after_local_midnight_shows_its_local_day_everywhere(
    config: Config, deliver, run_ingest
) -> None:
    """01:30 in Baku on 1 October is 21:30 UTC on 30 September."""
    moment = datetime(2023, 10, 1, 1, 30, tzinfo=BAKU)
    deliver_at(deliver, "night.txt", moment, title="Ночная новость")
    run_ingest()
    shown = "1 октября 2023 г., 01:30"
    article = page(config, "articles/night.html")
    assert texts(article, "//article/p[@class='meta']/time") == [shown]
    assert article.xpath("//article/p[@class='meta']/time/@datetime") == [moment.isoformat()]
    front = page(config, "index.html")
    assert shown in texts(front, "//ol[@class='headlines']/li/p[@class='meta']")[0]
    month = page(config, "archive/all/2023-10.html")
    assert texts(month, "//ol[@class='calendar']/li") == ["вс, 1 октября 2023 г. 1 статья"]
    assert month.xpath("//ol[@class='calendar']/li/a/@href") == ["2023-10-01.html"]
    day = page(config, "archive/all/2023-10-01.html")
    assert texts(day, "//h1") == ["Все новости: вс, 1 октября 2023 г."]
    assert texts(day, "//ol[@class='day']/li/time") == ["01:30"]
    for utc_day in ("archive/all/2023-09.html", "archive/all/2023-09-30.html"):
        assert not (config.output_dir / utc_day).exists()
    assert news_article(article)["datePublished"] == "2023-10-01T01:30:00+04:00"


def test_an_article_page_links_its_neighbours_category_and_feeds_and_describes_itself(
    config: Config, deliver, run_ingest
) -> None:
    for number in (1, 2, 3):
        deliver_day(deliver, number, category="Политика", title=f"Политика {number}")
    deliver_day(deliver, 4, category="Экономика", title="Экономика 4")
    run_ingest()
    article = page(config, story_page(2))
    assert texts(article, "//h1") == ["Политика 2"]
    assert texts(article, "//article/p[@class='meta']") == [
        "Баку, 2 сентября 2023 г., 12:00 · Turan"
    ]
    assert article.xpath("//nav[@class='crumbs']/a/@href") == ["../categories/politika.html"]
    neighbours = article.xpath("//nav[@class='neighbours']")[0]
    assert texts(neighbours, ".//li") == [
        "Предыдущая новость: Политика 1",
        "Следующая новость: Политика 3",
    ]
    assert neighbours.xpath(".//a/@href") == [
        f"{story_page(1).removeprefix('articles/')}",
        f"{story_page(3).removeprefix('articles/')}",
    ]
    assert texts(page(config, story_page(3)), "//nav[@class='neighbours']//li") == [
        "Предыдущая новость: Политика 2"
    ]
    assert texts(article, "//section[@class='subscribe']//code") == [
        config.url(feed_path("politika", f)) for f in FORMATS
    ]
    assert news_article(article) == {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": "Политика 2",
        "datePublished": "2023-09-02T12:00:00+04:00",
        "dateModified": "2023-09-02T12:00:00+04:00",
        "articleSection": "Политика",
        "dateline": "Баку",
        "inLanguage": "ru",
        "mainEntityOfPage": config.url(story_page(2)),
        "url": config.url(story_page(2)),
        "author": {"@type": "Organization", "name": "Turan"},
        "publisher": {"@type": "Organization", "name": "Тестовая лента"},
    }
    assert not article.xpath("//p[@class='corrected']")


def test_a_corrected_story_says_so_and_when(config: Config, deliver, run_ingest) -> None:
    moment = datetime(2023, 9, 21, 10, 0, tzinfo=BAKU)
    deliver_at(deliver, "story.txt", moment, title="Было")
    run_ingest()
    deliver_at(deliver, "story.txt", moment + timedelta(hours=3, minutes=5), title="Стало")
    run_ingest()
    article = page(config, "articles/story.html")
    assert texts(article, "//h1") == ["Стало"]
    assert texts(article, "//p[@class='corrected']") == ["Исправлено 21 сентября 2023 г., 13:05"]
    described = news_article(article)
    assert (described["datePublished"], described["dateModified"]) == (
        "2023-09-21T10:00:00+04:00",
        "2023-09-21T13:05:00+04:00",
    )


def _archive(config: Config, deliver) -> None:
    """Stories over three months and three categories, one corrected into another category."""
    categories = ("Политика", "Экономика", "Спорт")
    for number in range(30):
        moment = datetime(2023, 8 + number // 10, 1 + number % 10, 9, number, tzinfo=BAKU)
        deliver_at(
            deliver,
            f"s{number:02d}.txt",
            moment,
            title=f"Новость {number}",
            category=categories[number % 3],
        )
    ingest_and_publish(config)
    moment = datetime(2023, 8, 1, 9, 0, tzinfo=BAKU)
    deliver_at(deliver, "s00.txt", moment, title="Новость 0, исправленная", category="Спорт")
    ingest_and_publish(config)


def test_links_from_the_front_page_reach_every_story_once_per_archive(
    config: Config, deliver
) -> None:
    _archive(config, deliver)
    pages = crawl(config)
    stories = {path for path in pages if path.startswith("articles/")}
    with Store(config.database) as store:
        assert len(stories) == store.article_count() == 30
    for slug in ("all", "politika", "ekonomika", "sport"):
        listed = [
            link
            for path, links in pages.items()
            if re.fullmatch(rf"archive/{slug}/\d{{4}}-\d\d-\d\d\.html", path)
            for link in links
            if link.startswith("articles/")
        ]
        assert len(listed) == len(set(listed)), slug  # no story on two day pages
        if slug == "all":
            assert set(listed) == stories
    sport = page(config, "archive/sport/2023-08-01.html")
    assert texts(sport, "//ol[@class='day']/li/a") == ["Новость 0, исправленная"]
    # Its only story moved to another category: the day's page went, with its gzip copy.
    assert not list((config.output_dir / "archive/politika").glob("2023-08-01.*"))
    month = page(config, "archive/all/2023-09.html")
    assert month.xpath("//nav[@class='months']/a/@href") == ["2023-08.html", "2023-10.html"]
    assert texts(month, "//nav[@class='months']/a") == [
        "Раньше: август 2023 г.",
        "Позже: октябрь 2023 г.",
    ]
    day = page(config, "archive/all/2023-09-01.html")
    assert day.xpath("//nav[@class='days']/a/@href") == ["2023-08-10.html", "2023-09-02.html"]
    assert texts(day, "//nav[@class='days']/a") == [
        "Раньше: чт, 10 августа 2023 г.",
        "Позже: сб, 2 сентября 2023 г.",
    ]
    assert day.xpath("//nav[@class='crumbs']/a/@href") == ["../../index.html", "2023-09.html"]


def test_the_front_page_shows_a_year_of_months_and_the_archive_index_every_month(
    config: Config, deliver
) -> None:
    """Fifteen months of stories: the front and category pages stop at twelve, and
    the stories of the three oldest are reached through the archive index."""
    for number in range(15):
        moment = datetime(2022 + (number + 9) // 12, (number + 9) % 12 + 1, 5, 10, tzinfo=BAKU)
        deliver_at(deliver, f"m{number:02d}.txt", moment, title=f"Новость {number}")
    ingest_and_publish(config)
    front = page(config, "index.html")
    shown = front.xpath("//ul[@class='months']/li/a/@href")
    assert len(shown) == 12 and shown[0] == "archive/all/2023-12.html"
    assert shown[-1] == "archive/all/2023-01.html"
    category = page(config, "categories/politika.html")
    assert len(category.xpath("//ul[@class='months']/li")) == 12
    index = page(config, "archive/politika/index.html")
    assert texts(index, "//h1") == ["Политика: архив по месяцам"]
    assert texts(index, "//h2[starts-with(@id, 'year-')]") == ["2023", "2022"]
    assert texts(index, "//section[h2/@id='year-2022']//li") == [
        "декабрь 2022 г.",
        "ноябрь 2022 г.",
        "октябрь 2022 г.",
    ]
    pages = crawl(config)
    with Store(config.database) as store:
        stored = {f"articles/{key}.html" for key in store.page_keys()}
    assert len(stored) == 15
    assert stored <= pages.keys()
    # The oldest story is reached only through the archive index.
    assert "archive/all/2022-10.html" not in pages["index.html"]
    assert "archive/all/2022-10.html" in pages["archive/all/index.html"]


def test_every_page_is_valid_html(config: Config, deliver) -> None:
    _archive(config, deliver)
    html_files = sorted(config.output_dir.rglob("*.html"))
    assert len(html_files) > 40
    for path in html_files:
        strict_parse(path.read_bytes())


def sitemap_urls(config: Config) -> dict[str, set[str]]:
    """Every sitemap reached from robots.txt, through the sitemap indexes it names →
    the URLs it lists (each checked against the sitemaps.org rules on the way)."""
    robots = (config.output_dir / "robots.txt").read_text().splitlines()
    queue = [line.removeprefix("Sitemap: ") for line in robots if line.startswith("Sitemap: ")]
    found: dict[str, set[str]] = {}
    while queue:
        url = queue.pop()
        assert url.startswith(config.base_url), url  # absolute, on the site
        relative = url.removeprefix(config.base_url)
        data = (config.output_dir / relative).read_bytes()
        assert len(data) <= 50 * 1024 * 1024, relative
        root = ElementTree.fromstring(data)
        entries = list(root)
        assert len(entries) <= 50_000, relative
        for entry in entries:
            lastmod = entry.findtext(f"{SITEMAP}lastmod")
            if lastmod is not None:  # W3C Datetime: with seconds and a zone
                assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", lastmod)
        locs = {loc.text or "" for loc in root.iter(f"{SITEMAP}loc")}
        assert all(loc.startswith(config.base_url) for loc in locs), relative
        found[relative] = locs
        if root.tag == f"{SITEMAP}sitemapindex":
            queue += [loc for loc in locs if loc.removeprefix(config.base_url) not in found]
        else:
            assert root.tag == f"{SITEMAP}urlset", relative
    return found


def test_sitemaps_reached_from_robots_list_every_page(config: Config, deliver) -> None:
    _archive(config, deliver)
    today = datetime.now(BAKU).replace(hour=0, minute=30, second=0, microsecond=0)
    deliver_at(deliver, "today.txt", today, title="Сегодняшняя <новость>")
    ingest_and_publish(config)
    found = sitemap_urls(config)
    indexes = {"sitemap.xml", "sitemaps/2023.xml", f"sitemaps/{today.year}.xml"}
    assert indexes <= found.keys()
    listed = {
        url.removeprefix(config.base_url)
        for path, urls in found.items()
        if path not in indexes
        for url in urls
    }
    pages = {str(path.relative_to(config.output_dir)) for path in config.output_dir.rglob("*.html")}
    assert listed - {"articles/today.html"} == pages - {"articles/today.html"}
    # Every day of all news has its sitemap, named by its year's index.
    with Store(config.database) as store:
        days = {day.day for day in store.all_days() if day.slug == "all"}
    assert {path for path in found if re.fullmatch(r"sitemaps/[\d-]{10}\.xml", path)} == {
        f"sitemaps/{day}.xml" for day in days
    }
    day = ElementTree.parse(config.output_dir / "sitemaps/2023-09-01.xml").getroot()
    assert [url.findtext(f"{SITEMAP}loc") for url in day] == [
        config.url("articles/s10.html"),
        config.url("archive/all/2023-09-01.html"),
        config.url("archive/ekonomika/2023-09-01.html"),
    ]
    assert day[0].findtext(f"{SITEMAP}lastmod") == "2023-09-01T09:10:00+04:00"
    news = ElementTree.parse(config.output_dir / "news-sitemap.xml").getroot()
    (url,) = news.findall(f"{SITEMAP}url")
    assert url.findtext(f"{SITEMAP}loc") == config.url("articles/today.html")
    assert url.findtext(f"{NEWS}news/{NEWS}title") == "Сегодняшняя <новость>"
    assert url.findtext(f"{NEWS}news/{NEWS}publication/{NEWS}name") == "Тестовая лента"
    assert url.findtext(f"{NEWS}news/{NEWS}publication/{NEWS}language") == "ru"
    assert url.findtext(f"{NEWS}news/{NEWS}publication_date") == today.isoformat()


@pytest.mark.parametrize("feed_format", FORMATS, ids=lambda f: f.suffix)
def test_a_category_feed_links_to_its_category_page(
    config: Config, deliver, run_ingest, feed_format: FeedFormat
) -> None:
    deliver_day(deliver, 1, category="Экономика")
    run_ingest()
    for slug, page_path in (("ekonomika", "categories/ekonomika.html"), ("all", "index.html")):
        relative = feed_path(slug, feed_format)
        parsed = parse_valid_feed((config.output_dir / relative).read_bytes(), config.url(relative))
        assert parsed.feed.link == config.url(page_path)


HOSTILE_TITLE = 'Взрыв <script>alert(1)</script> "><img src=x onerror=alert(2)> \u202eвзад\u200b'
HOSTILE_BODY = "</script><script>alert(3)</script> & \u2066изоляция\u2069"
HOSTILE_CATEGORY = "Рубрика <b onmouseover=alert(4)>"


def test_hostile_text_stays_text_in_every_page_the_json_ld_and_the_sitemaps(
    config: Config, deliver, run_ingest
) -> None:
    today = datetime.now(BAKU).replace(hour=0, minute=45, second=0, microsecond=0)
    deliver_at(
        deliver,
        "hostile.txt",
        today,
        title=HOSTILE_TITLE,
        paragraphs=(HOSTILE_BODY, "Второй абзац."),
        category=HOSTILE_CATEGORY,
    )
    deliver_at(
        deliver, "plain.txt", today + timedelta(minutes=5), title="Сосед", category=HOSTILE_CATEGORY
    )
    run_ingest()
    shown_title = 'Взрыв <script>alert(1)</script> "><img src=x onerror=alert(2)> взад'
    for path in sorted(config.output_dir.rglob("*.html")):
        data = path.read_bytes()
        assert "\u202e".encode() not in data and "\u200b".encode() not in data, path
        document = page(config, str(path.relative_to(config.output_dir)))
        assert not document.xpath("//img | //b | //*[@onerror] | //*[@onmouseover]"), path
        for script in document.xpath("//script[not(@type)]"):
            assert "alert" not in (script.text or ""), path  # only the copy button's
        for data in document.xpath("//script[@type='application/ld+json']"):
            assert "<" not in data.text, path  # so no "</script>" ends it early
    article = page(config, "articles/hostile.html")
    assert texts(article, "//h1") == [shown_title]
    assert texts(article, "//article/p")[1] == "</script><script>alert(3)</script> & изоляция"
    described = news_article(article)
    assert described["headline"] == shown_title
    assert described["articleSection"] == HOSTILE_CATEGORY
    neighbour = page(config, "articles/plain.html")
    assert texts(neighbour, "//nav[@class='neighbours']//a") == [shown_title]
    news = ElementTree.parse(config.output_dir / "news-sitemap.xml").getroot()
    assert shown_title in [title.text for title in news.iter(f"{NEWS}title")]


def test_an_english_site_speaks_english(tmp_path: Path, deliver) -> None:
    config = config_for(tmp_path, language="en")
    deliver_day(deliver, 1, category="Политика")
    deliver_day(deliver, 2, category="Политика")
    ingest_and_publish(config)
    front = page(config, "index.html")
    assert texts(front, "//main/section/h2")[:2] == ["Newest news", "Categories"]
    assert texts(front, "//ul[@class='categories']/li") == [
        "Политика 2 stories, newest September 2, 2023, 12:00"
    ]
    assert texts(front, "//ul[@class='months']/li") == ["September 2023 2 stories"]
    assert front.get("lang") == "en"


def test_every_interface_string_has_a_russian_translation() -> None:
    with (ROOT / "feeder" / "messages" / "ru.po").open("rb") as po_file:
        catalogue = read_po(po_file, locale="ru")
    templates = ROOT / "feeder" / "site" / "templates"
    options = {"**": {"extensions": "jinja2.ext.i18n"}}
    method_map = [("**.html", "jinja2"), ("**.xsl", "jinja2")]
    used = {message for _, _, message, _, _ in extract_from_dir(templates, method_map, options)}
    assert len(used) > 20
    for message in used:
        key = message[0] if isinstance(message, tuple) else message
        translated = catalogue.get(key)
        assert translated is not None and translated.string, f"no Russian for {key!r}"
        if isinstance(message, tuple):
            assert all(translated.string) and len(translated.string) == 3, key


def test_a_russian_page_has_no_english_words(config: Config, deliver, run_ingest) -> None:
    deliver_day(deliver, 1, category="Политика")
    deliver_day(deliver, 2, category="Политика")
    run_ingest()
    deliver_day(deliver, 1, category="Политика", title="Исправленный заголовок")
    run_ingest()
    allowed = {"RSS", "Atom", "JSON", "Feed", "OPML", "Turan"}  # format names and the agency's
    for relative in (
        "index.html",
        "categories/politika.html",
        "archive/politika/index.html",
        "archive/politika/2023-09.html",
        "archive/politika/2023-09-01.html",
        story_page(1),
    ):
        document = page(config, relative)
        for code in document.xpath("//code | //script"):
            code.drop_tree()  # addresses to copy, and data for machines
        words = set(re.findall(r"[A-Za-z]{2,}", text(document.body)))
        assert words <= allowed, (relative, words - allowed)


def _file_story(config: Config, name: str, moment: datetime, **fields: Any) -> None:
    """A story dated `moment`'s local day, its file written at `moment` (published then)."""
    path = config.inbox / name
    path.write_text(wire_text(date=moment.strftime("%d.%m.%y"), teasers=(), **fields))
    os.utime(path, (moment.timestamp(), moment.timestamp()))


def _sources(changed: set[str]) -> set[str]:
    """The rewritten files without their gzip copies, each of which must be rewritten
    with its source (feeder.serve.precompress) and only then."""
    copies = {path for path in changed if path.endswith(".gz")}
    assert {path.removesuffix(".gz") for path in copies} <= changed, copies
    return changed - copies


def test_one_new_story_in_an_archive_of_10000_rewrites_only_its_own_pages(
    tmp_path: Path, deliver
) -> None:
    config = config_for(tmp_path)
    categories = ("Политика", "Экономика", "Спорт", "Культура", "В мире")
    start = datetime(2020, 1, 1, 8, 0, tzinfo=BAKU)
    for number in range(10_000):
        moment = start + timedelta(hours=2 * number)
        _file_story(
            config,
            f"{number:05d}.txt",
            moment,
            title=f"Новость {number}",
            category=categories[number % 5],
        )
    ingest_and_publish(config)
    before = output_files(config.output_dir)
    newest = start + timedelta(hours=2 * 10_000)
    deliver_at(deliver, "new.txt", newest, title="Свежая новость", category="Экономика")
    ingest_and_publish(config)
    after = output_files(config.output_dir)
    changed = {path for path in after if before.get(path) != after[path]}
    month, day = newest.strftime("%Y-%m"), newest.strftime("%Y-%m-%d")
    previous_economy = max(n for n in range(10_000) if n % 5 == 1)
    allowed = {
        "articles/new.html",
        f"articles/{previous_economy:05d}.html",  # its "next story" link
        f"archive/all/{day}.html",
        f"archive/ekonomika/{day}.html",
        f"archive/all/{month}.html",  # its day's count
        f"archive/ekonomika/{month}.html",
        "categories/ekonomika.html",
        "index.html",
        f"sitemaps/{day}.xml",
        f"sitemaps/{newest.year}.xml",  # its day's lastmod
        # Its two subscription documents; no archive page fills (10,000 is 200 of them).
        *(feed_path(slug, f) for slug in ("all", "ekonomika") for f in FORMATS),
    }
    changed = _sources(changed)
    assert changed <= allowed, changed - allowed
    assert {"articles/new.html", f"archive/all/{day}.html", "index.html"} <= changed
    print(f"one new story in an archive of 10,000 rewrote {len(changed)} files: {sorted(changed)}")
    # A correction of an old story's title: the pages that show it, and no others.
    corrected = 5_003
    moment = start + timedelta(hours=2 * corrected)
    _file_story(
        config,
        f"{corrected:05d}.txt",
        moment + timedelta(minutes=30),
        title="Исправленный заголовок",
        category=categories[corrected % 5],
    )
    ingest_and_publish(config)
    corrected_files = output_files(config.output_dir)
    changed = {path for path in corrected_files if after.get(path) != corrected_files[path]}
    month, day = moment.strftime("%Y-%m"), moment.strftime("%Y-%m-%d")
    assert _sources(changed) == {
        f"articles/{corrected:05d}.html",
        f"articles/{corrected - 5:05d}.html",  # its neighbours show its title
        f"articles/{corrected + 5:05d}.html",
        f"archive/all/{day}.html",
        f"archive/kultura/{day}.html",
        f"sitemaps/{day}.xml",  # its lastmod; the day's is a later story's
        # the subscription documents, where it is the most recently changed story,
        *(feed_path(slug, f) for slug in ("all", "kultura") for f in FORMATS),
        # and the one archive page of each feed that holds it (RFC 5005 §4.1)
        *(path for path in _sources(changed) if path.startswith("feeds/pages/")),
    }
    pages = {
        path.rsplit(".", 1)[0] for path in _sources(changed) if path.startswith("feeds/pages/")
    }
    assert [page.split("/")[2] for page in sorted(pages)] == ["all", "kultura"]
    regenerate(config)
    assert output_files(config.output_dir).keys() == corrected_files.keys()


def _bytes_one_new_story_rewrites(tmp_path: Path, in_its_month: int) -> int:
    """The files (gzip copies included) one new story rewrites on 31 March, a day
    of ten stories, in a month of `in_its_month` stories: its pages, its day's and
    month's lists, its feeds' subscription documents."""
    tmp_path.mkdir()
    config = config_for(tmp_path)
    categories = ("Политика", "Экономика", "Спорт", "Культура", "В мире")
    for number in range(in_its_month - 10):  # over 1-30 March
        moment = datetime(2023, 3, 1 + number % 30, 8, tzinfo=BAKU) + timedelta(
            minutes=number // 30
        )
        _file_story(
            config,
            f"m{number:04d}.txt",
            moment,
            title=f"Новость {number}",
            category=categories[number % 5],
        )
    for number in range(10):
        moment = datetime(2023, 3, 31, 9, number, tzinfo=BAKU)
        _file_story(
            config,
            f"d{number}.txt",
            moment,
            title=f"Новость дня {number}",
            category=categories[number % 5],
        )
    ingest_and_publish(config)
    before = output_files(config.output_dir)
    moment = datetime(2023, 3, 31, 12, 0, tzinfo=BAKU)
    _file_story(config, "new.txt", moment, title="Свежая новость", category="Экономика")
    ingest_and_publish(config)
    after = output_files(config.output_dir)
    changed = {
        path: len(data)
        for path, (data, mtime) in after.items()
        if before.get(path) != (data, mtime)
    }
    print(
        f"{in_its_month} stories in its month: {sum(changed.values()):,} bytes in {sorted(changed)}"
    )
    assert f"archive/all/{moment:%Y-%m-%d}.html" in changed
    return sum(changed.values())


def test_one_new_story_rewrites_the_same_bytes_in_a_month_of_300_or_3000(tmp_path: Path) -> None:
    small = _bytes_one_new_story_rewrites(tmp_path / "300", 300)
    large = _bytes_one_new_story_rewrites(tmp_path / "3000", 3_000)
    assert abs(large - small) <= 0.10 * small, (small, large)


def test_a_run_that_fails_before_its_sitemaps_leaves_them_for_the_next(
    config: Config, deliver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The day's page is on disk, its marks are not cleared: the next run writes the rest."""
    deliver_day(deliver, 1)
    ingest_and_publish(config)
    deliver_day(deliver, 2, title="Вторая")
    with monkeypatch.context() as patch:
        patch.setattr(sitepublish, "year_sitemap", _fail)
        with pytest.raises(OSError, match="disk on fire"):
            ingest_and_publish(config)
    assert "Вторая" in texts(page(config, "archive/all/2023-09-02.html"), "//ol[@class='day']/li/a")
    sitemap = config.output_dir / "sitemaps/2023.xml"
    assert config.url("sitemaps/2023-09-02.xml") not in sitemap.read_text()
    ingest_and_publish(config)
    assert config.url("sitemaps/2023-09-02.xml") in sitemap.read_text()
    assert texts(page(config, "archive/all/2023-09.html"), "//ol[@class='calendar']/li") == [
        "пт, 1 сентября 2023 г. 1 статья",
        "сб, 2 сентября 2023 г. 1 статья",
    ]


def _fail(*args: object) -> bytes:
    raise OSError("disk on fire")


def test_an_upgraded_site_gets_day_pages_and_loses_its_month_sitemaps(
    config: Config, deliver
) -> None:
    """A site published before day pages (schema 9): month sitemaps and month-long
    pages. The upgrade counts every stored story as new."""
    _archive(config, deliver)
    downgrade(config.database, 9)
    for month in ("2023-08", "2023-09", "2023-10"):
        for suffix in ("", ".gz"):
            (config.output_dir / f"sitemaps/articles-{month}.xml{suffix}").write_bytes(b"old")
    shutil.rmtree(config.output_dir / "archive")
    ingest_and_publish(config)
    assert not list((config.output_dir / "sitemaps").glob("articles-*"))
    pages = crawl(config)
    with Store(config.database) as store:
        assert store.schema_version() == len(MIGRATIONS)
        assert len([path for path in pages if path.startswith("articles/")]) == 30
    assert texts(page(config, "archive/all/2023-09.html"), "//ol[@class='calendar']/li")[0] == (
        "пт, 1 сентября 2023 г. 1 статья"
    )
    assert (config.output_dir / "archive/sport/2023-08-01.html").exists()


def test_a_new_time_zone_moves_stories_into_its_days_and_months(tmp_path: Path, deliver) -> None:
    """01:30 in Baku on 1 October is still 30 September in UTC."""
    config = config_for(tmp_path)
    deliver_at(deliver, "night.txt", datetime(2023, 10, 1, 1, 30, tzinfo=BAKU), title="Ночная")
    deliver_day(deliver, 5, title="Сентябрьская")
    ingest_and_publish(config)
    night = page(config, "archive/all/2023-10-01.html")
    assert texts(night, "//ol[@class='day']/li/a") == ["Ночная"]
    in_utc = config_for(tmp_path, timezone="UTC")
    ingest_and_publish(in_utc)
    september = page(in_utc, "archive/all/2023-09.html")
    assert texts(september, "//ol[@class='calendar']/li") == [
        "вт, 5 сентября 2023 г. 1 статья",
        "сб, 30 сентября 2023 г. 1 статья",
    ]
    night = page(in_utc, "archive/all/2023-09-30.html")
    assert texts(night, "//ol[@class='day']/li/a") == ["Ночная"]
    assert texts(night, "//ol[@class='day']/li/time") == ["21:30"]
    assert texts(page(in_utc, "articles/night.html"), "//article/p[@class='meta']/time") == [
        "30 сентября 2023 г., 21:30"
    ]
    front = page(in_utc, "index.html")
    assert texts(front, "//ul[@class='months']/li") == ["сентябрь 2023 г. 2 статьи"]
    # What the old zone's October held is gone: its pages and sitemap, gzip copies too.
    for gone in ("archive/all/2023-10", "archive/all/2023-10-01", "sitemaps/2023-10-01"):
        assert not list(in_utc.output_dir.glob(f"{gone}.*")), gone
