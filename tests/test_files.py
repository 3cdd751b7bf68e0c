"""Atomic writes: each through a temp file of its own, leftovers removed by their owner."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from feeder.daemon.heartbeat import remove_heartbeat_temp_files, write_heartbeat
from feeder.files import write_if_changed
from tests.conftest import config_for


def test_a_written_file_is_readable_as_any_new_file_would_be(tmp_path: Path) -> None:
    """Unlike mkstemp's 0600: a web server running as another user serves the output."""
    umask = os.umask(0o022)
    os.umask(umask)
    target = tmp_path / "feeds" / "all.rss"
    assert write_if_changed(target, b"<rss/>", temp_dir=tmp_path / ".temp")
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
    assert os.listdir(tmp_path / ".temp") == []


def test_a_daemon_removes_its_own_heartbeat_leftovers_and_no_other_s(tmp_path: Path) -> None:
    """Two databases in one folder: each daemon, holding its own lock, clears only
    what a killed daemon of its database left."""
    mine, theirs = (config_for(tmp_path, database=f"var/{name}.db") for name in ("a", "b"))
    folder = mine.database.parent
    folder.mkdir()
    my_leftover, their_leftover = (
        folder / f".{config.daemon_state_path.name}.0123456789abcdef.tmp"
        for config in (mine, theirs)
    )
    my_leftover.write_text("{")
    their_leftover.write_text("{")
    remove_heartbeat_temp_files(mine)
    now = datetime.now(UTC)
    write_heartbeat(mine, now, {}, now)
    assert sorted(os.listdir(folder)) == sorted([their_leftover.name, mine.daemon_state_path.name])


def test_each_rewrite_is_a_later_whole_second_and_an_unchanged_one_keeps_its_time(
    tmp_path: Path,
) -> None:
    """HTTP validators are the mtime in whole seconds and the size (`http_rules`)."""
    target, temp_dir = tmp_path / "all.rss", tmp_path / ".temp"
    seconds = []
    for version in (b"<rss>1</rss>", b"<rss>2</rss>", b"<rss>3</rss>", b"<rss>3</rss>"):
        write_if_changed(target, version, temp_dir=temp_dir)
        seconds.append(target.stat().st_mtime_ns // 1_000_000_000)
    assert seconds[0] < seconds[1] < seconds[2] == seconds[3]
