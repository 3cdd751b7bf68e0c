"""Running `feeder` as an operator does: in this process through click (quick; its
output and exit status), or as a real process (signals, locks, daemons), and
waiting for what a running process does."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from click.testing import CliRunner, Result

from feeder.cli import main

T = TypeVar("T")


def feeder_cli(config_path: Path, *args: str, log_level: str = "error") -> Result:
    """`feeder ARGS --config CONFIG_PATH` in this process, as an operator would type it."""
    return CliRunner().invoke(
        main,
        [*args, "--config", str(config_path), "--log-level", log_level],
        catch_exceptions=False,
    )


def feeder_command(config_path: Path, *args: str) -> list[str]:
    """The command line of `feeder ARGS --config CONFIG_PATH`, to start it as a process."""
    return [sys.executable, "-m", "feeder", *args, "--config", str(config_path)]


def wait_for(probe: Callable[[], T], timeout: float = 10, interval: float = 0.02) -> T:
    """Poll until `probe` returns something truthy; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting after {timeout} s")
        time.sleep(interval)
