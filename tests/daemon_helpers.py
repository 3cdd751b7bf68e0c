"""Running `feeder run` as a real process, the way an operator or systemd does."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests import conftest
from tests.commands import feeder_command, wait_for

BASE_URL = "http://localhost:8080/"


def write_config(
    workdir: Path, ingest_interval: float = 3600, watch: bool = True, settle_seconds: float = 0
) -> Path:
    """A config.toml for a daemon that serves on any free port."""
    return conftest.write_config(
        workdir,
        base_url=BASE_URL,
        settle_seconds=settle_seconds,
        schedule={"ingest_interval": ingest_interval, "watch": watch},
        server={"port": 0},
    )


@contextmanager
def running_daemon(config: Path, *options: str) -> Iterator[subprocess.Popen[str]]:
    """`feeder run` in the background, logging to daemon.log beside the config (a pipe
    nobody reads would fill up and block it); stopped with SIGTERM on the way out."""
    with (config.parent / "daemon.log").open("a") as log:
        process = subprocess.Popen(
            feeder_command(config, "run", "--log-level", "debug", *options),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        wait_for(
            lambda: (
                (config.parent / "var" / "feeder.db.daemon.json").exists()
                or process.poll() is not None
            )
        )
        assert process.poll() is None, daemon_log(config)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def daemon_log(config: Path) -> str:
    return (config.parent / "daemon.log").read_text()


def stop(process: subprocess.Popen[str], how: int = signal.SIGTERM, timeout: float = 15) -> int:
    """Signal the daemon and wait for it to exit; returns its exit status."""
    os.kill(process.pid, how)
    return process.wait(timeout=timeout)
