"""RSS 2.0 and Atom 1.0 via feedgen: two renderings of one feed model.

feedgen writes only the self link of the feed's links into RSS, so every other
link of the model (a hub, archive links) goes through `_ExtraLinks`, a feedgen
extension that writes them as `atom:link` in RSS's `<channel>` and as `link`
in Atom: one path for both formats, built as elements, never as strings.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from feedgen.ext.base import BaseExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem

from feeder import __version__
from feeder.feeds.model import DeletedEntry, FeedFormat, FeedItem, FeedLink, FeedModel

ATOM_NAMESPACE = "http://www.w3.org/2005/Atom"
TOMBSTONES_NAMESPACE = "http://purl.org/atompub/tombstones/1.0"
# RFC 5005, Feed Paging and Archiving.
HISTORY_NAMESPACE = "http://purl.org/syndication/history/1.0"

# The XSLT stylesheet that turns a feed into a page when a person opens its URL
# in a browser; readers ignore it. Feeds name it relative to themselves
# (`FeedModel.stylesheet`: it sits beside the category feeds), so it always
# comes from the feed's own origin, as browsers require for XSLT, whatever
# base_url says.
STYLESHEET_PATH = "feeds/feed.xsl"

# Browsers show a feed labelled application/rss+xml or application/atom+xml as
# plain text (Chromium) or offer it as a download (Firefox), never applying its
# stylesheet; labelled application/xml they run it.
_XML_FOR_BROWSERS = "application/xml"


class _ExtraLinks(BaseExtension):  # type: ignore[misc]  # feedgen ships no type hints
    """The model's links that feedgen has no place for in RSS. Elements are
    feedgen's lxml elements (Any to the type checker, like all of feedgen)."""

    links: tuple[FeedLink, ...] = ()

    def extend_rss(self, rss: Any) -> Any:
        self._append_links(rss.find("channel"), f"{{{ATOM_NAMESPACE}}}link")
        return rss

    def extend_atom(self, feed: Any) -> Any:
        # Named like feedgen's own Atom elements, which the document's default
        # namespace makes Atom's; a qualified name would get a prefix of its own.
        self._append_links(feed, "link")
        return feed

    def _append_links(self, parent: Any, name: str) -> None:
        for link in self.links:
            xml_elem(name, parent, **_attributes(link))


class _Tombstones(BaseExtension):  # type: ignore[misc]  # see _ExtraLinks
    """RFC 6721 `at:deleted-entry` elements in Atom for withdrawn stories; RSS has
    no such thing, and a reader of it simply no longer sees the item."""

    deleted: tuple[DeletedEntry, ...] = ()

    def extend_ns(self) -> dict[str, str]:
        return {"at": TOMBSTONES_NAMESPACE} if self.deleted else {}

    def extend_atom(self, feed: Any) -> Any:
        for gone in self.deleted:
            xml_elem(
                f"{{{TOMBSTONES_NAMESPACE}}}deleted-entry",
                feed,
                ref=gone.id,
                when=gone.when.isoformat(timespec="seconds"),
            )
        return feed

    def extend_rss(self, rss: Any) -> Any:
        return rss


class _ArchiveMarker(BaseExtension):  # type: ignore[misc]  # feedgen ships no type hints
    """RFC 5005's `<fh:archive/>`, which tells a reader this document is an
    archive of the feed, to be kept, not a subscription to be polled; RSS carries
    it in `<channel>` as Atom does in `<feed>` (RFC 5005, appendix B)."""

    def extend_ns(self) -> dict[str, str]:
        return {"fh": HISTORY_NAMESPACE}

    def extend_rss(self, rss: Any) -> Any:
        xml_elem(f"{{{HISTORY_NAMESPACE}}}archive", rss.find("channel"))
        return rss

    def extend_atom(self, feed: Any) -> Any:
        xml_elem(f"{{{HISTORY_NAMESPACE}}}archive", feed)
        return feed


def _attributes(link: FeedLink) -> dict[str, str]:
    attributes = {"href": link.href, "rel": link.rel}
    if link.media_type:
        attributes["type"] = link.media_type
    return attributes


class _FeedgenFormat(FeedFormat):
    """What RSS and Atom share: one FeedGenerator filled from the model, and the
    stylesheet prologue; a subclass only names feedgen's serialiser."""

    browser_media_type = _XML_FOR_BROWSERS
    _serialise: Callable[..., bytes]

    def render(self, feed: FeedModel) -> bytes:
        prologue = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<?xml-stylesheet type="text/xsl" href="{feed.stylesheet}"?>\n'
        )
        return prologue.encode() + self._serialise(
            self._generator(feed), pretty=True, xml_declaration=False
        )

    def _generator(self, feed: FeedModel) -> FeedGenerator:
        generator = FeedGenerator()
        generator.load_extension("dc", atom=False, rss=True)
        generator.register_extension("extra_links", _ExtraLinks, atom=True, rss=True)
        generator.extra_links.links = feed.links_for(self)
        generator.register_extension("tombstones", _Tombstones, atom=True, rss=False)
        generator.tombstones.deleted = feed.deleted
        if feed.archive:
            generator.register_extension("archive", _ArchiveMarker, atom=True, rss=True)
        generator.id(feed.id)
        generator.title(feed.title)
        generator.description(feed.description)
        # feedgen takes the last link as RSS's <link>, which must be the web page.
        generator.link(href=feed.self_url(self), rel="self", type=self.media_type)
        generator.link(href=feed.alternate_url, rel="alternate", type="text/html")
        generator.language(feed.language)
        generator.generator("feeder", version=__version__)
        generator.updated(feed.updated)
        generator.lastBuildDate(feed.updated)
        if feed.poll_minutes is not None:
            generator.ttl(feed.poll_minutes)  # RSS only; Atom has no such element
        for item in feed.items:
            _add_entry(generator, item)
        return generator


def _add_entry(generator: FeedGenerator, item: FeedItem) -> None:
    feed_entry = generator.add_entry(order="append")
    feed_entry.id(item.id)
    feed_entry.guid(item.id, permalink=False)
    feed_entry.title(item.title)
    feed_entry.link(href=item.url, rel="alternate", type="text/html")
    # RSS readers take <description> as HTML, so the summary is escaped like the content.
    feed_entry.summary(html.escape(item.summary), type="html")
    feed_entry.content(item.content_html, type="html")
    feed_entry.category(term=item.category_term, label=item.category_label)
    feed_entry.author(name=item.author)
    feed_entry.dc.dc_creator(item.author)
    feed_entry.published(item.published)
    feed_entry.updated(item.updated)


class Rss(_FeedgenFormat):
    suffix = "rss"
    media_type = "application/rss+xml"
    label = "RSS"
    _serialise = staticmethod(FeedGenerator.rss_str)


class Atom(_FeedgenFormat):
    suffix = "atom"
    media_type = "application/atom+xml"
    label = "Atom"
    _serialise = staticmethod(FeedGenerator.atom_str)
