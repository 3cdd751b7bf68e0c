"""What every feed format renders: the feed model, and the format interface.

A feed is described once (`FeedModel`), as plain data with every URL and id
already resolved, and each registered format (`feeder.feeds.formats`) renders that
one description. Every value a renderer would otherwise take from the clock
comes from the data, so the same entries always give the same bytes (and an
unchanged feed keeps its HTTP validators).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime

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
    stylesheet: str = "feed.xsl"
    """Where the XSLT stylesheet is (`feeder.feeds.xmlfeeds.STYLESHEET_PATH`),
    relative to the feed: relative, so it comes from the feed's own origin."""

    def self_url(self, feed_format: FeedFormat) -> str:
        return f"{self.location}.{feed_format.suffix}"

    def links_for(self, feed_format: FeedFormat) -> tuple[FeedLink, ...]:
        """The links as that format's document writes them."""
        return tuple(link.resolved(feed_format) for link in self.links)


class FeedFormat(ABC):
    """Everything about one feed format; a new format is a subclass plus its
    registration in `feeder.feeds.formats`."""

    suffix: str
    """The file suffix, without the dot: `feeds/<slug>.<suffix>`."""
    media_type: str
    """Its registered media type, which readers are served and autodiscovery names."""
    browser_media_type: str
    """What a browser opening the feed is served instead (see `feeder.serve.server`)."""
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
