"""SIGHUP reloads config.toml in a running daemon, as systemd's ExecReload sends it."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.commands import wait_for
from tests.conftest import wire_text
from tests.daemon_helpers import BASE_URL, daemon_log, running_daemon, write_config

pytestmark = pytest.mark.slow

NEW_URL = "https://news.example.org/"


def _all_news(workdir: Path) -> str:
    path = workdir / "public" / "feeds" / "all.atom"
    return path.read_text() if path.exists() else ""


def _rewrite(config: Path, old: str, new: str) -> None:
    text = config.read_text()
    assert old in text
    config.write_text(text.replace(old, new))


def test_a_valid_config_takes_effect_without_a_restart(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    (tmp_path / "inbox" / "001_aaaaaaaaaaaaaaaa.txt").write_text(wire_text(title="До"))
    with running_daemon(config) as daemon:
        wait_for(lambda: "До" in _all_news(tmp_path))
        _rewrite(config, BASE_URL, NEW_URL)
        daemon.send_signal(signal.SIGHUP)
        wait_for(lambda: NEW_URL in _all_news(tmp_path))
        assert BASE_URL not in _all_news(tmp_path)
        page = next((tmp_path / "public" / "articles").iterdir())
        wait_for(lambda: NEW_URL in page.read_text())  # pages follow the feeds
        assert BASE_URL not in page.read_text()
        (tmp_path / "inbox" / "002_bbbbbbbbbbbbbbbb.txt").write_text(wire_text(title="После"))
        wait_for(lambda: "После" in _all_news(tmp_path))
        assert daemon.poll() is None
    log = daemon_log(config)
    assert f"reloaded {config}; the next job uses it" in log
    assert f"base_url was '{BASE_URL}', is '{NEW_URL}'" in log


def test_an_invalid_config_is_one_line_and_the_old_one_stays(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    with running_daemon(config) as daemon:
        _rewrite(config, "settle_seconds", "settle_secondz")
        daemon.send_signal(signal.SIGHUP)
        line = wait_for(
            lambda: [line for line in daemon_log(config).splitlines() if "reload refused" in line]
        )[0]
        assert "key 'settle_secondz' is not a setting feeder knows" in line
        (tmp_path / "inbox" / "001_aaaaaaaaaaaaaaaa.txt").write_text(wire_text(title="Дошла"))
        wait_for(lambda: "Дошла" in _all_news(tmp_path))
        assert BASE_URL in _all_news(tmp_path)
        assert daemon.poll() is None


def test_a_setting_that_needs_a_restart_says_so(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    with running_daemon(config) as daemon:
        _rewrite(config, "port = 0", "port = 8099")
        daemon.send_signal(signal.SIGHUP)
        wait_for(lambda: "reload: server changed" in daemon_log(config))
        assert "that takes effect when feeder run restarts" in daemon_log(config)
        assert daemon.poll() is None


def test_websub_settings_take_effect_at_the_restart_and_feeds_keep_the_running_hub(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path)
    (tmp_path / "inbox" / "001_aaaaaaaaaaaaaaaa.txt").write_text(wire_text(title="До"))
    with running_daemon(config) as daemon:
        wait_for(lambda: "До" in _all_news(tmp_path))
        assert f'<link href="{BASE_URL}websub" rel="hub"/>' in _all_news(tmp_path)
        with config.open("a") as file:
            file.write("[websub]\nenabled = false\nallow_private_callbacks = true\n")
        daemon.send_signal(signal.SIGHUP)
        wait_for(lambda: "reload: websub changed" in daemon_log(config))
        (tmp_path / "inbox" / "002_bbbbbbbbbbbbbbbb.txt").write_text(wire_text(title="После"))
        wait_for(lambda: "После" in _all_news(tmp_path))
        # The hub still runs, with the settings it started with, so feeds still name it.
        assert f'<link href="{BASE_URL}websub" rel="hub"/>' in _all_news(tmp_path)
    assert "that takes effect when feeder run restarts" in daemon_log(config)


def test_a_restart_says_how_many_rejected_files_are_outstanding(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    (tmp_path / "inbox" / "broken.txt").write_text("только заголовок")
    (tmp_path / "inbox" / "broken-too.txt").write_text("и этот")
    with running_daemon(config):
        wait_for(lambda: "broken-too.txt: rejected" in daemon_log(config))
    with running_daemon(config):
        wait_for(lambda: "2 rejected files still in the inbox" in daemon_log(config))
