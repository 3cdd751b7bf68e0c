"""File landed → entry in the published feed, with `feeder run` watching the inbox.

    python bench/latency.py [--archive 10000] [--files 50]

Builds an archive of `--archive` articles with `feeder ingest`, starts the
daemon (watch mode on, polling every hour so only the watcher can be quick),
then drops `--files` new articles one at a time and times how long each takes
to appear in its category's Atom feed and in the all-news feed on disk, which
is what the server serves. Prints the median and the 95th percentile.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CATEGORIES = ("Политика", "Экономика", "Общество", "В мире", "Спорт", "Культура")
SLUGS = ("politika", "ekonomika", "obshchestvo", "v-mire", "sport", "kultura")
PARAGRAPH = (
    "Президент Азербайджана в ходе телефонного разговора обсудил первоочередные шаги "
    "по дальнейшей стабилизации обстановки и преодолению гуманитарных проблем в регионе."
)
CONFIG = """
inbox = "inbox"
database = "var/feeder.db"
output_dir = "public"
base_url = "http://localhost:8080/"
site_title = "Bench"
id_prefix = "tag:example.org,2024:bench"

[schedule]
ingest_interval = 3600
watch = true
"""


def article(number: int, year: int) -> str:
    day, month = number % 28 + 1, number % 12 + 1
    return "\n".join(
        [
            f"Новость номер {number}",
            f"Баку/{day:02d}.{month:02d}.{year % 100:02d}/Turan: {PARAGRAPH}",
            *[PARAGRAPH] * 8,
            f"{PARAGRAPH} --0--",
            CATEGORIES[number % len(CATEGORIES)],
            "-",
            "Тизер другой новости.",
            "Написать отзыв",
        ]
    )


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


def measure(workdir: Path, files: int, archive: int) -> list[float]:
    inbox = workdir / "inbox"
    feeds = workdir / "public" / "feeds"
    latencies = []
    for offset in range(files):
        number = archive + offset
        story_id = f"{number:06d}_{number:016x}"
        # Newer than the whole archive, so it belongs in the newest 50 of every feed.
        (inbox / f"{story_id}.txt").write_text(article(number, 2025))
        landed = time.perf_counter()
        slug = SLUGS[number % len(SLUGS)]
        wait_until(
            lambda slug=slug, story_id=story_id: all(
                story_id.encode() in (feeds / name).read_bytes()
                for name in (f"{slug}.atom", "all.atom")
            )
        )
        latencies.append(time.perf_counter() - landed)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=int, default=10_000, help="articles already published")
    parser.add_argument("--files", type=int, default=50, help="new articles to time")
    arguments = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="feeder-latency-"))
    (workdir / "config.toml").write_text(CONFIG)
    (workdir / "inbox").mkdir()
    an_hour_ago = time.time() - 3600  # long settled, as an archive is
    for number in range(arguments.archive):
        path = workdir / "inbox" / f"{number:06d}_{number:016x}.txt"
        path.write_text(article(number, 2023))
        os.utime(path, (an_hour_ago, an_hour_ago))
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
        latencies = measure(workdir, arguments.files, arguments.archive)
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
