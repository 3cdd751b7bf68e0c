"""Pages written through the helper process: the same bytes, nothing stale, nothing
written once feeder is gone, and a failure reported like any other write."""

from __future__ import annotations

import logging
import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from feeder.config import load_config
from feeder.files import PublishError
from feeder.intake import ingest
from feeder.locking import file_lock, is_locked
from feeder.pipeline import ingest_and_publish
from feeder.site import pagewriter
from feeder.site.pagewriter import PageWriter
from tests.commands import feeder_command, wait_for
from tests.conftest import file_tree, wire_text, write_config
from tests.deliveries import Inbox, assert_everything_published
from tests.state import dirty_page_count, entries

# Three ingest batches, so batches are in flight while later ones are parsed.
STORIES = 1200


@pytest.fixture
def helper_from_the_first_page(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pagewriter, "HELPER_AFTER_PAGES", 0)


def children(pid: int) -> list[int]:
    """The live child processes of `pid`, from /proc."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return [child for child in found if _alive(child)]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie writes nothing; its reaper may be slow


def _published(tmp_path: Path) -> dict[str, bytes]:
    tmp_path.mkdir()
    config = load_config(write_config(tmp_path))
    Inbox(config).new_stories(range(STORIES))
    ingest_and_publish(config)
    assert dirty_page_count(config.database) == 0
    return file_tree(config.output_dir)


def test_pages_written_by_the_helper_are_those_a_run_writes_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="feeder")
    by_itself = _published(tmp_path / "by-itself")
    assert "helper process" not in caplog.text
    monkeypatch.setattr(pagewriter, "HELPER_AFTER_PAGES", 0)
    through_helper = _published(tmp_path / "through-helper")
    assert "writing the remaining pages through a helper process" in caplog.text
    assert len([name for name in through_helper if name.startswith("articles/")]) == STORIES
    assert through_helper == by_itself
    assert children(os.getpid()) == []


def test_a_story_corrected_while_its_page_is_being_written_gets_its_corrected_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, helper_from_the_first_page: None
) -> None:
    """`story.txt` and a later `story.TXT` are one story: the second is a correction that
    lands in the next batch while the first version's page is still with the helper."""
    monkeypatch.setattr(ingest, "BATCH_SIZE", 1)
    config = load_config(write_config(tmp_path))
    inbox = Inbox(config)
    inbox.deliver("story.txt", wire_text(title="Первая версия"))
    inbox.deliver("story.TXT", wire_text(title="Исправленная версия"))
    ingest_and_publish(config)
    page = (config.articles_dir / "story.html").read_text()
    assert "Исправленная версия" in page
    assert [entry.revision for entry in entries(config.database)] == [2]
    assert dirty_page_count(config.database) == 0


def test_a_page_the_helper_cannot_write_fails_the_run_and_the_next_run_writes_it(
    tmp_path: Path, helper_from_the_first_page: None
) -> None:
    config = load_config(write_config(tmp_path))
    inbox = Inbox(config)
    inbox.new_stories(range(3))
    config.output_dir.mkdir()
    config.articles_dir.write_bytes(b"")  # a plain file where the pages folder belongs
    with pytest.raises(PublishError, match=f"cannot write {config.articles_dir}/.*: Not a dir"):
        ingest_and_publish(config)
    assert children(os.getpid()) == []
    assert dirty_page_count(config.database) == 3
    config.articles_dir.unlink()
    ingest_and_publish(config)
    assert_everything_published(config, inbox)
    assert len(list(config.articles_dir.glob("*.html"))) == 3


def test_the_helper_holds_the_work_lock_until_it_is_gone(
    tmp_path: Path, helper_from_the_first_page: None
) -> None:
    """A feeder killed while its helper writes leaves the lock held, so the next run
    waits for the helper instead of writing beside it."""
    lock = tmp_path / "feeder.db.lock"
    with file_lock(lock, 0, "ingest") as work_lock:
        writer = PageWriter(work_lock, tmp_path / ".temp")
        writer.write([("story", 1)], [(tmp_path / "story.html", b"<html></html>")])
    assert is_locked(lock)  # this process let go; the helper has not
    assert [batch.written for batch in writer.finish()] == [1]
    writer.close()
    assert not is_locked(lock)
    assert (tmp_path / "story.html").read_bytes() == b"<html></html>"


@pytest.mark.slow
def test_the_helper_stops_when_feeder_is_killed(tmp_path: Path) -> None:
    """Nothing may write the output once the process holding the work lock is gone."""
    config_path = write_config(tmp_path)
    config = load_config(config_path)
    inbox = Inbox(config)
    inbox.new_stories(range(pagewriter.HELPER_AFTER_PAGES + 2000))
    with subprocess.Popen(
        feeder_command(config_path, "ingest"), stderr=subprocess.DEVNULL
    ) as feeder:
        helpers = _wait_for_children(feeder)
        feeder.send_signal(signal.SIGKILL)
    wait_for(lambda: not any(_alive(helper) for helper in helpers), timeout=2, interval=0.01)
    ingest_and_publish(config)
    assert_everything_published(config, inbox)


def _wait_for_children(process: subprocess.Popen[bytes]) -> list[int]:
    def started_helpers() -> list[int]:
        assert process.poll() is None, "feeder finished without starting its helper"
        return children(process.pid)

    return wait_for(started_helpers, timeout=60, interval=0.005)


@pytest.mark.parametrize("cut_at", [1, 40], ids=["in-the-header", "in-the-pages"])
def test_a_parent_killed_mid_batch_leaves_the_helper_exiting_quietly(
    tmp_path: Path, cut_at: int
) -> None:
    """A SIGKILLed parent's pipe ends inside a pickle: the helper writes nothing of it,
    and says nothing on stderr (it shares the daemon's journal)."""
    batch = pickle.dumps([(tmp_path / "page.html", b"<p>" * 100)])
    helper = subprocess.run(
        [sys.executable, "-m", "feeder.site.pagewriter", str(os.getpid()), str(tmp_path)],
        input=batch[:cut_at],
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert (helper.returncode, helper.stderr) == (0, b"")
    assert not (tmp_path / "page.html").exists()
