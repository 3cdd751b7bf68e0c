"""Rows → the pages people open in a browser, and the OPML file readers import.

Pure: Jinja2 with autoescaping renders the HTML, so agency text can never
become markup; ElementTree writes the OPML, so it is always well-formed.
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from datetime import datetime

from jinja2 import Environment, PackageLoader, select_autoescape

from feeder.config import Config
from feeder.feeds import feed_path, feed_title
from feeder.formats import FEED_FORMATS
from feeder.model import Category, Entry
from feeder.slugs import ALL_NEWS


@dataclass(frozen=True)
class Alternate:
    """One `<link rel="alternate">` autodiscovery tag."""

    title: str
    href: str
    media_type: str


class Site:
    """Renders pages for one configuration; templates are compiled once, not per page."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.environment = Environment(
            loader=PackageLoader("feeder"),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
            # Templates ship with the package; checking their mtime on every page
            # cost two stats per article.
            auto_reload=False,
        )
        self.environment.filters["day"] = self._day
        self.environment.globals.update(
            config=config,
            feed_path=feed_path,
            formats=FEED_FORMATS,
            all_news=ALL_NEWS,
        )
        # Per page, in bulk: the feed links are the same for a whole category.
        self._category_alternates = functools.cache(functools.partial(alternates, config))
        self._template = functools.cache(self.environment.get_template)

    def _day(self, moment: datetime | None) -> str:
        return moment.astimezone(self.config.timezone).strftime("%d.%m.%Y") if moment else "—"

    def index(self, categories: list[Category], total: int) -> bytes:
        newest = max((category.newest for category in categories if category.newest), default=None)
        links = alternates(self.config, ALL_NEWS, None)
        for category in categories:
            links.extend(alternates(self.config, category.slug, category.name))
        return self._render(
            "index.html", categories=categories, total=total, newest=newest, alternates=links
        )

    def article(self, entry: Entry) -> bytes:
        links = self._category_alternates(entry.category_slug, entry.category)
        return self._render("article.html", entry=entry, alternates=links)

    def opml(self, categories: list[Category]) -> bytes:
        """Every category feed plus all news, for one-step import into a reader: each
        in the primary format only, as a reader given both would show every story twice."""
        config = self.config
        opml = ElementTree.Element("opml", version="2.0")
        head = ElementTree.SubElement(opml, "head")
        ElementTree.SubElement(head, "title").text = config.site_title
        body = ElementTree.SubElement(opml, "body")
        feeds = [(ALL_NEWS, None), *((category.slug, category.name) for category in categories)]
        for slug, name in feeds:
            ElementTree.SubElement(
                body,
                "outline",
                type="rss",
                text=feed_title(config, name),
                title=feed_title(config, name),
                xmlUrl=config.url(feed_path(slug, FEED_FORMATS.primary)),
                htmlUrl=config.url("index.html"),
            )
        ElementTree.indent(opml)
        document: bytes = ElementTree.tostring(opml, encoding="utf-8", xml_declaration=True)
        return document + b"\n"

    def feed_stylesheet(self) -> bytes:
        """The XSLT page a browser shows for a feed URL; it shares the pages' CSS."""
        return self._render("feed.xsl")

    def _render(self, template: str, **context: object) -> bytes:
        return self._template(template).render(**context).encode()


def alternates(config: Config, slug: str, category: str | None) -> list[Alternate]:
    title = feed_title(config, category)
    return [
        Alternate(
            f"{title} ({feed_format.label})",
            config.url(feed_path(slug, feed_format)),
            feed_format.discovery_type,
        )
        for feed_format in FEED_FORMATS
    ]
