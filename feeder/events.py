"""What channels follow (feeder.channels): a file publishing replaced, a story changed.

Both are plain data, so a channel never reaches into publishing or the store
for what it delivers. A `FileWritten` is told only when a file's bytes changed
(an unchanged feed pings no one); a `StoryEvent` carries everything a message
about the story needs, with the agency's text cleaned as every output cleans it
(`feeder.visible`) and its times in the site's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from feeder.config import Config
from feeder.feeds.model import FeedFormat
from feeder.model import Entry, StoryChange
from feeder.paths import article_path
from feeder.visible import visible


@dataclass(frozen=True)
class FileWritten:
    """One file publishing has just replaced with new bytes."""

    relative_path: str
    """Under the output directory and under the base URL: `feeds/all.rss`."""
    path: Path
    url: str
    """Where subscribers fetch it (base URL + relative path)."""
    media_type: str | None
    """The registered type readers are served, without charset."""
    data: bytes
    feed_format: FeedFormat | None = None
    """Set for feeds only, like `feed_slug` (`all` for all news)."""
    feed_slug: str | None = None
    durable: bool = True
    """False: written without an fsync of its own; the publisher makes its batch
    durable at once before recording it written, and a file of one follows suit."""


class FileListener(Protocol):
    """What publishing tells of every file it renders (feeder.channels.dispatch)."""

    def file_written(self, event: FileWritten) -> None: ...

    def file_unchanged(self, event: FileWritten) -> None: ...


@dataclass(frozen=True)
class StoryEvent:
    """A story published, corrected, withdrawn or restored, told once the change is
    committed; for a withdrawal, the story as it stood."""

    change: StoryChange
    story_id: str
    revision: int
    url: str
    """The article page."""
    category: str
    category_slug: str
    headline: str
    place: str
    lead: str
    body: tuple[str, ...]
    """Every paragraph, the lead first."""
    published: datetime
    updated: datetime

    def payload(self) -> dict[str, Any]:
        """As the outbox keeps it (JSON)."""
        return {
            "change": self.change.value,
            "story_id": self.story_id,
            "revision": self.revision,
            "url": self.url,
            "category": self.category,
            "category_slug": self.category_slug,
            "headline": self.headline,
            "place": self.place,
            "lead": self.lead,
            "body": list(self.body),
            "published": self.published.isoformat(),
            "updated": self.updated.isoformat(),
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> StoryEvent:
        return cls(
            change=StoryChange(payload["change"]),
            story_id=payload["story_id"],
            revision=payload["revision"],
            url=payload["url"],
            category=payload["category"],
            category_slug=payload["category_slug"],
            headline=payload["headline"],
            place=payload["place"],
            lead=payload["lead"],
            body=tuple(payload["body"]),
            published=datetime.fromisoformat(payload["published"]),
            updated=datetime.fromisoformat(payload["updated"]),
        )


def story_event(config: Config, change: StoryChange, entry: Entry) -> StoryEvent:
    body = tuple(visible(paragraph) for paragraph in entry.paragraphs)
    return StoryEvent(
        change=change,
        story_id=entry.story_id,
        revision=entry.revision,
        url=config.url(article_path(entry.page_key)),
        category=visible(entry.category),
        category_slug=entry.category_slug,
        headline=visible(entry.title),
        place=visible(entry.place),
        lead=body[0] if body else "",
        body=body,
        published=entry.published.astimezone(config.timezone),
        updated=entry.updated.astimezone(config.timezone),
    )
