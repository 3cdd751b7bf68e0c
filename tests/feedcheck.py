"""How a client sees a feed: strict XML, feedparser, and the rules validators check."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import feedparser
from lxml import etree

from feeder.formats import FEED_FORMATS

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"


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


@dataclass(frozen=True)
class EntryText:
    """An entry's title (text) and its summary and content (HTML), exactly as the XML holds them."""

    title: str
    summary: str
    content: str


def entry_texts(feed: bytes) -> list[EntryText]:
    """Read straight from the XML: feedparser 'repairs' text that looks like mojibake
    (Latin-1 letters that also spell UTF-8), so it cannot show a round trip of any text."""
    root = etree.fromstring(feed)
    if root.tag == f"{ATOM}feed":
        return [
            EntryText(
                *(entry.findtext(f"{ATOM}{field}") for field in ("title", "summary", "content"))
            )
            for entry in root.iter(f"{ATOM}entry")
        ]
    return [
        EntryText(
            *(item.findtext(field) for field in ("title", "description", f"{CONTENT}encoded"))
        )
        for item in root.iter("item")
    ]


class RenderedHtml(HTMLParser):
    """What a reader renders from an entry's HTML: its elements and its text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.paragraphs: list[str] = []
        self.text = ""

    @classmethod
    def of(cls, markup: str) -> RenderedHtml:
        parser = cls()
        parser.feed(markup)
        parser.close()
        return parser

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "p":
            self.paragraphs.append("")

    def handle_data(self, data: str) -> None:
        self.text += data
        if self.paragraphs:
            self.paragraphs[-1] += data


def feed_files(feeds_dir: Path) -> list[Path]:
    """The files of every format a reader can subscribe to (not the stylesheet beside them)."""
    return sorted(
        path
        for feed_format in FEED_FORMATS
        for path in feeds_dir.glob(f"[!.]*.{feed_format.suffix}")
    )
