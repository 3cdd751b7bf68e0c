"""Sitemaps (sitemaps.org 0.9), the Google News sitemap and robots.txt.

`sitemap.xml` is always a sitemap index, so that adding a story rewrites one
small month file and the index instead of one list of every URL (and never
crosses the protocol's 50,000-URL limit per file): `sitemaps/pages.xml` lists
the front page, category pages and month archives (it changes only when a
category or a month appears), `sitemaps/articles-YYYY-MM.xml` the stories of
one month with their last change. `news-sitemap.xml` lists the stories of the
last two days, as Google News asks. A month lists thousands of URLs, so they
are written as text, every value through `xml.sax.saxutils.escape`; agency
text has no XML-forbidden characters (the wire parser removes them).
"""

from __future__ import annotations

from datetime import datetime
from xml.sax.saxutils import escape

from feeder.config import Config
from feeder.feeds import article_path
from feeder.store.site import Headline, Month
from feeder.visible import visible

SITEMAP_INDEX = "sitemap.xml"
PAGES_SITEMAP = "sitemaps/pages.xml"
NEWS_SITEMAP = "news-sitemap.xml"
ROBOTS = "robots.txt"
# Google News: stories of the last two days, at most 1,000 of them.
NEWS_DAYS = 2
NEWS_LIMIT = 1_000

_SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
_NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"


def articles_sitemap_path(month: str) -> str:
    return f"sitemaps/articles-{month}.xml"


def sitemap_index(config: Config, months: list[Month]) -> bytes:
    """`months` are the months of all news, each one article sitemap."""
    entries = [_element("sitemap", loc=config.url(PAGES_SITEMAP))]
    entries += [
        _element(
            "sitemap",
            loc=config.url(articles_sitemap_path(month.month)),
            lastmod=_w3c(month.updated, config),
        )
        for month in months
    ]
    return _document("sitemapindex", entries)


def pages_sitemap(config: Config, paths: list[str]) -> bytes:
    return _document("urlset", [_element("url", loc=config.url(path)) for path in paths])


def articles_sitemap(config: Config, headlines: list[Headline]) -> bytes:
    return _document(
        "urlset",
        [
            _element(
                "url",
                loc=config.url(article_path(headline.page_key)),
                lastmod=_w3c(headline.updated, config),
            )
            for headline in headlines
        ],
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


def robots(config: Config) -> bytes:
    """Everything may be crawled; the sitemaps are named by their absolute URLs."""
    lines = [
        "User-agent: *",
        "Allow: /",
        f"Sitemap: {config.url(SITEMAP_INDEX)}",
        f"Sitemap: {config.url(NEWS_SITEMAP)}",
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
