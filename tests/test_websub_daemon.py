"""The hub inside `feeder run`: deliveries survive kill -9, and the operator's commands."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from feeder.cli import main
from tests import conftest, state
from tests.commands import feeder_cli, wait_for
from tests.daemon_helpers import running_daemon, stop
from tests.test_websub import free_port
from tests.websub_subscriber import Subscriber

pytestmark = pytest.mark.slow


def websub_config(workdir: Path) -> tuple[Path, str]:
    """A daemon's config.toml, and its base_url: a port chosen up front, which its hub URL names."""
    base_url = f"http://127.0.0.1:{free_port()}/"
    path = conftest.write_config(
        workdir,
        base_url=base_url,
        server={"host": "127.0.0.1", "port": int(base_url.rsplit(":", 1)[1].strip("/"))},
        schedule={"ingest_interval": 3600},
        websub={"allow_private_callbacks": True, "retry_seconds": 0.3, "retry_max_seconds": 0.6},
    )
    return path, base_url


def test_deliveries_pending_at_kill_9_go_out_after_the_restart(tmp_path: Path) -> None:
    config, base = websub_config(tmp_path)
    database = tmp_path / "var" / "feeder.db"
    (tmp_path / "inbox" / "001_0000000000000001.txt").write_text(conftest.wire_text())
    with Subscriber() as subscriber:
        with running_daemon(config) as daemon:
            wait_for(lambda: (tmp_path / "public" / "feeds" / "all.atom").exists())
            discovery = subscriber.discover(base + "feeds/all.atom")
            assert subscriber.subscribe(discovery.hubs[0], discovery.self_url, "k3y") == 202
            subscriber.wait_verified(1)
            subscriber.go_down()
            (tmp_path / "inbox" / "002_0000000000000002.txt").write_text(
                conftest.wire_text(title="Вторая новость", date="22.09.23")
            )
            wait_for(lambda: [d.attempts for d in state.websub_deliveries(database)] in ([2], [3]))
            stop(daemon, signal.SIGKILL)
        assert len(state.websub_deliveries(database)) == 1
        status = feeder_cli(config, "status").output
        assert "1 subscribers, 1 deliveries pending, 0 failed" in status

        subscriber.come_back()
        with running_daemon(config):
            (delivery,) = subscriber.wait_deliveries(1)
            assert "Вторая новость" in delivery.body.decode()
            assert delivery.signature_valid is True
            wait_for(lambda: not state.websub_deliveries(database))
        # Delivered once: a restart sends nothing again.
        with running_daemon(config):
            time.sleep(1.5)
        assert len(subscriber.deliveries) == 1

        listed = feeder_cli(config, "websub", "list").output
        assert subscriber.callback in listed and "signed; up to date" in listed
        assert "k3y" not in listed
        removed = feeder_cli(config, "websub", "remove", subscriber.callback)
        assert removed.output == f"Removed 1 subscription of {subscriber.callback}.\n"
        assert feeder_cli(config, "websub", "list").output == "No subscriptions.\n"
        again = CliRunner().invoke(
            main, ["websub", "remove", subscriber.callback, "--config", str(config)]
        )
        assert again.exit_code == 1
        assert "no subscription or request has the callback" in again.output
    assert "k3y" not in (tmp_path / "daemon.log").read_text()


def test_no_callback_query_string_reaches_the_log(tmp_path: Path) -> None:
    config, base = websub_config(tmp_path)
    token = "t0ken-only-the-subscriber-knows"
    (tmp_path / "inbox" / "001_0000000000000001.txt").write_text(conftest.wire_text())
    with Subscriber(callback_query=f"subscriber=test&token={token}") as subscriber:
        with running_daemon(config):  # at --log-level debug
            wait_for(lambda: (tmp_path / "public" / "feeds" / "all.atom").exists())
            discovery = subscriber.discover(base + "feeds/all.atom")
            # A verification, a denial (a topic that is not a feed here) and a delivery.
            assert subscriber.subscribe(discovery.hubs[0], discovery.self_url) == 202
            subscriber.wait_verified(1)
            assert subscriber.subscribe(discovery.hubs[0], base + "feeds/none.atom") == 400
            subscriber.wait_denials(1)
            (tmp_path / "inbox" / "002_0000000000000002.txt").write_text(
                conftest.wire_text(title="Вторая новость", date="22.09.23")
            )
            subscriber.wait_deliveries(1)
        log = (tmp_path / "daemon.log").read_text()
    assert "verified" in log and "denied" in log
    assert token not in log
