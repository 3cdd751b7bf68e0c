"""Requests per second that `feeder serve` answers for a 50-item feed, on 127.0.0.1.

    python -m bench.serve [--requests N] [--connections N]

Publishes 50 articles from the benchmark corpus (bench/corpus.py), starts
`feeder serve` as its own process, and polls the all-news feed the way readers
do: a full fetch with gzip, and a conditional fetch answered 304. The client is
a few threads with one kept-alive connection each; every loop is bounded by
--requests. Figures go to stdout; docs/serving.md records them.
"""

from __future__ import annotations

import argparse
import http.client
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from bench.corpus import CorpusWriter
from bench.table import describe_machine

ITEMS = 50
FEED = "/feeds/all.rss"
CONFIG = """\
inbox = "inbox"
database = "feeder.db"
output_dir = "public"
base_url = "http://127.0.0.1/"
site_title = "Benchmark"
id_prefix = "tag:example.org,2024:bench"
settle_seconds = 0
max_items = {items}

[server]
port = 0
"""


def poll(url: str, headers: dict[str, str], requests: int, connections: int) -> dict[str, float]:
    """`requests` GETs spread over `connections` kept-alive connections; figures of the run."""
    address = urlsplit(url)
    latencies: list[float] = []
    sizes: list[int] = []
    statuses: set[int] = set()
    lock = threading.Lock()

    def client(count: int) -> None:
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
        mine = []
        for _ in range(count):
            started = time.perf_counter()
            connection.request("GET", FEED, headers=headers)
            response = connection.getresponse()
            body = response.read()
            mine.append(time.perf_counter() - started)
            with lock:
                statuses.add(response.status)
                sizes.append(len(body))
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [
        threading.Thread(target=client, args=(requests // connections,)) for _ in range(connections)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    (status,) = statuses  # a run that got mixed answers measured nothing useful
    return {
        "status": status,
        "requests": len(latencies),
        "per_second": len(latencies) / elapsed,
        "median_ms": statistics.median(latencies) * 1000,
        "p99_ms": statistics.quantiles(latencies, n=100)[98] * 1000,
        "bytes": statistics.mean(sizes),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests per scenario")
    parser.add_argument("--connections", type=int, default=4, help="concurrent connections")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="feeder-bench-") as workdir:
        work = Path(workdir)
        (work / "inbox").mkdir()
        (work / "config.toml").write_text(CONFIG.format(items=ITEMS))
        CorpusWriter().write(work / "inbox", range(ITEMS))
        feeder = [sys.executable, "-m", "feeder"]
        config = ["--config", str(work / "config.toml"), "--log-level", "warning"]
        subprocess.run([*feeder, "ingest", *config], check=True, capture_output=True)
        identity_size = (work / "public" / FEED.lstrip("/")).stat().st_size
        # The access log stays on (--log-level info), as in production, into /dev/null.
        server = subprocess.Popen(
            [*feeder, "serve", "--config", str(work / "config.toml")],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            url = server.stdout.readline().split(" at ")[1].split()[0]
            etag = _etag(url)
            scenarios = {
                "200 gzip": {"Accept-Encoding": "gzip"},
                "200 identity": {},
                "304 If-None-Match": {"Accept-Encoding": "gzip", "If-None-Match": etag},
            }
            poll(url, scenarios["200 gzip"], 100, options.connections)  # warm-up
            results = {
                name: poll(url, headers, options.requests, options.connections)
                for name, headers in scenarios.items()
            }
            for name, figures in results.items():
                # Each scenario is named after the answer it measures.
                if str(figures["status"]) != name.split()[0]:
                    raise SystemExit(f"{name}: the server answered {figures['status']}")
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)

    print(describe_machine())
    print(
        f"feed: {FEED}, {ITEMS} items, {identity_size} bytes; "
        f"{options.connections} connections, {options.requests} requests per scenario"
    )
    print(
        f"{'scenario':<20} {'status':>6} {'req/s':>8} {'median ms':>10} {'p99 ms':>8} {'bytes':>8}"
    )
    for name, figures in results.items():
        print(
            f"{name:<20} {figures['status']:>6} {figures['per_second']:>8.0f} "
            f"{figures['median_ms']:>10.2f} {figures['p99_ms']:>8.2f} {figures['bytes']:>8.0f}"
        )


def _etag(url: str) -> str:
    """The gzip representation's ETag, the one a reader asking for gzip keeps."""
    address = urlsplit(url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    connection.request("HEAD", FEED, headers={"Accept-Encoding": "gzip"})
    etag = connection.getresponse().headers["ETag"]
    connection.close()
    return etag


if __name__ == "__main__":
    main()
