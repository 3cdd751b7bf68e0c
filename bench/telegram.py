"""Telegram: file landed → post visible in the channel, and a burst through a kill -9.

    python -m bench.telegram [--files 30] [--burst 1000] [--per-minute 20]

Runs telegram-test-api (tests/peers, `npm ci --prefix tests/peers`) with node
as the Bot API, and `feeder run` watching its inbox with one all-news channel.

1. Latency: drops `--files` stories one at a time and times each from the file
   landing to its post being readable through the emulator's client side.
2. Burst: drops `--burst` stories at once with `messages_per_minute` set to
   `--per-minute`, kills the daemon with SIGKILL when half are posted, starts
   it again and waits for the rest. Prints how many arrived, how many twice,
   and the most posts seen in any 60 s window (from the sends feeder recorded
   and from the arrival times seen at the emulator).

At Telegram's own 20 a minute, a burst of 1,000 takes 50 minutes; `--per-minute
600` checks the same rules in under two.
"""

from __future__ import annotations

import argparse
import bisect
import os
import signal
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.corpus import CorpusWriter, deliver
from bench.latency import daemon_config, feeder, wait_until
from feeder.intake.wire import parse
from feeder.model import Article
from feeder.store import Store
from feeder.visible import visible
from tests.telegram_emulator import Emulator, new_token, running_emulator

CHANNEL = "-1001000000001"


def poll_until(probe: Callable[[], bool], timeout: float) -> None:
    """Every 0.2 s: reading a channel of 1,000 posts back costs the emulator too."""
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout} s")
        time.sleep(0.2)


def headlines(emulator: Emulator, token: str) -> list[str]:
    return [post.seen.text.split("\n", 1)[0] for post in emulator.posts(token, CHANNEL)]


def start(workdir: Path, token: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("a") as output:
        return subprocess.Popen(
            feeder(workdir, "run", "--no-serve"),
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "FEEDER_TELEGRAM_TOKEN": token},
        )


def workspace(emulator: Emulator, per_minute: int) -> Path:
    workdir = Path(tempfile.mkdtemp(prefix="feeder-telegram-"))
    telegram = (
        f'\n[telegram]\napi_url = "{emulator.api_url}"\nchannel = "{CHANNEL}"\n'
        f"messages_per_minute = {per_minute}\n"
    )
    (workdir / "config.toml").write_text(daemon_config(extra=telegram))
    (workdir / "inbox").mkdir()
    return workdir


def latency(emulator: Emulator, files: int) -> list[float]:
    token = new_token()
    workdir = workspace(emulator, per_minute=20)
    writer = CorpusWriter()
    daemon = start(workdir, token, workdir / "daemon.log")
    try:
        wait_until((workdir / "var" / "feeder.db.daemon.json").exists)
        time.sleep(1)
        timings = []
        for number in range(files):
            story = writer.story(number)
            article = parse(story.data, story.name)
            assert isinstance(article, Article), article
            title = visible(article.title)
            deliver(workdir / "inbox", story)
            landed = time.perf_counter()
            wait_until(lambda title=title: title in headlines(emulator, token))
            timings.append(time.perf_counter() - landed)
            time.sleep(3.2)  # one post every 3 s keeps within 20 a minute
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)
    return timings


def burst(emulator: Emulator, stories: int, per_minute: int) -> None:
    token = new_token()
    workdir = workspace(emulator, per_minute)
    CorpusWriter().write(workdir / "inbox", range(stories))
    log = workdir / "daemon.log"
    arrivals: list[float] = []
    seen = 0

    def note_arrivals() -> int:
        nonlocal seen
        count = len(emulator.posts(token, CHANNEL))
        arrivals.extend([time.monotonic()] * (count - seen))
        seen = count
        return count

    started = time.perf_counter()
    daemon = start(workdir, token, log)
    try:
        poll_until(lambda: note_arrivals() >= stories // 2, timeout=3600)
    finally:
        daemon.send_signal(signal.SIGKILL)
        daemon.wait()
    killed_at = note_arrivals()
    daemon = start(workdir, token, log)
    try:
        poll_until(lambda: len(set(headlines(emulator, token))) >= stories, timeout=3600)
        time.sleep(2)  # anything doubled arrives too
        note_arrivals()
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)
    elapsed = time.perf_counter() - started
    titles = headlines(emulator, token)
    with Store(workdir / "var" / "feeder.db") as store:
        sends = store.sends_since("telegram", CHANNEL, 0)
    print(f"burst of {stories} at {per_minute} a minute, SIGKILL after {killed_at} posts:")
    print(
        f"  {len(set(titles))} of {stories} arrived, {len(titles) - len(set(titles))} twice, "
        f"in {elapsed:.0f} s"
    )
    print(
        f"  most in any 60 s: {most_in_a_minute(sends)} recorded sends, "
        f"{most_in_a_minute(arrivals)} arrivals seen (limit {per_minute}; the two daemons' "
        "sends are both counted)"
    )


def most_in_a_minute(times: list[float]) -> int:
    ordered = sorted(times)
    return max(
        (bisect.bisect_right(ordered, start + 60) - index for index, start in enumerate(ordered)),
        default=0,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=30, help="stories timed one at a time")
    parser.add_argument("--burst", type=int, default=1000, help="stories dropped at once")
    parser.add_argument("--per-minute", type=int, default=20, help="messages_per_minute")
    arguments = parser.parse_args()
    with running_emulator() as emulator:
        if arguments.files:
            timings = sorted(latency(emulator, arguments.files))
            p95 = timings[max(0, round(0.95 * len(timings)) - 1)]
            print(f"file landed → post visible in the channel, {len(timings)} stories:")
            print(
                f"  median {statistics.median(timings) * 1000:.0f} ms   p95 {p95 * 1000:.0f} ms   "
                f"max {timings[-1] * 1000:.0f} ms"
            )
        if arguments.burst:
            burst(emulator, arguments.burst, arguments.per_minute)


if __name__ == "__main__":
    main()
