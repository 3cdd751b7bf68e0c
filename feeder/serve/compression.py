"""gzip per request, for the text files publishing writes no gzip copy of.

Article pages (and withdrawal notices) are written by the page writer, one
file each and never announced, so they have no `.gz` copy
(`feeder.serve.precompress`, docs/serving.md): a copy would double their
files on disk, and a story would rewrite twice as many. They are read by
people, a few times each, so compressing one on the way out costs less than
storing its copy forever: about 0.1 ms for a 4 KB page. nginx does the same
with `gzip on` for the same types and sizes (`feeder.serve.nginx`), and, like
nginx, feeder's server then sends a weak ETag: the compressed bytes are not
promised to be the same from one request to the next, or from one server to
the other.
"""

from __future__ import annotations

import gzip

from feeder.feeds.formats import is_text
from feeder.serve.precompress import GZIP_LEVEL, GZIP_MINIMUM_SIZE


def compressible(media_type: str | None, size: int) -> bool:
    """Text (not the pictures) of GZIP_MINIMUM_SIZE bytes or more, as nginx's
    `gzip_types` and `gzip_min_length` say."""
    return (
        media_type is not None and is_text(media_type.split(";")[0]) and size >= GZIP_MINIMUM_SIZE
    )


def accepts_gzip(accept_encoding: str) -> bool:
    """`gzip` listed, and not with q=0."""
    for coding in accept_encoding.split(","):
        name, _, parameters = coding.partition(";")
        if name.strip().lower() in {"gzip", "x-gzip"}:
            quality = parameters.strip().removeprefix("q=").strip() or "1"
            try:
                return float(quality) > 0
            except ValueError:
                return False
    return False


def compress(body: bytes) -> bytes:
    """mtime=0 in the header, as the copies publishing writes."""
    return gzip.compress(body, GZIP_LEVEL, mtime=0)


def weak(entity_tag: str) -> str:
    """The ETag of a representation compressed per request (RFC 9110 8.8.1), as nginx's."""
    return f"W/{entity_tag}"
