"""`feeder run` as a long-lived service: watching, polling, one per database, clean stops."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import urllib.request
from pathlib import Path

import feedparser
import pytest

from feeder.store import Run, Store
from tests.commands import wait_for
from tests.conftest import wire_text
from tests.daemon_helpers import (
    BASE_URL,
    daemon_log,
    deliver_files,
    feeder_command,
    running_daemon,
    stop,
    write_config,
)
from tests.feedcheck import parse_valid_feed
from tests.state import article_count, dirty_feeds, integrity, last_run, revision_total

pytestmark = pytest.mark.slow


def entries(workdir: Path, slug: str) -> list:
    path = workdir / "public" / "feeds" / f"{slug}.atom"
    if not path.exists():
        return []
    return parse_valid_feed(path.read_bytes(), f"{BASE_URL}feeds/{slug}.atom").entries


def status(config: Path) -> str:
    return subprocess.run(
        feeder_command(config, "status"), capture_output=True, text=True, check=True
    ).stdout


def test_watched_files_reach_their_feeds_corrections_and_rejects_show(tmp_path: Path) -> None:
    config = write_config(tmp_path, ingest_interval=3600)  # only the watcher can be quick
    inbox = tmp_path / "inbox"
    with running_daemon(config):
        (inbox / "001_aaaaaaaaaaaaaaaa.txt").write_text(
            wire_text(title="Первая версия", category="Экономика")
        )
        (first,) = wait_for(lambda: entries(tmp_path, "ekonomika"), timeout=5)
        assert first.title == "Первая версия"

        (inbox / "001_aaaaaaaaaaaaaaaa.txt").write_text(
            wire_text(title="Исправлено", category="Экономика")
        )
        (corrected,) = wait_for(
            lambda: [e for e in entries(tmp_path, "ekonomika") if e.title == "Исправлено"],
            timeout=5,
        )
        assert corrected.id == first.id
        assert len(entries(tmp_path, "ekonomika")) == 1

        (inbox / "junk.txt").write_bytes(b"\x00\xff\x00\xfe" * 64)
        wait_for(lambda: "junk.txt: [not-text]" in status(config), timeout=5)
        report = status(config)
        assert "Daemon: running, pid" in report
        assert "next ingest:" in report and "next maintenance:" in report


def test_a_watched_arrival_is_ingested_without_rescanning_the_inbox(tmp_path: Path) -> None:
    config = write_config(tmp_path, ingest_interval=3600)
    inbox = tmp_path / "inbox"
    deliver_files(inbox, 200)
    database = tmp_path / "var" / "feeder.db"
    with running_daemon(config):
        wait_for(lambda: article_count(database) == 200, timeout=30)
        deliver_files(inbox, 1, start=200)

        def the_arrivals_run() -> Run | None:
            run = last_run(database, "ingest")
            return run if run and run.counts["new"] == 1 else None

        run = wait_for(the_arrivals_run)
        # The start-up run scanned all 200 files; this one looked only at the arrival.
        assert run.counts["unchanged"] == 0
        assert "Новость 200" in (tmp_path / "public" / "feeds" / "all.atom").read_text()


def test_with_watching_off_the_polling_interval_picks_files_up(tmp_path: Path) -> None:
    config = write_config(tmp_path, ingest_interval=0.5, watch=False)
    with running_daemon(config) as daemon:
        (tmp_path / "inbox" / "001_aaaaaaaaaaaaaaaa.txt").write_text(
            wire_text(title="По расписанию")
        )
        (entry,) = wait_for(lambda: entries(tmp_path, "politika"), timeout=5)
        assert entry.title == "По расписанию"
        assert stop(daemon) == 0
    assert "for new files" not in daemon_log(config)  # the watcher never started


def test_a_second_daemon_is_refused_and_a_killed_one_can_be_restarted(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    with running_daemon(config) as first:
        second = subprocess.run(
            feeder_command(config, "run"), capture_output=True, text=True, timeout=30
        )
        assert second.returncode == 1
        assert (
            f"feeder run is already running for {tmp_path / 'var' / 'feeder.db'} (pid {first.pid})"
            in second.stderr
        )
        stop(first, signal.SIGKILL)
    assert "Daemon: not running" in status(config)
    with running_daemon(config) as restarted:
        (tmp_path / "inbox" / "001_aaaaaaaaaaaaaaaa.txt").write_text(wire_text())
        wait_for(lambda: entries(tmp_path, "politika"), timeout=5)
        assert stop(restarted) == 0


def test_sigterm_during_a_large_ingest_exits_cleanly_and_a_restart_completes_it(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path)
    deliver_files(tmp_path / "inbox", 3000)
    database = tmp_path / "var" / "feeder.db"
    with running_daemon(config) as daemon:
        wait_for(lambda: article_count(database) > 0)
        assert stop(daemon, timeout=10) == 0
    assert "files left for the next run" in daemon_log(config)  # it stopped mid-ingest
    assert "feeder run stopped" in daemon_log(config)
    assert integrity(database) == "ok"
    with running_daemon(config):
        wait_for(lambda: article_count(database) == 3000, timeout=30)
        wait_for(lambda: len(entries(tmp_path, "all")) == 50)
    with Store(database) as store:
        names = [file.name for file in store.recorded_files()]
        assert (len(names), len(set(names))) == (3000, 3000)
        assert store.dirty_feeds() == []
    assert revision_total(database) == 3000  # nothing ingested twice


def test_manual_commands_beside_the_daemon_corrupt_and_duplicate_nothing(tmp_path: Path) -> None:
    config = write_config(tmp_path, ingest_interval=0.2)
    database = tmp_path / "var" / "feeder.db"
    with running_daemon(config) as daemon:
        deliver_files(tmp_path / "inbox", 300)
        manual = [
            subprocess.Popen(
                feeder_command(config, *command),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for command in (["ingest"], ["regen"], ["ingest"], ["regen", "--all-pages"])
        ]
        outputs = [process.communicate(timeout=60) for process in manual]
        assert [process.returncode for process in manual] == [0, 0, 0, 0], outputs
        assert not any("database is locked" in stderr for _, stderr in outputs)
        wait_for(lambda: article_count(database) == 300, timeout=30)
        assert stop(daemon) == 0
    assert (article_count(database), revision_total(database)) == (300, 300)
    assert integrity(database) == "ok"
    regen = subprocess.run(
        feeder_command(config, "regen"), capture_output=True, text=True, check=True
    )
    assert "Wrote 0 feed files" in regen.stdout  # what is on disk is already what the database says
    for slug, expected in (("politika", 50), ("ekonomika", 50), ("sport", 50), ("all", 50)):
        assert len(entries(tmp_path, slug)) == expected
    assert feedparser.parse((tmp_path / "public" / "feeds" / "all.rss").read_bytes()).bozo == 0


def test_a_failing_job_is_recorded_and_retried_while_the_daemon_lives_on(tmp_path: Path) -> None:
    config = write_config(tmp_path, ingest_interval=0.3, watch=False)
    feeds = tmp_path / "public" / "feeds"
    feeds.parent.mkdir()
    feeds.write_text("a file where the feeds folder belongs")  # every feed write fails
    (tmp_path / "inbox" / "001_aaaaaaaaaaaaaaaa.txt").write_text(wire_text(title="Дождётся"))
    with running_daemon(config) as daemon:
        wait_for(lambda: "Last error:" in status(config), timeout=5)
        assert "ingest: PublishError: cannot write" in status(config)
        assert "ERROR   feeder.daemon.scheduler: ingest job failed: cannot write" in daemon_log(
            config
        )
        assert "Traceback" not in daemon_log(config)  # the message says what to do
        feeds.unlink()  # the operator fixes the output folder; no new article arrives
        (entry,) = wait_for(lambda: entries(tmp_path, "politika"), timeout=5)
        assert entry.title == "Дождётся"
        assert daemon.poll() is None


def test_the_daemon_serves_what_it_publishes_unless_told_not_to(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    (tmp_path / "inbox" / "001_aaaaaaaaaaaaaaaa.txt").write_text(wire_text(title="По сети"))
    with running_daemon(config):
        url = wait_for(
            lambda: re.search(r"serving \S+ at (http://\S+)", daemon_log(config)), timeout=5
        )[1]
        wait_for(lambda: entries(tmp_path, "politika"))
        with urllib.request.urlopen(url + "feeds/politika.atom", timeout=10) as response:
            assert response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
            assert feedparser.parse(response.read()).entries[0].title == "По сети"
    (tmp_path / "daemon.log").unlink()
    with running_daemon(config, "--no-serve") as daemon:
        assert stop(daemon) == 0
    assert "serving" not in daemon_log(config)


def test_a_taken_port_stops_the_daemon_with_a_clear_message(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        config.write_text(config.read_text().replace("port = 0", f"port = {port}"))
        result = subprocess.run(
            feeder_command(config, "run"), capture_output=True, text=True, timeout=30
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_daemon_killed_mid_ingest_loses_nothing_after_a_restart(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    deliver_files(tmp_path / "inbox", 2000)
    database = tmp_path / "var" / "feeder.db"
    with running_daemon(config) as daemon:
        wait_for(lambda: article_count(database) > 0)
        assert stop(daemon, signal.SIGKILL) == -signal.SIGKILL
    assert integrity(database) == "ok"
    assert article_count(database) < 2000  # it really died mid-way
    with running_daemon(config):
        wait_for(lambda: article_count(database) == 2000, timeout=30)
        wait_for(lambda: dirty_feeds(database) == [])
    assert (article_count(database), revision_total(database)) == (2000, 2000)
    for slug in ("all", "politika", "ekonomika", "sport"):
        assert len(entries(tmp_path, slug)) == 50
