"""One feeder installation to benchmark: an inbox, a config, a database, an output folder.

Commands run as an operator runs them, `python -m feeder ... --config`, in a
child process measured from outside: wall time covers the whole process,
interpreter start included, and peak RSS is the child's own (os.wait4, in the
small launcher of bench/launch.py). The
work time is what feeder itself records for the run (`feeder status` shows
it): from taking the work lock to the last file written.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

LAUNCHER = Path(__file__).with_name("launch.py")

CONFIG = """\
inbox = "inbox"
database = "var/feeder.db"
output_dir = "public"
base_url = "https://news.example.org/"
site_title = "Turan: новости"
id_prefix = "tag:news.example.org,2024:feeder"
"""


class CommandFailed(RuntimeError):
    """A benchmarked command failed or did other work than intended; see the workspace's log."""


@dataclass(frozen=True)
class Measurement:
    wall_seconds: float
    work_seconds: float
    peak_rss_mb: float
    counts: dict[str, int]
    bytes_rewritten: int
    """Of the files under the output folder the command wrote, created or replaced
    (gzip copies included): what one story costs to write and to push to a CDN."""


class Workspace:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.inbox = root / "inbox"
        self.config = root / "config.toml"
        self.database = root / "var" / "feeder.db"
        self.log = root / "feeder.log"
        self.output = root / "public"

    @classmethod
    def create(cls, root: Path, corpus: Path, names: list[str]) -> Workspace:
        """A fresh installation whose inbox holds `names` from the corpus (hard links, no copies)."""
        workspace = cls(root)
        workspace.inbox.mkdir(parents=True)
        workspace.config.write_text(CONFIG)
        for name in names:
            os.link(corpus / name, workspace.inbox / name)
        return workspace

    def feeder(self, *arguments: str) -> Measurement:
        """Run `feeder ARGUMENTS` with the default log level, its output going to the log."""
        os.sync()  # the writes of the set-up are not flushed on the command's clock
        before = output_state(self.output)
        command = [sys.executable, "-m", "feeder", *arguments, "--config", str(self.config)]
        report = launch(command, self.log)
        after = output_state(self.output)
        rewritten = sum(state[1] for name, state in after.items() if before.get(name) != state)
        duration, counts = self._last_run(arguments[0])
        return Measurement(
            report["wall_seconds"], duration, report["peak_rss_mb"], counts, rewritten
        )

    def _last_run(self, job: str) -> tuple[float, dict[str, int]]:
        """Read-only and without feeder's Store, which would migrate the database it
        measures: the same benchmark can then measure an older feeder (PYTHONPATH)."""
        uri = f"{self.database.as_uri()}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as connection:
            row = connection.execute(
                "SELECT duration, counts FROM runs WHERE job = ? ORDER BY id DESC LIMIT 1", [job]
            ).fetchone()
        if row is None:
            raise CommandFailed(f"feeder {job} recorded no run in {self.database}")
        return row[0], json.loads(row[1])


def output_state(output: Path) -> dict[str, tuple[int, int, int]]:
    """Each file's inode, size and mtime: an atomic replace always gives a new inode."""
    state = {}
    for folder, _folders, names in os.walk(output):
        for name in names:
            path = os.path.join(folder, name)
            status = os.stat(path)
            state[path] = (status.st_ino, status.st_size, status.st_mtime_ns)
    return state


def launch(command: list[str], log: Path) -> dict[str, Any]:
    """Run `command` through bench/launch.py, its output going to `log`: its exit
    code, wall time and its own peak RSS, measured from outside."""
    launched = subprocess.run(
        [sys.executable, str(LAUNCHER), str(log), *command],
        capture_output=True,
        text=True,
        check=True,
    )
    report: dict[str, Any] = json.loads(launched.stdout)
    if report["exit_code"] != 0:
        raise CommandFailed(f"{' '.join(command)} failed; see {log}")
    return report


@contextlib.contextmanager
def benchmark_folder(workdir: Path, prefix: str, keep: bool) -> Iterator[Path]:
    """A new folder under `workdir` for a run's corpus and installations, removed
    afterwards unless `keep`, and kept whatever `keep` says when a command failed
    (its log is in there)."""
    workdir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix=prefix, dir=workdir))
    try:
        yield root
    except CommandFailed as error:
        keep = True
        raise click.ClickException(str(error)) from None
    finally:
        if keep:
            click.echo(f"kept {root}", err=True)
        else:
            shutil.rmtree(root)
