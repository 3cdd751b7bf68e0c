"""How a client sees a feed: strict XML, feedparser, and the rules validators check;
for JSON Feed, the JSON Feed 1.1 schema and the rules of the spec it leaves out."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import feedparser
import jsonschema
from lxml import etree

from feeder.config import Config
from feeder.feeds.formats import FEED_FORMATS
from feeder.feeds.jsonfeed import VERSION as JSON_FEED_VERSION

# RSS and Atom: XML, which browsers are given as such (so they run its stylesheet),
# newsboat reads, and RFC 5005's marks are defined for.
XML_FORMATS = [f for f in FEED_FORMATS if f.browser_media_type == "application/xml"]
JSON_FEED_SCHEMA = Path(__file__).parent / "jsonfeed_schema" / "schema-v1.1.json"
# What must never appear raw in a JSON Feed: controls (JSON escapes C0 itself),
# lone surrogates, and the line separators that break JavaScript.
_RAW_FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"


def parse_valid_feed(data: bytes, self_url: str) -> feedparser.FeedParserDict:
    """Parse a feed the way readers do and assert what a validator would check.

    A JSON Feed comes back in feedparser's shape (`as_feedparser`), so a test
    parametrised over every format reads each the same way."""
    if data.startswith(b"{"):
        return as_feedparser(valid_json_feed(data, self_url))
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


@cache
def _json_feed_validator() -> jsonschema.Draft7Validator:
    schema = json.loads(JSON_FEED_SCHEMA.read_bytes())
    jsonschema.Draft7Validator.check_schema(schema)
    checker = jsonschema.Draft7Validator.FORMAT_CHECKER
    # Without its optional packages jsonschema passes every date and URI unchecked.
    assert {"date-time", "uri"} <= set(checker.checkers), "install jsonschema[format-nongpl]"
    return jsonschema.Draft7Validator(schema, format_checker=checker)


def valid_json_feed(data: bytes, self_url: str) -> dict[str, Any]:
    """A JSON Feed that is UTF-8, strict JSON and valid by the 1.1 schema, with
    its formats checked, the 1.1 version (the schema allows 1.0 too), RFC 3339
    dates with an offset, and unique tag: ids."""
    text = data.decode("utf-8")  # strict: invalid UTF-8 raises
    assert _RAW_FORBIDDEN.search(text) is None, "raw control character or surrogate"
    document: dict[str, Any] = json.loads(text)
    errors = sorted(_json_feed_validator().iter_errors(document), key=str)
    assert not errors, [f"{list(error.absolute_path)}: {error.message}" for error in errors]
    assert document["version"] == JSON_FEED_VERSION
    assert document["feed_url"] == self_url
    ids = [item["id"] for item in document["items"]]
    assert len(ids) == len(set(ids)), "item ids must be unique"
    for item in document["items"]:
        assert item["id"].startswith("tag:") and item["title"] and item["url"]
        for field in ("date_published", "date_modified"):
            assert datetime.fromisoformat(item[field]).utcoffset() is not None
    return document


def as_feedparser(document: dict[str, Any]) -> feedparser.FeedParserDict:
    """A JSON Feed in the names feedparser gives RSS and Atom; a summary, plain
    text in JSON Feed, as the HTML a reader shows for it."""
    entry = feedparser.FeedParserDict
    links = [entry(rel="self", href=document["feed_url"])]
    links += [entry(rel="alternate", href=document["home_page_url"])]
    feed = entry(
        title=document["title"],
        link=document["home_page_url"],
        language=document.get("language"),
        next_url=document.get("next_url"),
        links=links + [entry(rel="hub", href=hub["url"]) for hub in document.get("hubs", [])],
    )
    return entry(
        version="json11",
        feed=feed,
        entries=[
            entry(
                id=item["id"],
                title=item["title"],
                link=item["url"],
                summary=html.escape(item["summary"]),
                content=[entry(value=item["content_html"], type="text/html")],
                tags=[entry(term=tag, label=tag) for tag in item.get("tags", [])],
                author=item["authors"][0]["name"],
                published=item["date_published"],
                published_parsed=_utc_struct(item["date_published"]),
                updated=item["date_modified"],
                updated_parsed=_utc_struct(item["date_modified"]),
            )
            for item in document["items"]
        ],
    )


def _utc_struct(moment: str) -> Any:
    return datetime.fromisoformat(moment).astimezone(UTC).utctimetuple()


@dataclass(frozen=True)
class EntryText:
    """An entry's title (text) and its summary and content (HTML), exactly as the XML holds them."""

    title: str
    summary: str
    content: str


def entry_texts(feed: bytes) -> list[EntryText]:
    """Read straight from the XML: feedparser 'repairs' text that looks like mojibake
    (Latin-1 letters that also spell UTF-8), so it cannot show a round trip of any text.
    A JSON Feed's summary is plain text, given as the HTML a reader shows for it."""
    if feed.startswith(b"{"):
        return [
            EntryText(item["title"], html.escape(item["summary"]), item["content_html"])
            for item in json.loads(feed)["items"]
        ]
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


def parse_feed_file(config: Config, path: Path) -> feedparser.FeedParserDict:
    """`parse_valid_feed` of a published file, whose self URL its path gives."""
    return parse_valid_feed(
        path.read_bytes(), config.url(path.relative_to(config.output_dir).as_posix())
    )


def feed_files(feeds_dir: Path) -> list[Path]:
    """The files of every format a reader can fetch (not the stylesheet beside them):
    the subscription feeds and the month documents under `archive/`."""
    return sorted(
        path
        for feed_format in FEED_FORMATS
        for path in feeds_dir.rglob(f"[!.]*.{feed_format.suffix}")
    )
