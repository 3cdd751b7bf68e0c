"""Ingesting the inbox: new stories, duplicates, corrections, rejects, files in flight."""

from __future__ import annotations

import hashlib
import os
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import feeder.intake.inbox
from feeder.config import Config
from feeder.model import Entry
from feeder.pipeline import ingest_and_publish
from feeder.store import Store, StoredReject
from tests.conftest import SEED, config_for, wire_text
from tests.state import article_rows, entries


def stored_rejects(config: Config) -> list[StoredReject]:
    with Store(config.database) as store:
        return store.rejects()


def snapshot(inbox: Path) -> dict[str, tuple[str, int]]:
    return {
        path.name: (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
        for path in inbox.iterdir()
    }


def test_a_new_story_is_stored_with_all_its_fields(config: Config, deliver, run_ingest) -> None:
    deliver(SEED.name, SEED.read_bytes())
    outcome = run_ingest()
    assert outcome.ingest.counts() == {
        "new": 1,
        "updated": 0,
        "duplicate": 0,
        "rejected": 0,
        "skipped": 0,
        "unchanged": 0,
    }
    assert outcome.ingest.changed_categories == {"politika"}
    (row,) = article_rows(config.database)
    assert row["story_id"] == "000_dac83acdb151354f"
    assert (row["category"], row["category_slug"], row["revision"]) == ("Политика", "politika", 1)
    assert row["story_date"] == "2023-09-21"
    assert row["published"] == row["updated"]
    assert "Скандал" in row["teasers"] and "Скандал" not in row["paragraphs"]


def test_ingesting_twice_changes_nothing_the_second_time(
    config: Config, deliver, run_ingest
) -> None:
    deliver("001_aaaaaaaaaaaaaaaa.txt", wire_text(title="Первая"))
    deliver("002_bbbbbbbbbbbbbbbb.txt", wire_text(title="Вторая", category="Экономика"))
    first = run_ingest()
    stored = article_rows(config.database)
    feed = (config.feeds_dir / "all.atom").stat().st_mtime_ns
    second = run_ingest()
    assert first.ingest.new == 2
    assert second.ingest.counts() == {
        "new": 0,
        "updated": 0,
        "duplicate": 0,
        "rejected": 0,
        "skipped": 0,
        "unchanged": 2,
    }
    assert second.publish.feeds_written == []
    assert article_rows(config.database) == stored
    assert (config.feeds_dir / "all.atom").stat().st_mtime_ns == feed


def test_the_same_content_under_another_name_is_a_skipped_duplicate(
    config: Config, deliver, run_ingest
) -> None:
    deliver("001_aaaaaaaaaaaaaaaa.txt", wire_text())
    deliver("002_bbbbbbbbbbbbbbbb.txt", wire_text())
    outcome = run_ingest()
    assert (outcome.ingest.new, outcome.ingest.duplicate) == (1, 1)
    assert [row["story_id"] for row in article_rows(config.database)] == ["001_aaaaaaaaaaaaaaaa"]
    # and a later delivery of it again is still a duplicate, counted once per new delivery
    deliver("003_cccccccccccccccc.txt", wire_text())
    assert run_ingest().ingest.duplicate == 1


def test_a_duplicate_of_content_two_stories_share_is_a_copy_of_the_first_published(
    config: Config, deliver, run_ingest
) -> None:
    def filed_at(hour: int) -> float:
        """Age of a file dated that hour on the dateline's day, in Baku."""
        moment = datetime(2023, 9, 21, hour, tzinfo=ZoneInfo("Asia/Baku"))
        return time.time() - moment.timestamp()

    deliver("002_bbbbbbbbbbbbbbbb.txt", wire_text(title="Раньше"), age_seconds=filed_at(9))
    deliver("001_aaaaaaaaaaaaaaaa.txt", wire_text(title="Позже"), age_seconds=filed_at(10))
    run_ingest()
    # The earlier story is corrected to the later one's text, word for word.
    deliver("002_bbbbbbbbbbbbbbbb.txt", wire_text(title="Позже"), age_seconds=filed_at(11))
    assert run_ingest().ingest.updated == 1
    deliver("003_cccccccccccccccc.txt", wire_text(title="Позже"), age_seconds=filed_at(12))
    assert run_ingest().ingest.duplicate == 1
    with Store(config.database) as store:
        outcome = store.file_outcome("003_cccccccccccccccc.txt")
    assert outcome is not None
    assert outcome.story_id == "002_bbbbbbbbbbbbbbbb"  # published at 09:00, the other at 10:00


def test_a_redelivered_story_is_a_correction_of_the_same_entry(
    config: Config, deliver, run_ingest
) -> None:
    deliver("001_aaaaaaaaaaaaaaaa.txt", wire_text(title="Первая версия"), age_seconds=7200)
    run_ingest()
    (before,) = article_rows(config.database)
    deliver("001_aaaaaaaaaaaaaaaa.txt", wire_text(title="Исправленная версия"), age_seconds=60)
    outcome = run_ingest()
    (after,) = article_rows(config.database)
    assert outcome.ingest.updated == 1 and outcome.ingest.new == 0
    assert after["story_id"] == before["story_id"]
    assert after["title"] == "Исправленная версия"
    assert after["revision"] == 2
    assert after["published"] == before["published"]
    assert after["updated"] > before["updated"]


def test_a_correction_that_moves_category_rewrites_both_feeds(
    config: Config, deliver, run_ingest
) -> None:
    deliver("001_aaaaaaaaaaaaaaaa.txt", wire_text(category="Политика"))
    run_ingest()
    deliver("001_aaaaaaaaaaaaaaaa.txt", wire_text(category="Экономика", title="Перенесено"))
    outcome = run_ingest()
    assert outcome.ingest.changed_categories == {"politika", "ekonomika"}
    assert "feeds/politika.atom" in outcome.publish.feeds_written
    assert "Перенесено" not in (config.feeds_dir / "politika.atom").read_text()
    assert "Перенесено" in (config.feeds_dir / "ekonomika.atom").read_text()


def test_a_file_still_being_written_is_left_for_the_next_run(tmp_path: Path, deliver) -> None:
    config = config_for(tmp_path, settle_seconds=30)
    deliver("001_aaaaaaaaaaaaaaaa.txt", wire_text(), age_seconds=0)
    assert ingest_and_publish(config).ingest.skipped == 1
    assert not config.database.exists() or article_rows(config.database) == []
    deliver("001_aaaaaaaaaaaaaaaa.txt", wire_text(), age_seconds=60)
    assert ingest_and_publish(config).ingest.new == 1


def test_named_files_are_ingested_and_the_rest_of_the_inbox_is_left_alone(
    config: Config, deliver
) -> None:
    deliver("001_aaaaaaaaaaaaaaaa.txt", wire_text(title="Первая"))
    deliver("002_bbbbbbbbbbbbbbbb.txt", wire_text(title="Вторая"))
    outcome = ingest_and_publish(config, only=["002_bbbbbbbbbbbbbbbb.txt", "gone.txt", "x.jpg"])
    assert (outcome.ingest.new, outcome.ingest.unchanged) == (1, 0)
    assert [row["title"] for row in article_rows(config.database)] == ["Вторая"]
    deliver("002_bbbbbbbbbbbbbbbb.txt", wire_text(title="Вторая, исправлена"))
    outcome = ingest_and_publish(config, only=["002_bbbbbbbbbbbbbbbb.txt"])
    assert outcome.ingest.updated == 1
    assert ingest_and_publish(config, only=["002_bbbbbbbbbbbbbbbb.txt"]).ingest.unchanged == 1
    assert ingest_and_publish(config).ingest.new == 1  # a scan finds the other


def test_a_file_known_to_be_complete_need_not_settle(tmp_path: Path, deliver) -> None:
    config = config_for(tmp_path, settle_seconds=30)
    deliver("001_aaaaaaaaaaaaaaaa.txt", wire_text(), age_seconds=0)
    outcome = ingest_and_publish(config, complete={"001_aaaaaaaaaaaaaaaa.txt"})
    assert outcome.ingest.new == 1


def test_a_file_that_grows_while_it_is_read_is_skipped(
    config: Config, deliver, monkeypatch
) -> None:
    path = deliver("001_aaaaaaaaaaaaaaaa.txt", wire_text())
    real_read = feeder.intake.inbox._read_up_to

    def read_while_the_agency_appends(descriptor: int, size: int) -> bytes:
        with path.open("ab") as appending:
            appending.write(b"\n")
        return real_read(descriptor, size)

    monkeypatch.setattr(feeder.intake.inbox, "_read_up_to", read_while_the_agency_appends)
    assert ingest_and_publish(config).ingest.skipped == 1


def test_rejects_are_recorded_then_cleared_when_fixed_in_place(
    config: Config, deliver, run_ingest
) -> None:
    deliver("001_aaaaaaaaaaaaaaaa.txt", wire_text(category=None, teasers=()))
    deliver("002_bbbbbbbbbbbbbbbb.txt", wire_text(title="Хорошая"))
    outcome = run_ingest()
    assert (outcome.ingest.new, outcome.ingest.rejected) == (1, 1)
    (reject,) = stored_rejects(config)
    assert reject.name == "001_aaaaaaaaaaaaaaaa.txt"
    assert reject.reason == "no-category"
    deliver("001_aaaaaaaaaaaaaaaa.txt", wire_text(title="Исправлена"))
    assert run_ingest().ingest.new == 1
    assert stored_rejects(config) == []


def test_a_rejected_file_removed_from_the_inbox_is_forgotten(
    config: Config, deliver, run_ingest
) -> None:
    path = deliver("junk.txt", b"")
    run_ingest()
    path.unlink()
    run_ingest()
    assert stored_rejects(config) == []


def test_a_corrupt_correction_keeps_the_published_story(
    config: Config, deliver, run_ingest
) -> None:
    deliver("001_aaaaaaaaaaaaaaaa.txt", wire_text(title="Опубликовано"))
    run_ingest()
    deliver("001_aaaaaaaaaaaaaaaa.txt", b"")
    assert run_ingest().ingest.rejected == 1
    assert [row["title"] for row in article_rows(config.database)] == ["Опубликовано"]


def test_too_large_files_are_rejected_without_reading(tmp_path: Path, deliver) -> None:
    config = config_for(tmp_path, max_file_size=100)
    deliver("001_aaaaaaaaaaaaaaaa.txt", wire_text(paragraphs=("Длинный абзац. " * 20,)))
    assert ingest_and_publish(config).ingest.rejected == 1
    (reject,) = stored_rejects(config)
    assert reject.reason == "too-large" and "max_file_size" in reject.message


def test_unreadable_files_are_rejected_and_retried(config: Config, deliver, monkeypatch) -> None:
    deliver("001_aaaaaaaaaaaaaaaa.txt", wire_text())
    real_open = os.open

    def denied(path: str, *args, **kwargs) -> int:
        # Root reads any file whatever its mode, so the refusal is simulated.
        if os.fspath(path).endswith("/001_aaaaaaaaaaaaaaaa.txt"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)
    assert ingest_and_publish(config).ingest.rejected == 1
    (reject,) = stored_rejects(config)
    assert reject.reason == "unreadable" and "Permission denied" in reject.message
    monkeypatch.setattr(os, "open", real_open)
    assert ingest_and_publish(config).ingest.new == 1  # permissions fixed: same size and mtime


def test_only_visible_txt_files_are_articles(config: Config, deliver, run_ingest) -> None:
    deliver("001_aaaaaaaaaaaaaaaa.txt", wire_text())
    deliver(".002_partial.txt", wire_text(title="Частичная"))
    deliver("photo.jpg", b"\xff\xd8\xff")
    (config.inbox / "folder.txt").mkdir()
    outcome = run_ingest()
    assert outcome.ingest.new == 1 and outcome.ingest.rejected == 0


def test_source_files_are_never_modified_or_removed(config: Config, deliver, run_ingest) -> None:
    deliver("001_aaaaaaaaaaaaaaaa.txt", wire_text().replace("\n", "\r\n").encode("cp1251"))
    deliver("002_bbbbbbbbbbbbbbbb.txt", b"")
    deliver("003_cccccccccccccccc.txt", wire_text().replace("\n", "\r\n").encode("cp1251"))
    before = snapshot(config.inbox)
    run_ingest()
    run_ingest()
    assert snapshot(config.inbox) == before


def test_publish_time_is_the_mtime_on_the_dateline_day_else_local_noon(
    config: Config, deliver, run_ingest
) -> None:
    deliver("001_aaaaaaaaaaaaaaaa.txt", wire_text(date="21.09.23"))
    run_ingest()
    (row,) = article_rows(config.database)
    assert row["published"] == "2023-09-21T08:00:00+00:00"  # 12:00 in Baku (UTC+4)
    path = deliver("002_bbbbbbbbbbbbbbbb.txt", wire_text(date="22.09.23", title="Днём"))
    afternoon = datetime(2023, 9, 22, 15, 30, tzinfo=ZoneInfo("Asia/Baku")).timestamp()
    os.utime(path, (afternoon, afternoon))
    run_ingest()
    assert article_rows(config.database)[1]["published"] == "2023-09-22T11:30:00+00:00"


@pytest.mark.parametrize("name", ["Новость 110.txt", "with space.txt"])
def test_hand_dropped_file_names_become_safe_page_names(
    config: Config, deliver, run_ingest, name: str
) -> None:
    deliver(name, wire_text())
    run_ingest()
    (row,) = article_rows(config.database)
    assert row["story_id"] == name.removesuffix(".txt")
    assert (config.articles_dir / f"{row['page_key']}.html").exists()
    assert row["page_key"].isascii() and " " not in row["page_key"]


def test_category_counts_and_newest_dates_follow_new_stories_and_corrections(
    config: Config, deliver, run_ingest
) -> None:
    deliver("001_aaaaaaaaaaaaaaaa.txt", wire_text(date="21.09.23", category="Политика"))
    deliver("002_bbbbbbbbbbbbbbbb.txt", wire_text(date="22.09.23", category="Политика", title="Б"))
    deliver("003_cccccccccccccccc.txt", wire_text(date="23.09.23", category="Экономика", title="В"))
    run_ingest()
    # The newest political story moves to economy; the oldest moves a day back.
    deliver(
        "002_bbbbbbbbbbbbbbbb.txt", wire_text(date="22.09.23", category="Экономика", title="Б2")
    )
    deliver("001_aaaaaaaaaaaaaaaa.txt", wire_text(date="20.09.23", category="Политика", title="А2"))
    run_ingest()
    with Store(config.database) as store:
        kept = {
            (c.slug, c.count, c.newest.isoformat() if c.newest else None)
            for c in store.categories()
        }
    by_category: dict[str, list[Entry]] = {}
    for entry in entries(config.database):
        by_category.setdefault(entry.category_slug, []).append(entry)
    counted = {
        (slug, len(stories), max(entry.published for entry in stories).isoformat())
        for slug, stories in by_category.items()
    }
    assert kept == counted
    assert ("politika", 1, "2023-09-20T08:00:00+00:00") in kept


def test_a_file_name_that_is_not_utf8_is_rejected_not_a_crash(
    config: Config, deliver, run_ingest
) -> None:
    deliver("001_aaaaaaaaaaaaaaaa.txt", wire_text(title="Хорошая"))
    legacy_name = os.fsdecode("Новость 7".encode("cp1251") + b".txt")
    deliver(legacy_name, wire_text(title="Из старой программы"))
    outcome = run_ingest()
    assert (outcome.ingest.new, outcome.ingest.rejected) == (1, 1)
    (reject,) = stored_rejects(config)
    assert reject.reason == "bad-file-name"
    assert reject.name == "\\xcd\\xee\\xe2\\xee\\xf1\\xf2\\xfc 7.txt"
    assert "rename the file" in reject.message
    assert run_ingest().ingest.rejected == 1  # still listed, and still no crash
    assert [reject.name for reject in stored_rejects(config)] == [
        "\\xcd\\xee\\xe2\\xee\\xf1\\xf2\\xfc 7.txt"
    ]
    # Named by the watcher's event, as the daemon names an arrival.
    assert ingest_and_publish(config, only=[legacy_name]).ingest.rejected == 1
    (config.inbox / legacy_name).rename(config.inbox / "Новость 7.txt")
    assert run_ingest().ingest.new == 1
    assert stored_rejects(config) == []
