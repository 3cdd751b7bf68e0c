"""The story rules as a table: no files, no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from feeder.intake.story import Outcome, StoryDecision, StoryVersion, decide, publish_time
from feeder.model import Article
from feeder.store import StoredStory

BAKU = ZoneInfo("Asia/Baku")  # UTC+4 all year
DATELINE = date(2023, 9, 21)
# 15:30 in Baku on the dateline's day.
AFTERNOON = datetime(2023, 9, 21, 11, 30, tzinfo=UTC)
NOON_IN_BAKU = datetime(2023, 9, 21, 8, 0, tzinfo=UTC)


def article(sha256: str = "v1", on: date = DATELINE, category: str = "Политика") -> Article:
    return Article(
        story_id="001_aaaaaaaaaaaaaaaa",
        source_name="001_aaaaaaaaaaaaaaaa.txt",
        title="Заголовок",
        place="БАКУ",
        agency="Агентство",
        date=on,
        paragraphs=("Текст.",),
        category=category,
        teasers=(),
        sha256=sha256,
    )


STORED = StoredStory(
    sha256="v1",
    category_slug="politika",
    story_date=DATELINE.isoformat(),
    published=AFTERNOON,
    updated=AFTERNOON,
    revision=1,
)


def decide_for(
    existing: StoredStory | None,
    delivered: Article,
    mtime: datetime,
    slug: str = "politika",
    duplicate_of: str | None = None,
) -> StoryDecision:
    return decide(
        existing,
        delivered,
        category_slug=slug,
        mtime=mtime,
        zone=BAKU,
        duplicate_of=duplicate_of,
    )


def test_a_new_story_is_published_at_its_file_time_at_revision_one() -> None:
    decision = decide_for(None, article(), AFTERNOON)
    assert decision == StoryDecision(
        Outcome.NEW, "001_aaaaaaaaaaaaaaaa", StoryVersion("politika", AFTERNOON, AFTERNOON, 1)
    )
    assert decision.changed_categories == {"politika"}


def test_the_same_content_again_is_unchanged_and_stores_nothing() -> None:
    decision = decide_for(STORED, article("v1"), AFTERNOON + timedelta(hours=1))
    assert decision == StoryDecision(Outcome.UNCHANGED, "001_aaaaaaaaaaaaaaaa")
    assert decision.changed_categories == set()


def test_content_another_story_has_is_a_duplicate_counted_for_that_story() -> None:
    decision = decide_for(None, article(), AFTERNOON, duplicate_of="000_original")
    assert decision == StoryDecision(Outcome.DUPLICATE, "000_original")
    assert decision.changed_categories == set()


def test_a_correction_that_repeats_another_storys_content_is_still_a_correction() -> None:
    decision = decide_for(STORED, article("v2"), AFTERNOON, duplicate_of="000_original")
    assert decision.outcome is Outcome.UPDATED


def test_a_correction_the_same_day_keeps_its_publish_time_and_moves_updated() -> None:
    later = AFTERNOON + timedelta(minutes=20)
    decision = decide_for(STORED, article("v2"), later)
    assert decision.outcome is Outcome.UPDATED
    assert decision.version == StoryVersion("politika", AFTERNOON, later, 2)
    assert decision.old_category == "politika"
    assert decision.changed_categories == {"politika"}


def test_a_correction_with_a_new_dateline_date_is_published_again_on_that_day() -> None:
    next_day = DATELINE + timedelta(days=1)
    mtime = AFTERNOON + timedelta(days=1)
    decision = decide_for(STORED, article("v2", on=next_day), mtime)
    assert decision.version == StoryVersion("politika", mtime, mtime, 2)


def test_a_correction_dated_a_day_its_file_is_not_from_is_published_at_local_noon() -> None:
    earlier = DATELINE - timedelta(days=3)
    decision = decide_for(STORED, article("v2", on=earlier), AFTERNOON + timedelta(hours=1))
    assert decision.version is not None
    assert decision.version.published == NOON_IN_BAKU - timedelta(days=3)
    assert decision.version.updated == AFTERNOON + timedelta(hours=1)


def test_a_correction_into_another_category_changes_both_feeds() -> None:
    later = AFTERNOON + timedelta(minutes=5)
    decision = decide_for(STORED, article("v2", category="Экономика"), later, slug="ekonomika")
    assert decision.version == StoryVersion("ekonomika", AFTERNOON, later, 2)
    assert decision.old_category == "politika"
    assert decision.changed_categories == {"politika", "ekonomika"}


def test_a_correction_whose_file_clock_is_behind_still_moves_updated_forward() -> None:
    corrected_once = replace(STORED, updated=AFTERNOON + timedelta(hours=2), revision=3)
    behind = AFTERNOON - timedelta(hours=1)
    decision = decide_for(corrected_once, article("v2"), behind)
    assert decision.version == StoryVersion(
        "politika", AFTERNOON, AFTERNOON + timedelta(hours=2, seconds=1), 4
    )


def test_updated_is_never_before_a_new_dateline_publish_time() -> None:
    """A file from a day before its new dateline: noon of that day is the floor."""
    next_day = DATELINE + timedelta(days=1)
    decision = decide_for(STORED, article("v2", on=next_day), AFTERNOON + timedelta(hours=1))
    assert decision.version is not None
    assert decision.version.published == NOON_IN_BAKU + timedelta(days=1)
    assert decision.version.updated == decision.version.published


@pytest.mark.parametrize(
    ("mtime", "expected"),
    [
        pytest.param(AFTERNOON, AFTERNOON, id="on the dateline's day"),
        pytest.param(AFTERNOON.replace(microsecond=700_000), AFTERNOON, id="whole seconds"),
        pytest.param(AFTERNOON + timedelta(days=2), NOON_IN_BAKU, id="days later: noon"),
        pytest.param(
            datetime(2023, 9, 20, 20, 30, tzinfo=UTC),
            datetime(2023, 9, 20, 20, 30, tzinfo=UTC),
            id="00:30 in Baku, still the 20th in UTC",
        ),
        pytest.param(
            datetime(2023, 9, 21, 20, 30, tzinfo=UTC),
            NOON_IN_BAKU,
            id="00:30 the next day in Baku, still the 21st in UTC",
        ),
        pytest.param(
            datetime(2023, 9, 20, 19, 59, 59, tzinfo=UTC),
            NOON_IN_BAKU,
            id="23:59:59 the day before in Baku",
        ),
    ],
)
def test_publish_time_is_the_mtime_on_the_dateline_day_in_local_time_else_local_noon(
    mtime: datetime, expected: datetime
) -> None:
    published = publish_time(DATELINE, mtime, BAKU)
    assert published == expected
    assert published.utcoffset() == timedelta(hours=4)  # shown in local time
