"""File landed → entry in the published feed, with `feeder run` watching the inbox.

    python -m bench.latency [--archive 10000] [--files 50]

Builds an archive of `--archive` articles with `feeder ingest`, starts the
daemon (watch mode on, polling every hour so only the watcher can be quick),
then drops `--files` new articles one at a time and times how long each takes
to appear in its category's Atom feed and in the all-news feed on disk, which
is what the server serves. Prints the median and the 95th percentile.
"""

from __future__ import annotations

import argparse
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.corpus import CorpusWriter, deliver
from feeder.intake.wire import parse
from feeder.model import Article
from feeder.slugs import category_slug


def daemon_config(port: int = 0, ingest_interval: int = 3600, extra: str = "") -> str:
    """`feeder run` for a benchmark: its files in the folder of the config, the
    watcher on, HTTP on `port` (any free one for 0); `extra`, more settings
    (top-level keys first, then tables)."""
    host = f"127.0.0.1:{port}" if port else "localhost:8080"
    top_level, _, tables = extra.partition("\n[")
    return f"""
inbox = "inbox"
database = "var/feeder.db"
output_dir = "public"
base_url = "http://{host}/"
site_title = "Bench"
id_prefix = "tag:example.org,2024:bench"
{top_level}

[schedule]
ingest_interval = {ingest_interval}
watch = true

[server]
port = {port}
{"[" + tables if tables else ""}"""


# Longer than the daemon's debounce and the end of a one-file run together.
IDLE_SECONDS = 0.5


def feeder(workdir: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "feeder",
        *args,
        "--config",
        str(workdir / "config.toml"),
        "--log-level",
        "warning",
    ]


def wait_until(probe, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout} s")
        time.sleep(0.001)


def measure(workdir: Path, writer: CorpusWriter, files: int, archive: int) -> list[float]:
    feeds = workdir / "public" / "feeds"
    latencies = []
    for number in range(archive, archive + files):
        # Numbered after the archive, so newer than all of it: in every feed's newest 50.
        story = writer.story(number)
        article = parse(story.data, story.name)
        assert isinstance(article, Article), article
        wanted = [f"{category_slug(article.category, {})}.atom", "all.atom"]
        deliver(workdir / "inbox", story)
        landed = time.perf_counter()
        story_id = article.story_id.encode()
        wait_until(
            lambda wanted=wanted, story_id=story_id: all(
                story_id in (feeds / name).read_bytes() for name in wanted
            )
        )
        latencies.append(time.perf_counter() - landed)
        # Idle again before the next file, so that it lands alone, as most do, and is
        # not picked up early by the rerun of a run that is still finishing.
        time.sleep(IDLE_SECONDS)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=int, default=10_000, help="articles already published")
    parser.add_argument("--files", type=int, default=50, help="new articles to time")
    arguments = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="feeder-latency-"))
    (workdir / "config.toml").write_text(daemon_config())
    (workdir / "inbox").mkdir()
    writer = CorpusWriter()
    writer.write(workdir / "inbox", range(arguments.archive))
    started = time.perf_counter()
    result = subprocess.run(feeder(workdir, "ingest"), check=True, capture_output=True, text=True)
    assert f"{arguments.archive} new" in result.stdout, result.stdout
    print(
        f"archive: {arguments.archive} articles ingested in {time.perf_counter() - started:.1f} s ({workdir})"
    )
    with (workdir / "daemon.log").open("w") as log:
        daemon = subprocess.Popen(feeder(workdir, "run"), stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until((workdir / "var" / "feeder.db.daemon.json").exists)
        time.sleep(1)  # let the start-up catch-up ingest finish
        latencies = measure(workdir, writer, arguments.files, arguments.archive)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)
    ordered = sorted(latencies)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    print(f"file landed → entry in its category feed and all-news feed, {len(latencies)} files:")
    print(
        f"  median {statistics.median(latencies) * 1000:.0f} ms   p95 {p95 * 1000:.0f} ms   max {ordered[-1] * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
