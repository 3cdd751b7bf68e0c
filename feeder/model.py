"""The plain data that flows from the parser through the store to the feeds."""

from __future__ import annotations

import enum
import hashlib
import json
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime


class RejectReason(enum.Enum):
    """Why a delivered file was not published; the value is the stable code kept in the database."""

    EMPTY = "empty"
    NOT_TEXT = "not-text"
    TOO_LARGE = "too-large"
    UNREADABLE = "unreadable"
    OUTSIDE_INBOX = "outside-inbox"
    BAD_FILE_NAME = "bad-file-name"
    IMPOSSIBLE_FILE_TIME = "impossible-file-time"
    MIXED_ENCODINGS = "mixed-encodings"
    FAILED = "failed"
    NO_HEADLINE = "no-headline"
    NO_DATELINE = "no-dateline"
    IMPOSSIBLE_DATE = "impossible-date"
    NO_END_MARK = "no-end-mark"
    NO_BODY = "no-body"
    NO_CATEGORY = "no-category"


@dataclass(frozen=True)
class Rejection:
    """A file that cannot be published, with a message that tells the operator what to fix."""

    source_name: str
    sha256: str
    reason: RejectReason
    message: str


def content_hash(
    title: str,
    place: str,
    agency: str,
    story_date: str,
    paragraphs: Sequence[str],
    category: str,
    teasers: Sequence[str],
) -> str:
    """What makes two deliveries the same story text: the parsed fields, not the
    bytes, so line endings, a BOM, trailing spaces and the encoding (cp1251 or
    UTF-8) do not count, nor Unicode's two spellings of one letter (NFC).
    The store recomputes it from the same fields (a migration), so keep both in step."""
    fields = [title, place, agency, story_date, list(paragraphs), category, list(teasers)]
    text = unicodedata.normalize("NFC", json.dumps(fields, ensure_ascii=False))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Article:
    """One story as the agency delivered it, parsed and cleaned, not yet stored;
    `sha256` is its `content_hash`."""

    story_id: str
    source_name: str
    title: str
    place: str
    agency: str
    date: date
    paragraphs: tuple[str, ...]
    category: str
    teasers: tuple[str, ...]
    sha256: str


@dataclass(frozen=True)
class Entry:
    """A stored story as the feeds and pages publish it (teasers are never published)."""

    story_id: str
    page_key: str
    title: str
    place: str
    agency: str
    paragraphs: tuple[str, ...]
    category: str
    category_slug: str
    published: datetime
    updated: datetime
    revision: int

    @property
    def summary(self) -> str:
        return self.paragraphs[0]


class StoryChange(enum.Enum):
    """What happened to a story, as channels that follow stories are told."""

    PUBLISHED = "published"
    CORRECTED = "corrected"
    WITHDRAWN = "withdrawn"
    RESTORED = "restored"


@dataclass(frozen=True)
class Category:
    """A category as the index lists it."""

    slug: str
    name: str
    count: int
    newest: datetime | None


# What the site's archive pages and sitemaps show, as plain data: the store reads
# them, and the renderers (`feeder.site.pages`, `feeder.site.sitemaps`) never see the store.


@dataclass(frozen=True)
class Headline:
    """A story as a day page and the sitemaps list it: no body."""

    page_key: str
    title: str
    category: str
    category_slug: str
    published: datetime
    updated: datetime


@dataclass(frozen=True)
class Month:
    """A local calendar month of a category (or all news) that has stories."""

    slug: str
    month: str  # YYYY-MM
    stories: int
    updated: datetime


@dataclass(frozen=True)
class Day:
    """A local calendar day of a category (or all news): its page and, for all news,
    its sitemap. `updated` is the last change to one of its stories."""

    slug: str
    day: str  # YYYY-MM-DD
    stories: int
    updated: datetime


@dataclass(frozen=True)
class Neighbour:
    page_key: str
    title: str


@dataclass(frozen=True)
class Neighbours:
    """The stories before (older) and after (newer) one story in its category."""

    previous: Neighbour | None
    next: Neighbour | None
