"""The rules subscribers depend on: when a delivery is a new story, a correction,
a duplicate or nothing new, and which times and revision a story is stored with.

Pure: no I/O, no clock, no database; the ingester looks up what is known and
stores what is decided, so every rule here is tested by a table of cases.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as time_of_day
from typing import Protocol
from zoneinfo import ZoneInfo

from feeder.model import Article

# A story's dateline has no time of day; when its file's mtime is not on that
# day either, the story is placed at local noon.
DEFAULT_TIME_OF_DAY = time_of_day(12)
# The least a correction moves `updated` forward, so readers see it as newer.
CORRECTION_STEP = timedelta(seconds=1)


class Outcome(enum.StrEnum):
    """What a delivered article turned out to be; the value is kept in the database."""

    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DUPLICATE = "duplicate"


class KnownStory(Protocol):
    """What the decision needs of a story already in the archive."""

    @property
    def sha256(self) -> str: ...
    @property
    def category_slug(self) -> str: ...
    @property
    def story_date(self) -> str: ...  # the dateline's date, ISO 8601
    @property
    def published(self) -> datetime: ...
    @property
    def updated(self) -> datetime: ...
    @property
    def revision(self) -> int: ...


@dataclass(frozen=True)
class StoryVersion:
    """What a new or corrected story is saved with."""

    category_slug: str
    published: datetime
    updated: datetime
    revision: int


@dataclass(frozen=True)
class StoryDecision:
    outcome: Outcome
    story_id: str  # the story the file counts for: the original, for a duplicate
    version: StoryVersion | None = None  # None: nothing to save
    old_category: str | None = None  # slug of the category a corrected story was in

    @property
    def changed_categories(self) -> set[str]:
        """The categories whose feeds this decision changes: both, for a story that moved."""
        if self.version is None:
            return set()
        return {self.version.category_slug} | ({self.old_category} if self.old_category else set())


def publish_time(story_date: date, mtime: datetime, zone: ZoneInfo) -> datetime:
    """The file's mtime when it falls on the dateline's day (local time), else local noon."""
    local = mtime.astimezone(zone)
    if local.date() == story_date:
        return local.replace(microsecond=0)
    return datetime.combine(story_date, DEFAULT_TIME_OF_DAY, zone)


def decide(
    existing: KnownStory | None,
    article: Article,
    *,
    category_slug: str,
    mtime: datetime,
    zone: ZoneInfo,
    duplicate_of: str | None = None,
) -> StoryDecision:
    """What to store for `article`, delivered in a file last modified at `mtime`.

    `existing` is the story stored under the article's id; `duplicate_of` the
    story that already has this content, which matters only for a story not yet
    stored (a correction may give a second story the same content). A correction
    keeps its publish time unless its dateline moved to another day, and always
    moves `updated` forward, even if the file's clock is behind.
    """
    if existing is not None and existing.sha256 == article.sha256:
        return StoryDecision(Outcome.UNCHANGED, article.story_id)
    if existing is None and duplicate_of is not None:
        return StoryDecision(Outcome.DUPLICATE, duplicate_of)
    if existing is None:
        published = publish_time(article.date, mtime, zone)
        version = StoryVersion(category_slug, published, published, 1)
        return StoryDecision(Outcome.NEW, article.story_id, version)
    if existing.story_date == article.date.isoformat():
        published = existing.published
    else:
        published = publish_time(article.date, mtime, zone)
    updated = max(mtime, existing.updated + CORRECTION_STEP, published)
    version = StoryVersion(category_slug, published, updated, existing.revision + 1)
    return StoryDecision(Outcome.UPDATED, article.story_id, version, existing.category_slug)
