"""The list of withdrawn pages that feeder's server answers with 410 Gone.

The publisher writes it beside the output, hidden (never served), one article
path per line, replaced atomically like every file; the server rereads it only
when it changes, so a withdrawal is answered as gone from the next request.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from feeder.feeds import article_path

WITHDRAWN_PAGES = ".withdrawn-pages"


def withdrawn_list(page_keys: Iterable[str]) -> bytes:
    return "".join(f"{article_path(key)}\n" for key in sorted(page_keys)).encode()


class WithdrawnPages:
    """The paths listed in an output's WITHDRAWN_PAGES, reread when the file changes."""

    def __init__(self, output_dir: Path) -> None:
        self.path = output_dir / WITHDRAWN_PAGES
        self._identity: tuple[int, int] | None = None
        self._paths: frozenset[str] = frozenset()

    def __contains__(self, relative: str) -> bool:
        try:
            status = os.stat(self.path)
        except FileNotFoundError:
            return False
        identity = (status.st_ino, status.st_mtime_ns)
        if identity != self._identity:
            self._paths = frozenset(self.path.read_text(encoding="utf-8").splitlines())
            self._identity = identity
        return relative in self._paths
