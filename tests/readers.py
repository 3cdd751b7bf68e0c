"""A real feed reader, newsboat, driven without a terminal."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest


def newsboat_items(url: str, workdir: Path) -> list[dict[str, str]]:
    """Reload one feed URL in newsboat and return the items it stored in its cache.

    The cache stays in `workdir`, so a second call is a reader polling again.
    """
    return newsboat_feeds([url], workdir)[url]


def newsboat_feeds(urls: list[str], workdir: Path) -> dict[str, list[dict[str, str]]]:
    """Reload feed URLs in one newsboat run; the items it stored, by feed URL.

    newsboat keeps an item once, under the first feed it read it from, whatever
    other feed carries the same guid: give it feeds that share no entry.
    """
    if shutil.which("newsboat") is None:
        pytest.fail("newsboat is not installed: run `bash scripts/test.sh`, which installs it")
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "urls").write_text("".join(url + "\n" for url in urls))
    (workdir / "config").write_text("")
    cache = workdir / "cache.db"
    subprocess.run(
        ["newsboat", "-u", "urls", "-c", str(cache), "-C", "config", "-x", "reload"],
        cwd=workdir,
        env={"HOME": str(workdir), "PATH": "/usr/bin:/bin"},
        check=True,
        timeout=60,
        capture_output=True,
    )
    items: dict[str, list[dict[str, str]]] = {url: [] for url in urls}
    with sqlite3.connect(cache) as connection:
        connection.row_factory = sqlite3.Row
        for row in connection.execute(
            "SELECT feedurl, guid, title, author, content FROM rss_item ORDER BY id"
        ):
            items[row["feedurl"]].append(dict(row))
    return items


def newsboat_validators(url: str, workdir: Path) -> tuple[str, int]:
    """The ETag and Last-Modified (as a Unix time) newsboat keeps to ask for `url` conditionally."""
    with sqlite3.connect(workdir / "cache.db") as connection:
        return connection.execute(
            "SELECT etag, lastmodified FROM rss_feed WHERE rssurl = ?", [url]
        ).fetchone()
