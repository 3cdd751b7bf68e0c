"""What every feed format renders: the feed model, and the format interface.

A feed is described once (`FeedModel`), as plain data with every URL and id
already resolved, and each registered format (`feeder.formats`) renders that
one description. Every value a renderer would otherwise take from the clock
comes from the data, so the same entries always give the same bytes (and an
unchanged feed keeps its HTTP validators).
"""

from __future__ import annotations

import html
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from feeder.budget import content_within, entry_limit, shortened
from feeder.config import Config
from feeder.model import Entry
from feeder.sitepaths import category_page_path
from feeder.visible import visible

# What an empty feed reports as its last change: nothing has happened yet.
EMPTY_FEED_UPDATED = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class FeedLink:
    """A link of the feed as a whole beyond self and alternate: a WebSub hub
    (rel="hub"), RFC 5005 archives (rel="prev-archive", "current"...). Every format
    writes all of them, so a new kind of link is one more value here, not code."""

    rel: str
    href: str
    media_type: str | None = None
    same_format: bool = False
    """`href` is a feed's location without suffix (an archive link): each format
    links that feed's document in its own format, `href.<suffix>`."""

    def resolved(self, feed_format: FeedFormat) -> FeedLink:
        if not self.same_format:
            return self
        return FeedLink(self.rel, f"{self.href}.{feed_format.suffix}", feed_format.media_type)


@dataclass(frozen=True)
class FeedItem:
    """One entry with its id, URL and HTML resolved, ready for any format."""

    id: str
    title: str
    url: str
    summary: str
    """Plain text; each format escapes it as its readers expect."""
    content_html: str
    category_term: str
    category_label: str
    author: str
    published: datetime
    updated: datetime


@dataclass(frozen=True)
class DeletedEntry:
    """A withdrawn story the feed announces as deleted (RFC 6721), so a reader that
    has it drops it; by the entry id it was published under."""

    id: str
    when: datetime


@dataclass(frozen=True)
class FeedModel:
    """One feed, described once and rendered by every format.

    `location` is the feed's URL without a suffix: each format's document is
    `location.<suffix>` (`self_url`), whether a current feed or an archive.
    """

    id: str
    title: str
    description: str
    location: str
    alternate_url: str
    language: str
    updated: datetime
    items: tuple[FeedItem, ...]
    publisher: str
    """Who publishes the feed (the site), its author as a whole."""
    links: tuple[FeedLink, ...] = ()
    poll_minutes: int | None = None
    """How long a reader may keep the feed before asking again (RSS `<ttl>`): what
    the server's Cache-Control allows, so a polite reader never polls sooner."""
    deleted: tuple[DeletedEntry, ...] = ()
    archive: bool = False
    """An RFC 5005 archive document (`fh:archive`), not the subscription feed."""

    def self_url(self, feed_format: FeedFormat) -> str:
        return f"{self.location}.{feed_format.suffix}"

    def links_for(self, feed_format: FeedFormat) -> tuple[FeedLink, ...]:
        """The links as that format's document writes them."""
        return tuple(link.resolved(feed_format) for link in self.links)


class FeedFormat(ABC):
    """Everything about one feed format; a new format is a subclass plus its
    registration in `feeder.formats`."""

    suffix: str
    """The file suffix, without the dot: `feeds/<slug>.<suffix>`."""
    media_type: str
    """Its registered media type, which readers are served and autodiscovery names."""
    browser_media_type: str
    """What a browser opening the feed is served instead (see `feeder.server`)."""
    label: str
    """The name people know it by, in link texts and autodiscovery titles."""

    @property
    def discovery_type(self) -> str:
        """The `type` of the page's `<link rel="alternate">` that announces it."""
        return self.media_type

    @abstractmethod
    def render(self, feed: FeedModel) -> bytes:
        """The whole document, bytes as they are written and served."""

    def __repr__(self) -> str:
        return f"<feed format {self.suffix}>"


def feed_path(slug: str, feed_format: FeedFormat) -> str:
    """Where a feed lives under the output directory, and under the base URL."""
    return f"{feed_location(slug)}.{feed_format.suffix}"


def feed_location(slug: str) -> str:
    return f"feeds/{slug}"


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


def feed_model(
    config: Config,
    slug: str,
    category: str | None,
    entries: list[Entry],
    links: tuple[FeedLink, ...] = (),
    deleted: tuple[DeletedEntry, ...] = (),
) -> FeedModel:
    """`category` is None for the all-news feed; `entries` come newest first. A
    withdrawal is a change of the feed, so its time counts for `updated`."""
    title = feed_title(config, category)
    return FeedModel(
        id=f"{config.id_prefix}/feed/{slug}",
        title=title,
        description=title,
        location=config.url(feed_location(slug)),
        alternate_url=config.url(category_page_path(slug)),
        language=config.language,
        updated=max(
            [entry.updated for entry in entries] + [gone.when for gone in deleted],
            default=EMPTY_FEED_UPDATED,
        ),
        items=tuple(feed_item(config, entry) for entry in entries),
        publisher=config.site_title,
        links=links,
        poll_minutes=max(1, math.ceil(config.server.cache_max_age / 60)),
        deleted=deleted,
    )


def feed_item(config: Config, entry: Entry) -> FeedItem:
    """Agency text shown as pages show it (`feeder.visible`), for every format."""
    url = config.url(article_path(entry.page_key))
    summary = shortened(visible(entry.summary))
    limit = entry_limit(config.max_feed_bytes)
    paragraphs = tuple(visible(paragraph) for paragraph in entry.paragraphs)
    # RSS readers take <description> as HTML, so the summary is escaped like the content.
    content = content_within(
        paragraphs_html(paragraphs), html.escape(summary), url, config.language, limit
    )
    return FeedItem(
        id=entry_id(config, entry.story_id),
        title=visible(entry.title),
        url=url,
        summary=summary,
        content_html=content,
        category_term=entry.category_slug,
        category_label=visible(entry.category),
        author=visible(entry.agency),
        published=entry.published,
        updated=entry.updated,
    )
