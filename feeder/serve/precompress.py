"""A gzip copy beside each file readers poll, so no server compresses per request.

nginx's `gzip_static` and feeder's own server both send `<file>.gz` to a
client that accepts gzip. The copy is written when publishing replaces its
source (a channel, told of each file written), atomically, and with the source's
modification time, so both servers give it the source's Last-Modified and
feeder's server can tell a copy of another version (a different mtime) and
skip it; nginx cannot, so a copy a crash or a failure left behind its source
(`file_unchanged`) is rewritten by the next run that renders the source again:
the run that finishes the crashed one, any `feeder regen`, the nightly
maintenance. Other unchanged sources keep their copies untouched.

Article pages are written by the page-writer process and are not announced:
they get no copy (docs/serving.md has the disk cost that decided it); both
servers compress them per request instead (`feeder.serve.compression`). Pictures
(`is_text` false) are compressed already and get none either.
"""

from __future__ import annotations

import gzip
import logging
from pathlib import PurePosixPath

from feeder.channels.channel import Channel
from feeder.events import FileWritten
from feeder.feeds.formats import is_text
from feeder.files import TEMP_FOLDER, write_if_changed
from feeder.paths import GZIP_SUFFIX
from feeder.serve.http_rules import is_sealed_page

log = logging.getLogger(__name__)

# Below this many bytes gzip saves less than the extra file and header cost.
GZIP_MINIMUM_SIZE = 500
# A copy is made once per version and served many times, but made in the run
# that publishes a story: six of them for one new story. On a 175 KB, 50-item
# feed of Russian news, level 5 takes 2.6 ms for a copy 3.5 % larger than level
# 9's, which takes 13.8 ms (level 6: 4.6 ms and 0.7 %; level 4: 1.9 ms and 14 %).
GZIP_LEVEL = 5
# Archive pages are written once, thousands of them in a bulk ingest, and read
# rarely (a reader backfilling): level 2 takes 0.95 ms on a 180 KB page against
# level 5's 1.95 ms, for copies of 15 % of the source against 12 %.
SEALED_PAGE_GZIP_LEVEL = 2


def _wants_copy(event: FileWritten) -> bool:
    return len(event.data) >= GZIP_MINIMUM_SIZE and is_text(event.media_type)


def write_gzip_copy(event: FileWritten) -> None:
    copy = event.path.with_name(event.path.name + GZIP_SUFFIX)
    if not _wants_copy(event):
        copy.unlink(missing_ok=True)  # a copy of an older, larger version
        return
    # mtime=0 in the gzip header: the same source always gives the same copy.
    level = SEALED_PAGE_GZIP_LEVEL if is_sealed_page(event.relative_path) else GZIP_LEVEL
    data = gzip.compress(event.data, level, mtime=0)
    temp_dir = event.path.parents[len(PurePosixPath(event.relative_path).parts) - 1] / TEMP_FOLDER
    mtime_ns = event.path.stat().st_mtime_ns
    if write_if_changed(copy, data, temp_dir=temp_dir, durable=event.durable, mtime_ns=mtime_ns):
        log.debug("wrote %s%s", event.relative_path, GZIP_SUFFIX)


def repair_gzip_copy(event: FileWritten) -> None:
    copy = event.path.with_name(event.path.name + GZIP_SUFFIX)
    try:
        if copy.stat().st_mtime_ns == event.path.stat().st_mtime_ns:
            return
    except FileNotFoundError:
        if not _wants_copy(event):
            return
    log.info("%s%s: missing or older than its source; rewritten", event.relative_path, GZIP_SUFFIX)
    write_gzip_copy(event)


class Precompress(Channel):
    """Always on: both servers rely on the copies."""

    name = "precompress"

    def file_written(self, event: FileWritten) -> None:
        write_gzip_copy(event)

    def file_unchanged(self, event: FileWritten) -> None:
        repair_gzip_copy(event)
