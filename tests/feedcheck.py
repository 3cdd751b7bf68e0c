"""How a client sees a feed: strict XML, feedparser, and the rules validators check."""

from __future__ import annotations

import feedparser
from lxml import etree

ATOM = "{http://www.w3.org/2005/Atom}"


def parse_valid_feed(data: bytes, self_url: str) -> feedparser.FeedParserDict:
    """Parse a feed the way readers do and assert what a validator would check."""
    etree.fromstring(data)  # well-formed XML, or lxml raises
    parsed = feedparser.parse(data)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version in {"rss20", "atom10"}, parsed.version
    self_links = [link.href for link in parsed.feed.links if link.rel == "self"]
    assert self_links == [self_url]
    ids = [entry.id for entry in parsed.entries]
    assert len(ids) == len(set(ids)), "entry ids must be unique"
    assert all(identifier.startswith("tag:") for identifier in ids)
    for entry in parsed.entries:
        assert entry.published_parsed and entry.title and entry.link
    return parsed
