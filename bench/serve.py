"""nginx (the block `feeder nginx-config` prints) and `feeder serve`, side by side, on 127.0.0.1.

    python -m bench.serve [--seconds N] [--connections N]

Publishes 50 articles from the benchmark corpus (bench/corpus.py), starts
`feeder serve` as its own process and Debian's nginx with the generated block
over the same output, and polls the all-news feed the way readers do over
kept-alive connections: a full fetch with gzip (the precompressed copy), and a
conditional fetch answered 304. The load tool is wrk (Debian's `wrk`); without
it, a threaded Python client. Both servers log each request, as in production.
Figures go to stdout; docs/serving.md records them.
"""

from __future__ import annotations

import argparse
import http.client
import re
import shutil
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
from bench.nginx import running_nginx
from bench.table import describe_machine
from feeder.config import load_config

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


# A reader polling every 15 minutes makes 1/900 request a second.
POLL_SECONDS = 15 * 60
SCENARIOS = {"200 gzip": {"Accept-Encoding": "gzip"}, "304 If-None-Match": {}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="seconds per scenario (wrk)")
    parser.add_argument("--requests", type=int, default=5000, help="per scenario (Python client)")
    parser.add_argument("--connections", type=int, default=8, help="kept-alive connections")
    options = parser.parse_args()
    tool = "wrk" if shutil.which("wrk") else "python"

    with tempfile.TemporaryDirectory(prefix="feeder-bench-") as workdir:
        work = Path(workdir)
        work.chmod(0o755)  # nginx's workers (nobody, when run as root) read the output
        (work / "inbox").mkdir()
        (work / "config.toml").write_text(CONFIG.format(items=ITEMS))
        CorpusWriter().write(work / "inbox", range(ITEMS))
        feeder = [sys.executable, "-m", "feeder"]
        config = ["--config", str(work / "config.toml"), "--log-level", "warning"]
        subprocess.run([*feeder, "ingest", *config], check=True, capture_output=True)
        sizes = {
            name: (work / "public" / FEED.lstrip("/")).with_suffix(suffix).stat().st_size
            for name, suffix in (("identity", ".rss"), ("gzip", ".rss.gz"))
        }
        # The access log stays on (--log-level info), as in production, into /dev/null.
        server = subprocess.Popen(
            [*feeder, "serve", "--config", str(work / "config.toml")],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        results: dict[tuple[str, str], dict[str, float]] = {}
        try:
            feeder_url = server.stdout.readline().split(" at ")[1].split()[0]  # type: ignore[union-attr]
            with running_nginx(load_config(work / "config.toml"), work / "nginx") as nginx_url:
                for name, url in (("nginx", nginx_url), ("feeder serve", feeder_url)):
                    for scenario, headers in _scenarios(url).items():
                        results[name, scenario] = _load(tool, url, headers, options)
                        # Each scenario is named after the answer it measures.
                        if str(results[name, scenario]["status"]) != scenario.split()[0]:
                            raise SystemExit(f"{name}, {scenario}: answered otherwise")
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)

    print(describe_machine())
    print(
        f"feed: {FEED}, {ITEMS} items, {sizes['identity']} bytes ({sizes['gzip']} gzip); "
        f"{tool}, {options.connections} kept-alive connections"
        + (f", {options.seconds} s per scenario" if tool == "wrk" else "")
    )
    print(f"{'server':<13} {'scenario':<18} {'req/s':>8} {'p99 ms':>8} {'readers at 15 min':>18}")
    for (name, scenario), figures in results.items():
        print(
            f"{name:<13} {scenario:<18} {figures['per_second']:>8.0f} {figures['p99_ms']:>8.2f} "
            f"{figures['per_second'] * POLL_SECONDS:>18,.0f}"
        )
    for scenario in SCENARIOS:
        ratio = (
            results["nginx", scenario]["per_second"]
            / results["feeder serve", scenario]["per_second"]
        )
        print(f"nginx/feeder serve, {scenario}: {ratio:.1f}x")


def _scenarios(url: str) -> dict[str, dict[str, str]]:
    """Both scenarios ask for gzip; the 304 one with the ETag a gzip reader keeps."""
    gzip = SCENARIOS["200 gzip"]
    return {"200 gzip": gzip, "304 If-None-Match": {**gzip, "If-None-Match": _etag(url)}}


def _load(
    tool: str, url: str, headers: dict[str, str], options: argparse.Namespace
) -> dict[str, float]:
    expected = _status(url, headers)
    if tool == "python":
        poll(url, headers, 100, options.connections)  # warm-up
        figures = poll(url, headers, options.requests, options.connections)
    else:
        figures = _wrk(url, headers, options.seconds, options.connections)
    figures["status"] = expected
    return figures


def _wrk(url: str, headers: dict[str, str], seconds: int, connections: int) -> dict[str, float]:
    header_options = [
        option for name, value in headers.items() for option in ("-H", f"{name}: {value}")
    ]
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", *header_options]
    output = subprocess.run(
        [*command, url.rstrip("/") + FEED], check=True, capture_output=True, text=True
    ).stdout
    if "Non-2xx or 3xx responses" in output:
        raise SystemExit(f"some answers were errors:\n{output}")
    per_second = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)$", output, re.MULTILINE)
    if per_second is None or p99 is None:
        raise SystemExit(f"cannot read wrk's output:\n{output}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99[2]]
    return {"per_second": float(per_second[1]), "p99_ms": float(p99[1]) * scale}


def _status(url: str, headers: dict[str, str]) -> int:
    """The answer a scenario gets; a run measuring other answers measured nothing useful."""
    address = urlsplit(url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    connection.request("GET", FEED, headers=headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status


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
