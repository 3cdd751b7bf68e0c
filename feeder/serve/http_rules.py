"""What every response for a file says, decided once for feeder's server and for nginx.

`feeder serve` and the nginx configuration `feeder nginx-config` prints must
give a subscriber the same headers, so a reader or a CDN moved from one to the
other keeps its validators and its caching. Both follow these rules; the
nginx test compares the two servers header for header.
"""

from __future__ import annotations

import os
import re
from pathlib import PurePosixPath

from feeder.config import Config

# After max-age, a CDN may keep serving its copy this long while it revalidates in the
# background (RFC 5861), so a publish never makes readers wait on the origin.
# Once the copy expires, an unreachable or failing origin (a restart, a deploy) leaves
# readers with the copy for up to a day instead of an error.
STALE_IF_ERROR_SECONDS = 86_400
# `feeds/pages/<slug>/<generation>-<number>.<suffix>` (`feeder.publish.archives.page_location`).
SEALED_PAGE_PATTERN = r"feeds/pages/[^/]+/[0-9a-f]+-[0-9]+\.[a-z]+"
# The month documents of earlier releases (`feeder.publish.archives.RETIRED_ARCHIVE_DIR`).
RETIRED_PREFIX = "feeds/archive/"


def cache_control(config: Config, sealed: bool = False) -> str:
    """`sealed`: for an archive page (`is_sealed_page`), cached for
    `archive_max_age` instead, and `immutable` (RFC 8246), so a reload does not
    revalidate it either."""
    if sealed:
        age = config.server.archive_max_age
        return f"max-age={age}, immutable, stale-if-error={STALE_IF_ERROR_SECONDS}"
    age = config.server.cache_max_age
    return f"max-age={age}, stale-while-revalidate={age}, stale-if-error={STALE_IF_ERROR_SECONDS}"


def is_sealed_page(relative_path: str) -> bool:
    """An RFC 5005 archive page, whose set of entries never changes: decided from
    the path alone, never the query string or the clock, so nginx decides the same."""
    return re.fullmatch(SEALED_PAGE_PATTERN, relative_path) is not None


def is_retired(relative_path: str) -> bool:
    """A month document of an earlier release: 410 Gone, from the path alone."""
    return relative_path.startswith(RETIRED_PREFIX)


def entity_tag(status: os.stat_result) -> str:
    """nginx's strong ETag (hex mtime in seconds, hex size), so both servers agree.

    The gzip copy has a size of its own, so its ETag differs from the identity
    one, as a different representation's must (RFC 9110 8.8.3).
    """
    return f'"{int(status.st_mtime):x}-{status.st_size:x}"'


def is_hidden(relative_path: str) -> bool:
    """Hidden names are never served: publishing's temp files are hidden until renamed."""
    return any(part.startswith(".") for part in PurePosixPath(relative_path).parts)
