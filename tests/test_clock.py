"""The clock given to a run is the only one it reads: a fixed clock gives fixed times."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from feeder.config import Config
from feeder.pipeline import ingest_and_publish
from feeder.store import Store
from tests.conftest import DeliverFn, wire_text

FIXED = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_a_reject_is_first_seen_at_the_time_of_the_clock_the_run_is_given(
    config: Config, deliver: DeliverFn
) -> None:
    deliver("001_aaaaaaaaaaaaaaaa.txt", b"")
    ingest_and_publish(config, clock=lambda: FIXED)
    with Store(config.database) as store:
        (reject,) = store.rejects()
    assert (reject.first_seen, reject.last_seen) == (FIXED, FIXED)


def test_whether_a_file_has_settled_is_judged_by_the_clock_the_run_is_given(
    config: Config, deliver: DeliverFn
) -> None:
    settling = dataclasses.replace(config, settle_seconds=60)
    path = deliver("001_aaaaaaaaaaaaaaaa.txt", wire_text(), age_seconds=3600)
    written = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    too_soon = ingest_and_publish(settling, clock=lambda: written + timedelta(seconds=30))
    assert (too_soon.ingest.skipped, too_soon.ingest.new) == (1, 0)
    settled = ingest_and_publish(settling, clock=lambda: written + timedelta(seconds=90))
    assert settled.ingest.new == 1
