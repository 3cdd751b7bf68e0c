"""The months and days of the archive: local calendar periods, end to end without gap or overlap."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from feeder.store.database import from_utc_text
from feeder.store.site import day_bounds, month_of

BAKU = ZoneInfo("Asia/Baku")


@pytest.mark.parametrize(
    ("utc", "month"),
    [
        # 23:30 UTC on 30 September is 03:30 on 1 October in Baku (UTC+4).
        (datetime(2023, 9, 30, 23, 30, tzinfo=UTC), "2023-10"),
        (datetime(2023, 9, 30, 19, 59, tzinfo=UTC), "2023-09"),
        (datetime(2023, 9, 30, 20, 0, tzinfo=UTC), "2023-10"),
        (datetime(2023, 12, 31, 20, 0, tzinfo=UTC), "2024-01"),
    ],
)
def test_a_story_belongs_to_the_month_of_its_local_publication_time(
    utc: datetime, month: str
) -> None:
    assert month_of(utc, BAKU) == month


@pytest.mark.parametrize("zone", [BAKU, ZoneInfo("Europe/Berlin"), ZoneInfo("America/Havana")])
def test_days_follow_each_other_without_gap_or_overlap(zone: ZoneInfo) -> None:
    """Berlin moves its clocks at the end of March and October; Havana at midnight,
    when a day (and a month) may begin: such a day is 23 or 25 hours long."""
    first = date(2022, 1, 1)
    days = [(first + timedelta(days=number)).isoformat() for number in range(2 * 365)]
    for day, following in itertools.pairwise(days):
        start, end = (from_utc_text(bound) for bound in day_bounds(day, zone))
        assert end == from_utc_text(day_bounds(following, zone)[0])
        assert start.astimezone(zone).date().isoformat() == day
        assert end.astimezone(zone).date().isoformat() == following
        assert month_of(start, zone) == day[:7]
