"""File landed → its feed POSTed to every WebSub subscriber, with `feeder run` as the hub.

    python -m bench.websub [--subscribers 100] [--stories 50] [--fanout 1000]

Builds an archive of `--archive` articles, starts the daemon (watching the
inbox, serving, hub on), and subscribes `--subscribers` callbacks to the
all-news Atom feed, each on a callback server of its own on a loopback port:
one of them stops listening once subscribed (dead), one never answers a
delivery (hanging). Then `--stories` articles land one at a time; for each,
the time from the file landing to the last live subscriber having read the
body that carries it. Then the subscribers grow to `--fanout` (more callbacks
on the same servers) and `--fanout-stories` more land: deliveries per second.
The daemon's resident memory is sampled after every story.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from bench.corpus import CorpusWriter, deliver
from bench.latency import daemon_config, feeder, wait_until
from bench.table import describe_machine
from feeder.intake.wire import parse
from feeder.model import Article

HUB_SETTINGS = """
[websub]
allow_private_callbacks = true
max_subscriptions_per_host = 5000
"""

DEAD, HANGING = 0, 1
# Longer than the daemon's debounce and the end of a one-file run together.
IDLE_SECONDS = 0.5


@dataclass
class Callbacks:
    """Every subscriber's callback, served from one asyncio loop in a thread of its own.

    Subscriber n is path /n on server n % servers. Arrival times are kept for
    bodies that carry the story being waited for (`marker`), so checking what
    arrived costs the driver nothing.
    """

    servers: int
    marker: bytes = b"\0"
    arrivals: dict[int, float] = field(default_factory=dict)
    ports: list[int] = field(default_factory=list)
    _loop: asyncio.AbstractEventLoop | None = None
    _servers: list[asyncio.Server] = field(default_factory=list)

    def start(self) -> None:
        ready = threading.Event()

        async def serve() -> None:
            self._loop = asyncio.get_running_loop()
            for _ in range(self.servers):
                server = await asyncio.start_server(self._connection, "127.0.0.1", 0, backlog=1024)
                self._servers.append(server)
                self.ports.append(server.sockets[0].getsockname()[1])
            ready.set()
            await asyncio.Event().wait()

        threading.Thread(target=asyncio.run, args=(serve(),), daemon=True).start()
        ready.wait()

    def url(self, number: int) -> str:
        return f"http://127.0.0.1:{self.ports[number % self.servers]}/{number}"

    def kill(self, number: int) -> None:
        """Stop the server of subscriber `number`: connections to it are refused from now."""
        assert self._loop is not None
        server = self._servers[number % self.servers]
        self._loop.call_soon_threadsafe(server.close)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while request := await reader.readline():
                method, target, _ = request.decode().split(" ", 2)
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode().partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                parts = urlsplit(target)
                number = int(parts.path.strip("/"))
                if method == "GET":
                    answer = parse_qs(parts.query)["hub.challenge"][0].encode()
                else:
                    if number == HANGING:
                        await asyncio.sleep(3600)
                    if self.marker in body:
                        self.arrivals.setdefault(number, time.perf_counter())
                    answer = b""
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(answer), answer)
                )
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def subscriptions(workdir: Path) -> int:
    try:
        with sqlite3.connect(workdir / "var" / "feeder.db") as connection:
            return int(
                connection.execute("SELECT COUNT(*) FROM websub_subscriptions").fetchone()[0]
            )
    except sqlite3.OperationalError:
        return 0


def subscribe(base_url: str, callbacks: Callbacks, numbers: list[int], workdir: Path) -> None:
    """Subscribe them all and wait until the hub has verified each."""
    before = subscriptions(workdir)
    with httpx.Client(trust_env=False) as client:
        for number in numbers:
            answer = client.post(
                base_url + "websub",
                data={
                    "hub.mode": "subscribe",
                    "hub.topic": base_url + "feeds/all.atom",
                    "hub.callback": callbacks.url(number),
                },
            )
            assert answer.status_code == 202, answer.text
    wait_until(lambda: subscriptions(workdir) == before + len(numbers), timeout=120)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def land_stories(
    workdir: Path,
    writer: CorpusWriter,
    callbacks: Callbacks,
    numbers: range,
    live: set[int],
    pid: int,
    memory: list[float],
) -> list[float]:
    """Seconds from each file landing to the last live subscriber reading it."""
    latencies = []
    for number in numbers:
        story = writer.story(number)
        article = parse(story.data, story.name)
        assert isinstance(article, Article), article
        callbacks.arrivals = {}
        callbacks.marker = f"/story/{article.story_id}<".encode()
        deliver(workdir / "inbox", story)
        landed = time.perf_counter()
        wait_until(lambda: live <= callbacks.arrivals.keys(), timeout=120)
        latencies.append(max(callbacks.arrivals[n] for n in live) - landed)
        memory.append(rss_mb(pid))
        time.sleep(IDLE_SECONDS)
    return latencies


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(fraction * len(ordered)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=int, default=1_000, help="articles already published")
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--stories", type=int, default=50, help="stories timed")
    parser.add_argument("--fanout", type=int, default=1_000, help="subscribers for the rate")
    parser.add_argument("--fanout-stories", type=int, default=10)
    arguments = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="feeder-websub-"))
    port = free_port()
    base_url = f"http://127.0.0.1:{port}/"
    (workdir / "config.toml").write_text(daemon_config(port, extra=HUB_SETTINGS))
    (workdir / "inbox").mkdir()
    writer = CorpusWriter()
    writer.write(workdir / "inbox", range(arguments.archive))
    subprocess.run(feeder(workdir, "ingest"), check=True, capture_output=True)
    callbacks = Callbacks(servers=arguments.subscribers)
    callbacks.start()
    with (workdir / "daemon.log").open("w") as log:
        daemon = subprocess.Popen(feeder(workdir, "run"), stdout=log, stderr=subprocess.STDOUT)
    memory: list[float] = []
    try:
        wait_until((workdir / "var" / "feeder.db.daemon.json").exists)
        subscribe(base_url, callbacks, list(range(arguments.subscribers)), workdir)
        callbacks.kill(DEAD)
        memory.append(rss_mb(daemon.pid))
        live = set(range(arguments.subscribers)) - {DEAD, HANGING}
        first = arguments.archive
        latencies = land_stories(
            workdir,
            writer,
            callbacks,
            range(first, first + arguments.stories),
            live,
            daemon.pid,
            memory,
        )
        # More callbacks on the live servers (the dead one would not answer verification).
        more = [
            n
            for n in range(arguments.subscribers, arguments.fanout)
            if n % arguments.subscribers != DEAD
        ]
        subscribe(base_url, callbacks, more, workdir)
        live |= set(more)
        first += arguments.stories
        fanout_times = land_stories(
            workdir,
            writer,
            callbacks,
            range(first, first + arguments.fanout_stories),
            live,
            daemon.pid,
            memory,
        )
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=60)
    print(
        f"{arguments.subscribers} subscribers to feeds/all.atom (1 dead, 1 hanging), "
        f"{arguments.stories} stories, file landed → last live subscriber read the body:"
    )
    print(
        f"  p50 {statistics.median(latencies) * 1000:.0f} ms   "
        f"p95 {percentile(latencies, 0.95) * 1000:.0f} ms   max {max(latencies) * 1000:.0f} ms"
    )
    rates = [len(live) / seconds for seconds in fanout_times]
    print(
        f"{arguments.fanout} subscribers ({len(live)} live), {arguments.fanout_stories} stories: "
        f"{statistics.median(rates):.0f} deliveries/s (median; slowest story "
        f"{max(fanout_times) * 1000:.0f} ms to the last subscriber)"
    )
    print(
        f"daemon RSS: {memory[0]:.0f} MB after subscribing, {memory[arguments.stories]:.0f} MB "
        f"after {arguments.stories} stories, {memory[-1]:.0f} MB at the end, max {max(memory):.0f} MB"
    )
    print(f"Machine: {describe_machine()}")
    print(f"Command: python -m bench.websub {' '.join(sys.argv[1:])}".rstrip())


if __name__ == "__main__":
    main()
