"""The registered feed formats, and the media type of every file publishing writes.

Publishing, the server, the pages, the OPML file and the CLI all iterate over
`FEED_FORMATS`, so a new format is a `FeedFormat` subclass (`feeder.feeds.model`) plus
one `FEED_FORMATS.register` line here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath

from feeder.feeds.jsonfeed import JsonFeed
from feeder.feeds.model import FeedFormat
from feeder.feeds.xmlfeeds import Atom, Rss

# Every text file publishing writes is UTF-8, and is served (and delivered) saying so.
CHARSET = "; charset=utf-8"
# The files publishing writes besides feeds, by suffix.
PAGE_MEDIA_TYPES = {
    ".opml": "text/x-opml",
    ".html": "text/html",
    ".xsl": "text/xsl",
    ".xml": "application/xml",  # the sitemaps
    ".txt": "text/plain",  # robots.txt
}
# The pictures publishing copies (`feeder.publish.assets`): no charset, and already
# compressed, so neither a gzip copy nor gzip per request.
IMAGE_MEDIA_TYPES = {
    ".ico": "image/x-icon",
    ".png": "image/png",
}


class FormatRegistry:
    """Formats in registration order; the first is the one offered where only one
    fits (the OPML file, an article's category link)."""

    def __init__(self) -> None:
        self._formats: dict[str, FeedFormat] = {}

    def register(self, feed_format: FeedFormat) -> FeedFormat:
        suffix = f".{feed_format.suffix}"
        if feed_format.suffix in self._formats or suffix in PAGE_MEDIA_TYPES | IMAGE_MEDIA_TYPES:
            raise ValueError(
                f"suffix {feed_format.suffix!r} is taken by another format or file; choose another"
            )
        self._formats[feed_format.suffix] = feed_format
        return feed_format

    def unregister(self, feed_format: FeedFormat) -> None:
        del self._formats[feed_format.suffix]

    def __iter__(self) -> Iterator[FeedFormat]:
        return iter(list(self._formats.values()))

    def __len__(self) -> int:
        return len(self._formats)

    @property
    def primary(self) -> FeedFormat:
        return next(iter(self._formats.values()))

    def for_path(self, path: str) -> FeedFormat | None:
        """The format of a file by its name, None if it is no feed."""
        return self._formats.get(PurePosixPath(path).suffix.removeprefix("."))


FEED_FORMATS = FormatRegistry()
FEED_FORMATS.register(Rss())
FEED_FORMATS.register(Atom())
FEED_FORMATS.register(JsonFeed())


def media_type_for(path: str) -> str | None:
    """What a reader is served for a file publishing writes, without charset."""
    feed_format = FEED_FORMATS.for_path(path)
    if feed_format is not None:
        return feed_format.media_type
    suffix = PurePosixPath(path).suffix
    return PAGE_MEDIA_TYPES.get(suffix) or IMAGE_MEDIA_TYPES.get(suffix)


def is_text(media_type: str | None) -> bool:
    """Served with a charset and compressible: all but the pictures."""
    return media_type is not None and media_type not in IMAGE_MEDIA_TYPES.values()
