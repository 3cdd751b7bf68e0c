"""A full disk or a read-only mount is one line saying what to do, and the daemon lives on."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from feeder.store import Store, StoreError
from tests.commands import feeder_command, wait_for
from tests.conftest import wire_text, write_config
from tests.daemon_helpers import write_config as write_daemon_config
from tests.mounts import UNSHARE, needs_mounts, run_mounted, tiny_disk
from tests.state import last_run


def _deliver(inbox: Path, count: int) -> None:
    long_paragraph = "Длинный абзац новости о важном событии. " * 40
    for number in range(count):
        (inbox / f"{number:05d}_{number:016x}.txt").write_text(
            wire_text(title=f"Новость {number}", paragraphs=(long_paragraph, long_paragraph))
        )


def test_a_full_database_is_a_store_error_naming_the_file_and_what_to_do(
    tmp_path: Path,
) -> None:
    with Store(tmp_path / "feeder.db") as store:
        pages = store.connection.execute("PRAGMA page_count").fetchone()[0]
        store.connection.execute(f"PRAGMA max_page_count = {pages}")  # as a full disk would
        with pytest.raises(StoreError) as raised, store.transaction():
            store.connection.executemany(
                "INSERT INTO runs (job, started, duration, counts) VALUES ('x', 'now', 0, ?)",
                [("x" * 1000,) for _ in range(100)],
            )
        assert not store.connection.in_transaction
    message = str(raised.value)
    assert message.startswith(f"cannot write the database {tmp_path / 'feeder.db'}: ")
    assert "database or disk is full; free space on the disk holding" in message
    assert "\n" not in message


def test_an_error_that_is_a_bug_keeps_its_own_type(tmp_path: Path) -> None:
    with (
        Store(tmp_path / "feeder.db") as store,
        pytest.raises(sqlite3.OperationalError),
        store.transaction(),
    ):
        store.connection.execute("SELECT no_such_column FROM runs")


@needs_mounts
def test_ingest_onto_a_full_disk_is_one_line_and_no_traceback(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    (tmp_path / "var").mkdir()
    _deliver(tmp_path / "inbox", 400)
    result = run_mounted(tiny_disk(tmp_path / "var", 256), feeder_command(config, "ingest"))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.splitlines()[-1]
    assert last.startswith(f"Error: cannot write the database {tmp_path / 'var' / 'feeder.db'}")
    assert "free space on the disk holding" in last


@needs_mounts
def test_the_daemon_lives_through_a_read_only_output_and_recovers(tmp_path: Path) -> None:
    """The output folder's mount turns read-only under a running daemon, then back.

    Linux refuses to make a mount read-only ("mount point is busy") while a file
    on it is open for writing or a rename or unlink is under way in it. The test
    waits for the daemon's first publish to end (it writes the stylesheet, index,
    sitemaps and OPML, each through a temp file held open until its fsync; later
    runs with nothing new only read), and then retries the remount for the odd
    moment that something else briefly writes (an access time being updated).
    """
    config = write_daemon_config(tmp_path, ingest_interval=0.3, watch=False)
    output, log = tmp_path / "public", tmp_path / "daemon.log"
    output.mkdir()
    remount = tmp_path / "remount"
    script = f"""
        mount --bind "{output}" "{output}"
        "$@" > "{log}" 2>&1 &
        for mode in ro rw; do
            while [ ! -e "{remount}-$mode" ]; do sleep 0.05; done
            for try in $(seq 200); do
                mount -o remount,bind,$mode "{output}" && touch "{remount}-$mode-done" && break
                sleep 0.05
            done
        done
        wait
    """
    assert UNSHARE is not None
    command = feeder_command(config, "run", "--log-format", "json")
    with subprocess.Popen([UNSHARE, "-m", "sh", "-c", script, "sh", *command]) as shell:
        try:
            state = tmp_path / "var" / "feeder.db.daemon.json"
            wait_for(state.exists, timeout=20)
            pid = json.loads(state.read_text())["pid"]
            database = tmp_path / "var" / "feeder.db"
            wait_for(lambda: database.exists() and last_run(database, "ingest"), timeout=20)
            (tmp_path / "remount-ro").touch()
            wait_for((tmp_path / "remount-ro-done").exists)
            _deliver(tmp_path / "inbox", 1)
            failure = wait_for(lambda: _events(log, "ingest job failed"), timeout=20)[0]
            assert "cannot write" in failure["message"] and "exception" not in failure
            assert shell.poll() is None
            (tmp_path / "remount-rw").touch()
            wait_for((tmp_path / "remount-rw-done").exists)
            wait_for(lambda: (output / "feeds" / "all.atom").exists(), timeout=20)
        finally:
            if shell.poll() is None:
                os.kill(pid, 15)
                (tmp_path / "remount-rw").touch()  # lets the shell's loop end
                try:
                    shell.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    shell.kill()
    assert all("exception" not in event for event in _events(log, ""))


def _events(log: Path, text: str) -> list[dict]:
    events = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return [event for event in events if text in event["message"]]
