"""How commands word things for a person at a terminal: counts, local times, progress."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

import click

from feeder.config import Config
from feeder.feeds.formats import FEED_FORMATS
from feeder.feeds.model import feed_path
from feeder.slugs import ALL_NEWS

# Below this many files a progress bar is more noise than help.
PROGRESS_MIN_FILES = 200


def plural(count: int, noun: str) -> str:
    """English counts for the terminal: "1 article", "2 articles"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def local(config: Config, moment: datetime) -> str:
    return moment.astimezone(config.timezone).strftime("%Y-%m-%d %H:%M:%S %Z")


def echo_written(config: Config, feeds_written: list[str], pages_written: int) -> None:
    click.echo(
        f"Wrote {plural(len(feeds_written), 'feed file')} and "
        f"{plural(pages_written, 'article page')} under {config.output_dir}."
    )
    relative = [feed_path(ALL_NEWS, feed_format) for feed_format in FEED_FORMATS]
    if all((config.output_dir / path).exists() for path in relative):
        urls = ", ".join(config.url(path) for path in relative)
        click.echo(f"Subscribe to all news: {urls}  (files in {config.feeds_dir})")


class ProgressBar:
    """A click progress bar, shown only on a terminal and only for long runs."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: Any = None
        self.done = 0

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.bar is not None:
            self.bar.render_finish()

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            if total < PROGRESS_MIN_FILES or not sys.stdout.isatty():
                return
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stdout)
        self.bar.update(done - self.done)
        self.done = done
