"""JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/): the feed model as JSON.

Written with the standard library's json: the JSON Feed writers on PyPI
either predate 1.1 or drop fields it defines (`language`), pass dates through
unchecked and escape every non-ASCII letter; see docs/feeds.md.

Pure and deterministic: keys in a fixed order, dates from the data, so an
unchanged feed keeps its bytes and its HTTP validators. Text goes out as UTF-8
with JSON's escapes; the few characters JSON allows raw but readers and
JavaScript trip over (DEL, C1 controls, U+2028, U+2029) are escaped too, and a
lone surrogate, which UTF-8 cannot carry, becomes U+FFFD.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from feeder.feeds.model import FeedFormat, FeedItem, FeedModel

VERSION = "https://jsonfeed.org/version/1.1"
# JSON Feed's name for a WebSub hub in `hubs`.
WEBSUB_HUB_TYPE = "WebSub"

_ESCAPED = re.compile("[\x7f-\x9f\u2028\u2029]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonFeed(FeedFormat):
    suffix = "json"
    media_type = "application/feed+json"
    # Browsers show application/json as a readable tree; the feed type they download.
    browser_media_type = "application/json"
    label = "JSON Feed"

    def render(self, feed: FeedModel) -> bytes:
        links = feed.links_for(self)
        document: dict[str, Any] = {
            "version": VERSION,
            "title": feed.title,
            "home_page_url": feed.alternate_url,
            "feed_url": feed.self_url(self),
            "description": feed.description,
            "language": feed.language,
            "authors": [{"name": feed.publisher}],
        }
        hubs = [{"type": WEBSUB_HUB_TYPE, "url": link.href} for link in links if link.rel == "hub"]
        if hubs:
            document["hubs"] = hubs
        # JSON Feed pages with next_url alone: it leads to older items, as
        # RFC 5005's prev-archive does; the other archive links have no equivalent.
        older = next((link.href for link in links if link.rel == "prev-archive"), None)
        if older:
            document["next_url"] = older
        document["items"] = [_item(item, feed.language) for item in feed.items]
        return encode(document)


def _item(item: FeedItem, language: str) -> dict[str, Any]:
    return {
        "id": item.id,
        "url": item.url,
        "title": item.title,
        "content_html": item.content_html,
        "summary": item.summary,
        "date_published": rfc3339(item.published),
        "date_modified": rfc3339(item.updated),
        "authors": [{"name": item.author}],
        "tags": [item.category_label],
        "language": language,
    }


def rfc3339(moment: datetime) -> str:
    """Aware datetimes only: a date without its offset is no RFC 3339 date."""
    if moment.utcoffset() is None:
        raise ValueError(f"{moment!r} has no time zone")
    return moment.isoformat()


def encode(document: dict[str, Any]) -> bytes:
    """Compact: readers need no indentation, and only without it does json use its
    C encoder (ten times faster on a month of all news)."""
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    text = _SURROGATE.sub("\ufffd", text)
    return (_ESCAPED.sub(lambda match: f"\\u{ord(match.group()):04x}", text) + "\n").encode()
