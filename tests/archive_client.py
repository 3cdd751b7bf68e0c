"""An RFC 5005 §4.2 client, written from the RFC: how a reader that backfills
an archived feed polls it. newsboat and the `reader` library do not follow
archives, so the suite brings its own.

§4.2: on each poll the client reads the subscription document, then follows
`prev-archive` "until the client encounters a prev-archive link relation that
has been processed", and it never fetches an archive document it has processed
again. Of two copies of an entry it keeps the newer (by `updated`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import feedparser

from tests.feedcheck import parse_valid_feed


@dataclass(frozen=True)
class Copy:
    updated: tuple[int, ...]
    title: str


@dataclass
class ArchiveClient:
    """`fetch` returns the bytes at a URL, as a server (or the output folder) has them."""

    fetch: Callable[[str], bytes]
    entries: dict[str, Copy] = field(default_factory=dict)
    processed: set[str] = field(default_factory=set)
    fetches: Counter[str] = field(default_factory=Counter)

    def poll(self, subscription_url: str) -> None:
        document = self._read(subscription_url)
        older = _older(document)
        while older is not None and older not in self.processed:
            assert self.fetches[older] == 0, f"{older} was fetched before"
            document = self._read(older)
            self.processed.add(older)
            older = _older(document)

    def _read(self, url: str) -> feedparser.FeedParserDict:
        self.fetches[url] += 1
        parsed = parse_valid_feed(self.fetch(url), url)
        for entry in parsed.entries:
            copy = Copy(tuple(entry.updated_parsed), entry.title)
            known = self.entries.get(entry.id)
            if known is None or copy.updated > known.updated:
                self.entries[entry.id] = copy
        return parsed


def _older(document: feedparser.FeedParserDict) -> str | None:
    """RFC 5005's prev-archive; JSON Feed's next_url, which leads the same way."""
    hrefs = [link.href for link in document.feed.get("links", []) if link.rel == "prev-archive"]
    return hrefs[0] if hrefs else document.feed.get("next_url")
