"""A daemon's memory over a long run: RSS after warm-up must stay in a fixed band.

    python -m bench.soak [--arrivals 50000] [--burst 250] [--band-mb 8]

Starts `feeder run` (watcher on, HTTP on a free port) on an empty inbox and
delivers `--arrivals` files in bursts, as a wire does through a day: mostly new
stories, every tenth a correction of an earlier one. After each burst it waits
until the daemon has recorded every file, then reads the daemon's resident set
(VmRSS in /proc). It prints the series, and the spread after the first tenth of
the arrivals (the warm-up: imports, caches, SQLite's page cache filling); it
exits 1 if that spread is wider than `--band-mb`.
"""

from __future__ import annotations

import argparse
import signal
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

from bench.corpus import CorpusWriter, deliver
from bench.latency import daemon_config, feeder, wait_until

CORRECTION_EVERY = 10
WARM_UP_SHARE = 0.1


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def recorded_files(database: Path) -> int:
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as connection:
            return int(connection.execute("SELECT COUNT(*) FROM files").fetchone()[0])
    except sqlite3.OperationalError:
        return 0  # not created yet, or busy


def deliver_burst(inbox: Path, writer: CorpusWriter, first: int, count: int, stories: int) -> int:
    """Arrivals `first`..: a new story each (numbered from `stories`, the count so
    far), but every tenth a correction of an earlier one (a new revision under its
    old name). Returns the count of stories after the burst."""
    for arrival in range(first, first + count):
        if arrival % CORRECTION_EVERY == CORRECTION_EVERY - 1 and stories:
            number = (arrival * 7919) % stories
            deliver(inbox, writer.story(number, revision=2 + arrival // 1000))
        else:
            deliver(inbox, writer.story(stories))
            stories += 1
    return stories


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arrivals", type=int, default=50_000)
    parser.add_argument("--burst", type=int, default=250, help="files delivered at once")
    parser.add_argument("--every", type=int, default=2_500, help="arrivals between printed rows")
    parser.add_argument("--band-mb", type=float, default=8.0, help="allowed spread after warm-up")
    arguments = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="feeder-soak-"))
    (workdir / "config.toml").write_text(
        daemon_config(ingest_interval=60, extra="settle_seconds = 0")
    )
    inbox = workdir / "inbox"
    inbox.mkdir()
    database = workdir / "var" / "feeder.db"
    writer = CorpusWriter()
    print(f"soak: {arguments.arrivals} arrivals in bursts of {arguments.burst} ({workdir})")
    with (workdir / "daemon.log").open("w") as log:
        daemon = subprocess.Popen(feeder(workdir, "run"), stdout=log, stderr=subprocess.STDOUT)
    series: list[tuple[int, float]] = []
    started = time.monotonic()
    try:
        wait_until((workdir / "var" / "feeder.db.daemon.json").exists)
        stories = 0
        for first in range(0, arguments.arrivals, arguments.burst):
            count = min(arguments.burst, arguments.arrivals - first)
            stories = deliver_burst(inbox, writer, first, count, stories)
            wait_until(lambda stories=stories: recorded_files(database) >= stories, timeout=300)
            if daemon.poll() is not None:
                raise SystemExit(f"the daemon exited ({daemon.returncode}); see {log.name}")
            arrived = first + count
            series.append((arrived, resident_mb(daemon.pid)))
            if arrived % arguments.every == 0 or arrived == arguments.arrivals:
                elapsed = time.monotonic() - started
                print(f"  {arrived:>7} arrivals  {series[-1][1]:6.1f} MB RSS  {elapsed:6.0f} s")
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=60)
    warm = [rss for arrived, rss in series if arrived > arguments.arrivals * WARM_UP_SHARE]
    spread = max(warm) - min(warm)
    print(
        f"after warm-up ({WARM_UP_SHARE:.0%} of arrivals): {min(warm):.1f}–{max(warm):.1f} MB, "
        f"spread {spread:.1f} MB (band {arguments.band_mb:g} MB)"
    )
    if spread > arguments.band_mb:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
