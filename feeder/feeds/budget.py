"""Feeds that stay within a byte budget, whatever the agency sends.

Fifty articles of 1 MB of `<` and `&` once made a 486 MB feed: HTML escaping
then XML escaping multiply such text, and the summary repeated it. Aggregators
cap what they read (Google News: 2 MB a feed, 1 MB an article), and a feed of
that size costs every poll. So an entry whose escaped content alone would take
more than a tenth of `max_feed_bytes` carries its summary (itself at most
`SUMMARY_MAX_CHARS`) and a link to its page instead, and a feed still over
budget leaves out its oldest entries. Sizes are checked before anything large
is rendered, so memory stays bounded too.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache
from typing import TYPE_CHECKING

from feeder.i18n import translations

if TYPE_CHECKING:  # feeder.feeds.model imports this module
    from feeder.feeds.model import FeedFormat, FeedItem, FeedModel

log = logging.getLogger(__name__)

# An entry's content may take at most this share of the feed's budget.
ENTRY_SHARE = 10
# A longer summary (the first paragraph, which may be the whole story) is cut at a word.
SUMMARY_MAX_CHARS = 1_000
# HTML escaping makes a character at most this many (`"` → `&quot;`).
ESCAPE_GROWTH = 6


def shortened(text: str, limit: int = SUMMARY_MAX_CHARS) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut.rstrip() + "…"


def content_within(
    paragraphs_html: str, summary_html: str, url: str, language: str, limit: int
) -> str:
    """The entry's content, or when it is larger than `limit` bytes its summary and a
    link to its page."""
    if len(paragraphs_html.encode()) <= limit:
        return paragraphs_html
    log.info("%s: content cut to its summary in feeds (over %d bytes)", url, limit)
    link_text = html.escape(_read_more(language))
    return f'<p>{summary_html}</p><p><a href="{html.escape(url)}">{link_text}</a></p>'


@lru_cache
def _read_more(language: str) -> str:
    return str(translations(language).gettext("Read the whole story"))


def entry_limit(max_feed_bytes: int) -> int:
    return max_feed_bytes // ENTRY_SHARE


def render_within(
    feed_format: FeedFormat,
    model: FeedModel,
    budget: int,
    ranked: Sequence[FeedItem] | None = None,
) -> tuple[bytes, int]:
    """The feed with as many entries as fit in `budget` bytes, and how many. Entries
    are left out last `ranked` first (by default the document's own order, so the
    oldest go); those kept stay in the document's order."""
    ranked = model.items if ranked is None else ranked
    count = len(ranked)
    while True:
        kept = {item.id for item in ranked[:count]}
        items = tuple(item for item in model.items if item.id in kept)
        data = feed_format.render(replace(model, items=items))
        if len(data) <= budget or count == 0:
            if count < len(ranked):
                log.info(
                    "%s: %d of %d entries fit in max_feed_bytes (%d bytes); the rest left out",
                    model.self_url(feed_format),
                    count,
                    len(ranked),
                    budget,
                )
            return data, count
        count = min(count - 1, count * budget // len(data))
