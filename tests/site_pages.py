"""Reading the site as a visitor's browser would: pages, their links, a crawl."""

from __future__ import annotations

import json
import time
from collections import deque
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

import html5lib
from lxml import html

from feeder.config import Config
from tests.conftest import DeliverFn, wire_text


def page(config: Config, relative: str) -> html.HtmlElement:
    return html.fromstring((config.output_dir / relative).read_bytes())


def text(element: html.HtmlElement) -> str:
    """Text as a reader sees it: runs of white space as one space."""
    return " ".join(element.text_content().split())


def texts(element: html.HtmlElement, xpath: str) -> list[str]:
    return [text(found) for found in element.xpath(xpath)]


def news_article(document: html.HtmlElement) -> dict[str, Any]:
    (script,) = document.xpath("//script[@type='application/ld+json']")
    loaded: dict[str, Any] = json.loads(script.text)
    return loaded


def strict_parse(data: bytes) -> None:
    """html5lib in strict mode raises on the first parse error the HTML spec names."""
    html5lib.HTMLParser(strict=True).parse(data)


def deliver_at(deliver: DeliverFn, name: str, moment: datetime, **fields: Any) -> None:
    """A story whose dateline is `moment`'s local day and whose file was written at `moment`,
    so it is published at that time."""
    story = wire_text(date=moment.strftime("%d.%m.%y"), **fields)
    deliver(name, story, age_seconds=time.time() - moment.timestamp())


def crawl(config: Config) -> dict[str, list[str]]:
    """Every page reachable by links from the front page → the local links on it, as paths
    relative to the output directory (feeds and other files are not followed)."""
    found: dict[str, list[str]] = {}
    queue = deque(["index.html"])
    while queue:
        current = queue.popleft()
        if current in found:
            continue
        document = page(config, current)
        links = []
        for href in document.xpath("//a/@href"):
            target = _resolve(current, href, config.base_url)
            if target is not None:
                links.append(target)
                if target.endswith(".html") and target not in found:
                    queue.append(target)
        found[current] = links
    return found


def _resolve(current: str, href: str, base_url: str) -> str | None:
    if href.startswith("#"):
        return None
    if href.startswith(base_url):
        return href.removeprefix(base_url)
    if "://" in href:
        return None
    parts: list[str] = list(PurePosixPath(current).parent.parts)
    for part in PurePosixPath(href).parts:
        if part == "..":
            parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


def output_files(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file's bytes and mtime, to tell which a run rewrote."""
    return {
        str(path.relative_to(root)): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in root.rglob("*")
        if path.is_file()
    }
