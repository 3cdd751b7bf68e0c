"""What every response for a file says, decided once for feeder's server and for nginx.

`feeder serve` and the nginx configuration `feeder nginx-config` prints must
give a subscriber the same headers, so a reader or a CDN moved from one to the
other keeps its validators and its caching. Both follow these rules; the
nginx test compares the two servers header for header.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import PurePosixPath

from feeder.config import Config
from feeder.store.site import month_of

# After max-age, a CDN may keep serving its copy this long while it revalidates in the
# background (RFC 5861), so a publish never makes readers wait on the origin.
# Once the copy expires, an unreachable or failing origin (a restart, a deploy) leaves
# readers with the copy for up to a day instead of an error.
STALE_IF_ERROR_SECONDS = 86_400
# Publishing writes a gzip copy of each polled file beside it, with the source's mtime.
GZIP_SUFFIX = ".gz"
# `feeds/archive/<slug>/YYYY-MM.<suffix>` (`feeder.archives.month_location`).
_MONTH_DOCUMENT = re.compile(r"/?feeds/archive/[^/]+/(\d{4}-\d{2})\.[^./]+")


def cache_control(config: Config, closed_month: bool = False) -> str:
    """`closed_month`: for a month document of a month that has ended
    (`is_closed_month_document`), cached for `archive_max_age` instead, and
    `immutable` (RFC 8246), so a reload does not revalidate it either."""
    if closed_month:
        age = config.server.archive_max_age
        return f"max-age={age}, immutable, stale-if-error={STALE_IF_ERROR_SECONDS}"
    age = config.server.cache_max_age
    return f"max-age={age}, stale-while-revalidate={age}, stale-if-error={STALE_IF_ERROR_SECONDS}"


def is_closed_month_document(relative_path: str, now: datetime, config: Config) -> bool:
    """A month document (`feeder.archives`) of a month that has ended in the site's
    time zone: it changes only when one of its stories is corrected. The rule needs
    only the path and the clock, so a plain web server can apply it too (docs/feeds.md)."""
    match = _MONTH_DOCUMENT.fullmatch(relative_path)
    return match is not None and match.group(1) < month_of(now, config.timezone)


def entity_tag(status: os.stat_result) -> str:
    """nginx's strong ETag (hex mtime in seconds, hex size), so both servers agree.

    The gzip copy has a size of its own, so its ETag differs from the identity
    one, as a different representation's must (RFC 9110 8.8.3).
    """
    return f'"{int(status.st_mtime):x}-{status.st_size:x}"'


def is_hidden(relative_path: str) -> bool:
    """Hidden names are never served: publishing's temp files are hidden until renamed."""
    return any(part.startswith(".") for part in PurePosixPath(relative_path).parts)
