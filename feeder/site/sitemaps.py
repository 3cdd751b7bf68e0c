"""Sitemaps (sitemaps.org 0.9), the Google News sitemap and robots.txt.

A new story rewrites only files bounded by one day's stories or by a year's
days, never a list of every story of a month or of the archive:

- `sitemaps/YYYY-MM-DD.xml`: a local day's article pages with their last change,
  and that day's day pages (all news and each category that has stories then);
- `sitemaps/YYYY.xml`, a sitemap index per year: its month pages' sitemap
  `sitemaps/YYYY-months.xml` and each of its day sitemaps with their last change
  (at most 367 entries);
- `sitemap.xml`, the site's sitemap index: `sitemaps/pages.xml`, the front page,
  category pages and archive indexes (it changes only when a category appears);
- `news-sitemap.xml`: the stories of the last two days, as Google News asks.

Sitemap indexes cannot nest, so `robots.txt` names `sitemap.xml`, the news
sitemap and every year's index. A day lists a few hundred URLs, written as
text, every value through `xml.sax.saxutils.escape`; agency text has no
XML-forbidden characters (the wire parser removes them).
"""

from __future__ import annotations

from datetime import datetime
from xml.sax.saxutils import escape

from feeder.config import Config
from feeder.model import Day, Headline, Month
from feeder.paths import article_path, day_page_path, month_page_path
from feeder.visible import visible

SITEMAP_INDEX = "sitemap.xml"
PAGES_SITEMAP = "sitemaps/pages.xml"
SITEMAPS_DIR = "sitemaps"
NEWS_SITEMAP = "news-sitemap.xml"
ROBOTS = "robots.txt"
# Google News: stories of the last two days, at most 1,000 of them.
NEWS_DAYS = 2
NEWS_LIMIT = 1_000

_SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
_NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"


def day_sitemap_path(day: str) -> str:
    """`day` is YYYY-MM-DD, a local calendar day."""
    return f"{SITEMAPS_DIR}/{day}.xml"


def year_sitemap_path(year: str) -> str:
    return f"{SITEMAPS_DIR}/{year}.xml"


def year_months_sitemap_path(year: str) -> str:
    return f"{SITEMAPS_DIR}/{year}-months.xml"


def sitemap_index(config: Config) -> bytes:
    """The same for every archive: the days are in the years' indexes."""
    return _document("sitemapindex", [_element("sitemap", loc=config.url(PAGES_SITEMAP))])


def pages_sitemap(config: Config, paths: list[str]) -> bytes:
    return _document("urlset", [_element("url", loc=config.url(path)) for path in paths])


def day_sitemap(config: Config, headlines: list[Headline], day_pages: list[Day]) -> bytes:
    """One day's stories and its day pages, each with its last change."""
    stories = [
        _element(
            "url",
            loc=config.url(article_path(headline.page_key)),
            lastmod=_w3c(headline.updated, config),
        )
        for headline in headlines
    ]
    pages = [
        _element(
            "url",
            loc=config.url(day_page_path(day.slug, day.day)),
            lastmod=_w3c(day.updated, config),
        )
        for day in day_pages
    ]
    return _document("urlset", stories + pages)


def year_sitemap(config: Config, year: str, days: list[Day]) -> bytes:
    """`days`: the days of all news in `year`, each one day sitemap."""
    entries = [_element("sitemap", loc=config.url(year_months_sitemap_path(year)))]
    entries += [
        _element(
            "sitemap", loc=config.url(day_sitemap_path(day.day)), lastmod=_w3c(day.updated, config)
        )
        for day in days
    ]
    return _document("sitemapindex", entries)


def year_months_sitemap(config: Config, months: list[Month]) -> bytes:
    """A year's month calendars of every category; without `lastmod`, so that
    only a month that appears or goes changes it."""
    return _document(
        "urlset",
        [_element("url", loc=config.url(month_page_path(m.slug, m.month))) for m in months],
    )


def news_sitemap(config: Config, headlines: list[Headline]) -> bytes:
    publication = (
        f"<news:publication><news:name>{escape(config.site_title)}</news:name>"
        f"<news:language>{escape(config.language)}</news:language></news:publication>"
    )
    entries = [
        f"<url><loc>{escape(config.url(article_path(headline.page_key)))}</loc><news:news>"
        f"{publication}<news:publication_date>{_w3c(headline.published, config)}"
        f"</news:publication_date><news:title>{escape(visible(headline.title))}</news:title>"
        "</news:news></url>\n"
        for headline in headlines
    ]
    return _document("urlset", entries, f' xmlns:news="{_NEWS_NS}"')


def robots(config: Config, years: list[str]) -> bytes:
    """Everything may be crawled; the sitemaps are named by their absolute URLs,
    each year's index among them (an index cannot list another)."""
    lines = [
        "User-agent: *",
        "Allow: /",
        f"Sitemap: {config.url(SITEMAP_INDEX)}",
        f"Sitemap: {config.url(NEWS_SITEMAP)}",
        *(f"Sitemap: {config.url(year_sitemap_path(year))}" for year in years),
    ]
    return ("\n".join(lines) + "\n").encode()


def _element(name: str, **children: str) -> str:
    inner = "".join(f"<{child}>{escape(text)}</{child}>" for child, text in children.items())
    return f"<{name}>{inner}</{name}>\n"


def _document(root: str, entries: list[str], namespaces: str = "") -> bytes:
    head = f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{_SITEMAP_NS}"{namespaces}>\n'
    return (head + "".join(entries) + f"</{root}>\n").encode()


def _w3c(moment: datetime, config: Config) -> str:
    return moment.astimezone(config.timezone).isoformat()
