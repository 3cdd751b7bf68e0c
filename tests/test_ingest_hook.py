"""`feeder ingest` as a delivery hook and by hand: named files are complete, what
is not ingested says why and fails the command, nothing delivered is missed."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from feeder.config import Config
from feeder.pipeline import ingest_and_publish
from feeder.store import Store
from tests.commands import feeder_cli
from tests.conftest import config_for, wire_text, write_config
from tests.state import article_rows

STORY = "001_aaaaaaaaaaaaaaaa.txt"


@pytest.fixture
def settling_config_path(tmp_path: Path) -> Path:
    """A config whose files settle only after half a minute, as in production."""
    return write_config(tmp_path, settle_seconds=30)


def test_a_named_file_written_a_moment_ago_is_published_at_once(
    settling_config_path: Path, tmp_path: Path
) -> None:
    path = tmp_path / "inbox" / STORY
    path.write_text(wire_text(title="Только что"))
    result = feeder_cli(settling_config_path, "ingest", str(path))
    assert result.exit_code == 0, result.output
    assert "1 new" in result.stdout
    assert [row["title"] for row in article_rows(tmp_path / "var" / "feeder.db")] == ["Только что"]


def test_named_files_rejected_or_missing_fail_the_command_with_each_reason(
    settling_config_path: Path, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "001_good.txt").write_text(wire_text(title="Хорошая"))
    (inbox / "002_broken.txt").write_text(wire_text(end_mark=""))
    args = [str(inbox / name) for name in ("001_good.txt", "002_broken.txt", "003_missing.txt")]
    result = feeder_cli(settling_config_path, "ingest", *args)
    assert result.exit_code == 1
    errors = result.stderr.splitlines()
    assert any("002_broken.txt: rejected [no-end-mark]: no end mark" in line for line in errors)
    assert any("003_missing.txt: no such file" in line for line in errors)
    assert [row["title"] for row in article_rows(tmp_path / "var" / "feeder.db")] == ["Хорошая"]
    again = feeder_cli(settling_config_path, "ingest", args[1])  # unchanged, still rejected
    assert again.exit_code == 1 and "rejected [no-end-mark]" in again.stderr


def test_wait_waits_for_a_named_file_still_being_written(tmp_path: Path) -> None:
    config_path = write_config(tmp_path, settle_seconds=1)
    path = tmp_path / "inbox" / STORY
    text = wire_text(title="Медленная загрузка").encode()
    path.write_bytes(text[:20])  # cut short, mid-character too

    def finish_upload() -> None:
        time.sleep(0.6)
        path.write_bytes(text)

    uploader = threading.Thread(target=finish_upload)
    uploader.start()
    result = feeder_cli(config_path, "ingest", "--wait", str(path))
    uploader.join()
    assert result.exit_code == 0, result.output
    assert "Waiting for 1 file still being written" in result.stdout
    assert [row["title"] for row in article_rows(tmp_path / "var" / "feeder.db")] == [
        "Медленная загрузка"
    ]


def test_a_plain_ingest_says_how_many_files_wait_to_settle_and_when_to_rerun(
    settling_config_path: Path, tmp_path: Path
) -> None:
    for number in (1, 2):
        (tmp_path / "inbox" / f"00{number}_story.txt").write_text(wire_text())
    result = feeder_cli(settling_config_path, "ingest")
    assert result.exit_code == 0
    assert "2 files modified less than 30 s ago were left to settle: run `feeder ingest` " in (
        result.stdout
    )
    assert "again after " in result.stdout


def test_a_same_size_correction_with_its_mtime_kept_is_seen(
    config: Config, deliver, run_ingest
) -> None:
    path = deliver(STORY, wire_text(title="Первая версия"))
    run_ingest()
    kept = path.stat()
    path.write_text(wire_text(title="Вторая версия"))  # the same length, as `touch -r` keeps
    os.utime(path, ns=(kept.st_atime_ns, kept.st_mtime_ns))
    assert path.stat().st_size == kept.st_size
    assert run_ingest().ingest.updated == 1
    assert [row["title"] for row in article_rows(config.database)] == ["Вторая версия"]


def test_force_reads_a_named_file_again(config: Config, deliver) -> None:
    deliver(STORY, wire_text())
    ingest_and_publish(config)
    assert ingest_and_publish(config, only=[STORY]).ingest.unchanged == 1
    assert ingest_and_publish(config, only=[STORY], force=True).ingest.counts()["unchanged"] == 1
    with Store(config.database) as store:
        store.connection.execute("UPDATE articles SET sha256 = 'stale'")
    assert ingest_and_publish(config, only=[STORY], force=True).ingest.updated == 1


def test_a_file_seen_closed_but_not_settled_waits_rather_than_being_rejected(
    tmp_path: Path, deliver
) -> None:
    """An upload in pieces closes the file after each: the first piece is no article yet."""
    config = config_for(tmp_path, settle_seconds=30)
    text = wire_text().encode("cp1251")
    deliver(STORY, text[: len(text) // 2], age_seconds=0)
    first = ingest_and_publish(config, only=[STORY], complete={STORY}).ingest
    assert (first.rejected, first.skipped) == (0, 1)
    with Store(config.database) as store:
        assert store.rejects() == []
    deliver(STORY, text, age_seconds=0)
    assert ingest_and_publish(config, only=[STORY], complete={STORY}).ingest.new == 1


@pytest.mark.parametrize(
    "copy",
    [
        lambda text: text.replace("\n", "\r\n").encode(),
        lambda text: b"\xef\xbb\xbf" + text.encode(),
        lambda text: text.replace("\n", "   \n").encode() + b"\n\n",
        lambda text: text.encode("cp1251"),
        lambda text: text.encode("utf-16"),
    ],
    ids=["crlf", "bom", "trailing-white-space", "cp1251", "utf16"],
)
def test_a_copy_differing_only_in_form_is_a_duplicate(config: Config, deliver, copy) -> None:
    text = wire_text(title="Одна новость")
    deliver("001_original.txt", text.encode(), age_seconds=7200)
    deliver("002_copy.txt", copy(text))
    report = ingest_and_publish(config).ingest
    assert (report.new, report.duplicate) == (1, 1)


def test_a_file_dated_in_the_future_is_logged_listed_and_waits_unless_named(
    tmp_path: Path,
) -> None:
    config_path = write_config(tmp_path)
    path = tmp_path / "inbox" / STORY
    today = datetime.now(ZoneInfo("Asia/Baku")).strftime("%d.%m.%y")
    path.write_text(wire_text(date=today))
    tomorrow = time.time() + 86400
    os.utime(path, (tomorrow, tomorrow))
    runs = [feeder_cli(config_path, "ingest", log_level="info") for _ in range(2)]
    assert "1 file dated in the future wait" in runs[0].stdout
    logged = "".join(run.stderr for run in runs).splitlines()
    said = [line for line in logged if "dated in the future (" in line]
    assert len(said) == 1 and f"{STORY}: dated in the future (" in said[0]  # once, not per run
    status = feeder_cli(config_path, "status").stdout
    assert "Files dated in the future: 1" in status and f"  {STORY}: dated " in status
    assert article_rows(tmp_path / "var" / "feeder.db") == []
    named = feeder_cli(config_path, "ingest", str(path))
    assert named.exit_code == 0 and "1 new" in named.stdout
    (row,) = article_rows(tmp_path / "var" / "feeder.db")
    published = datetime.fromisoformat(row["published"])
    assert abs((published - datetime.now(UTC)).total_seconds()) < 120  # dated now, not ahead
    assert "Files dated in the future" not in feeder_cli(config_path, "status").stdout
