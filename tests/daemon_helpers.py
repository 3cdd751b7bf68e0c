"""Running `feeder run` as a real process, the way an operator or systemd does."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from feeder.config import load_config
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
def running_daemon(
    config: Path, *options: str, heartbeat_seconds: float | None = None
) -> Iterator[subprocess.Popen[str]]:
    """`feeder run` in the background, logging to daemon.log beside the config (a pipe
    nobody reads would fill up and block it); stopped with SIGTERM on the way out.
    A short `heartbeat_seconds` makes the heartbeat a busy writer."""
    command = feeder_command(config, "run", "--log-level", "debug", *options)
    if heartbeat_seconds is not None:
        command[1:3] = ["-c", _FAST_HEARTBEAT.format(heartbeat_seconds)]
    state = load_config(config).daemon_state_path
    with (config.parent / "daemon.log").open("a") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        wait_for(lambda: state.exists() or process.poll() is not None)
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


_FAST_HEARTBEAT = (
    "import sys, feeder.daemon.scheduler, feeder.cli; feeder.daemon.scheduler.HEARTBEAT_SECONDS = {}; "
    "sys.argv[0] = 'feeder'; feeder.cli.main()"
)


def daemon_log(config: Path) -> str:
    return (config.parent / "daemon.log").read_text()


def stop(process: subprocess.Popen[str], how: int = signal.SIGTERM, timeout: float = 15) -> int:
    """Signal the daemon and wait for it to exit; returns its exit status."""
    os.kill(process.pid, how)
    return process.wait(timeout=timeout)


def deliver_files(inbox: Path, count: int, start: int = 0) -> None:
    for number in range(start, start + count):
        (inbox / f"{number:05d}_{number:016x}.txt").write_text(
            conftest.wire_text(
                title=f"Новость {number}", category=("Политика", "Экономика", "Спорт")[number % 3]
            )
        )
