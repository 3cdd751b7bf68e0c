"""Entries → RSS 2.0 or Atom 1.0 bytes via feedgen.

Pure: one feed description, two renderings. Every value that feedgen would
otherwise take from the clock is set from the data, so the same entries
always give the same bytes (and an unchanged feed keeps its HTTP validators).
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from enum import Enum
from pathlib import PurePosixPath
from urllib.parse import quote

from feedgen.feed import FeedGenerator

from feeder import __version__
from feeder.config import Config
from feeder.model import Entry

# What an empty feed reports as its last change: nothing has happened yet.
EMPTY_FEED_UPDATED = datetime(1970, 1, 1, tzinfo=UTC)

# The XSLT stylesheet that turns a feed into a page when a person opens its URL
# in a browser; readers ignore it. Feeds name it relative to themselves (it sits
# beside them), so it always comes from the feed's own origin, as browsers require
# for XSLT, whatever base_url says.
STYLESHEET_PATH = "feeds/feed.xsl"
_STYLESHEET_HREF = PurePosixPath(STYLESHEET_PATH).name
_PROLOGUE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<?xml-stylesheet type="text/xsl" href="{_STYLESHEET_HREF}"?>\n'
).encode()


class FeedFormat(Enum):
    RSS = "rss"
    ATOM = "atom"

    @property
    def media_type(self) -> str:
        return f"application/{self.value}+xml"

    @property
    def label(self) -> str:
        """The name people know the format by."""
        return {"rss": "RSS", "atom": "Atom"}[self.value]


def feed_path(slug: str, feed_format: FeedFormat) -> str:
    """Where a feed lives under the output directory, and under the base URL."""
    return f"feeds/{slug}.{feed_format.value}"


def article_path(page_key: str) -> str:
    return f"articles/{page_key}.html"


def feed_title(config: Config, category: str | None) -> str:
    return f"{config.site_title} — {category}" if category else config.site_title


def entry_id(config: Config, story_id: str) -> str:
    """A tag: URI from the story id alone: corrections and new base URLs never change it."""
    return f"{config.id_prefix}/story/{quote(story_id, safe='')}"


def paragraphs_html(paragraphs: tuple[str, ...]) -> str:
    """The full text as HTML in which nothing from the agency can act as markup."""
    return "".join(f"<p>{html.escape(paragraph)}</p>" for paragraph in paragraphs)


def render_feed(
    config: Config,
    slug: str,
    category: str | None,
    entries: list[Entry],
    feed_format: FeedFormat,
) -> bytes:
    """`category` is None for the all-news feed; `entries` come newest first."""
    generator = FeedGenerator()
    generator.load_extension("dc", atom=False, rss=True)
    title = feed_title(config, category)
    generator.id(f"{config.id_prefix}/feed/{slug}")
    generator.title(title)
    generator.description(title)
    # feedgen takes the last link as RSS's <link>, which must be the web page.
    generator.link(
        href=config.url(feed_path(slug, feed_format)), rel="self", type=feed_format.media_type
    )
    generator.link(href=config.url("index.html"), rel="alternate", type="text/html")
    generator.language(config.language)
    generator.generator("feeder", version=__version__)
    updated = max((entry.updated for entry in entries), default=EMPTY_FEED_UPDATED)
    generator.updated(updated)
    generator.lastBuildDate(updated)
    for entry in entries:
        _add_entry(generator, config, entry)
    serialise = generator.rss_str if feed_format is FeedFormat.RSS else generator.atom_str
    document: bytes = serialise(pretty=True, xml_declaration=False)
    return _PROLOGUE + document


def _add_entry(generator: FeedGenerator, config: Config, entry: Entry) -> None:
    feed_entry = generator.add_entry(order="append")
    identifier = entry_id(config, entry.story_id)
    feed_entry.id(identifier)
    feed_entry.guid(identifier, permalink=False)
    feed_entry.title(entry.title)
    feed_entry.link(
        href=config.url(article_path(entry.page_key)), rel="alternate", type="text/html"
    )
    # RSS readers take <description> as HTML, so the summary is escaped like the content.
    feed_entry.summary(html.escape(entry.summary), type="html")
    feed_entry.content(paragraphs_html(entry.paragraphs), type="html")
    feed_entry.category(term=entry.category_slug, label=entry.category)
    feed_entry.author(name=entry.agency)
    feed_entry.dc.dc_creator(entry.agency)
    feed_entry.published(entry.published)
    feed_entry.updated(entry.updated)
