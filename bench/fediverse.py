"""Fediverse fan-out: one new story to 1,000 followers on 50 servers, one of them hanging.

    python -m bench.fediverse [--servers 50] [--followers 1000]

Starts `--servers` follower servers, each its own process (`bench.fediverse_inbox`),
the first of which never answers; records `--followers` followers of @politika
spread over them; then ingests one story and delivers the outbox with the same
worker `feeder run` uses. Prints, from the ingest's commit, when each answering
server had its Create (p50, p95, max) and how many of them got it.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from feeder.channels.fediverse.channel import FediverseSender
from feeder.channels.fediverse.state import FediverseState
from feeder.channels.sender import OutboxWorker
from feeder.config import parse_config
from feeder.pipeline import ingest_and_publish
from feeder.store import Store
from tests.conftest import wire_text


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--servers", type=int, default=50)
    parser.add_argument("--followers", type=int, default=1000)
    options = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="feeder-bench-fediverse-"))
    (root / "inbox").mkdir()
    config = parse_config(
        {
            "inbox": "inbox",
            "database": "feeder.db",
            "output_dir": "public",
            "base_url": "http://127.0.0.1:9/",
            "site_title": "Bench",
            "id_prefix": "tag:example.org,2024:bench",
            "settle_seconds": 0,
            "fediverse": {"enabled": True, "allow_private_addresses": True, "timeout_seconds": 10},
        },
        root / "config.toml",
    )
    (config.inbox / "000_0000000000000000.txt").write_text(wire_text(title="Первая"))
    ingest_and_publish(config)
    processes, ports = [], []
    for number in range(options.servers):
        flags = ["--hang"] if number == 0 else []
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.fediverse_inbox", *flags],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        ports.append(int(process.stdout.readline().split()[1]))
        processes.append(process)
    arrivals: dict[int, float] = {}

    def watch(number: int, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            arrivals.setdefault(number, float(line.split()[1]))

    for number, process in enumerate(processes):
        threading.Thread(target=watch, args=(number, process), daemon=True).start()
    with Store(config.database) as store, store.transaction():
        state = FediverseState(store)
        for follower in range(options.followers):
            port = ports[follower % options.servers]
            inbox = f"http://127.0.0.1:{port}/inbox"
            actor = f"http://127.0.0.1:{port}/users/{follower}"
            state.add_follower("politika", actor, actor + "/inbox", inbox, "127.0.0.1", 0.0)
    worker = OutboxWorker(config, [FediverseSender(config)])
    worker.start()
    try:
        (config.inbox / "001_0000000000000001.txt").write_text(wire_text(title="Вторая"))
        start = time.time()
        ingest_and_publish(config)
        committed = time.time()
        answering = options.servers - 1
        deadline = time.monotonic() + 30
        while len(arrivals) < answering and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        worker.stop()
        for process in processes:
            process.kill()
    delays = sorted(at - committed for at in arrivals.values())
    p95 = delays[max(0, round(0.95 * len(delays)) - 1)]
    print(f"ingest and publish: {committed - start:.3f} s")
    print(
        f"{len(delays)} of {answering} answering servers had their Create; from the commit: "
        f"p50 {statistics.median(delays):.3f} s, p95 {p95:.3f} s, max {delays[-1]:.3f} s "
        f"({options.followers} followers, {options.servers} servers, 1 hanging)"
    )


if __name__ == "__main__":
    main()
