"""The one clock every component reads, passed in so a test can fix the time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

# Returns the current time, timezone-aware.
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The default clock: the system's time, in UTC as everything is stored."""
    return datetime.now(UTC)
