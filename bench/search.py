"""Search: query latency, searches/s through feeder's server, and what the index costs.

    python -m bench.search [--size 100000] [--queries 200] [--wrk-seconds 10]
    python -m bench.search --archive DIR [--wrk-runs 3]   # build once, then wrk only

`--archive DIR` keeps the indexed archive in DIR: the first run builds it and
measures everything, later runs find it and only run step 4 against it, for
trying a change to the server in seconds rather than minutes.

1. Bulk ingest of `--size` stories twice, with `[search] enabled` false and
   true: the wall and CPU time of each and the database's size (the index's
   cost). On a machine shared with other work the wall time varies by tens of
   per cent between runs; the process's CPU time much less.
2. One new story (`feeder ingest FILE` as the watcher names arrivals) into
   each archive, nine times, taking turns: the median time of each; and,
   as that difference is within the noise, the index's own write for one
   story (re-indexing a stored one, rolled back), timed alone.
3. Query p95 on the indexed archive, straight from the store as the server
   asks it (a page of 20, newest first, with its count and snippets), for
   one-word, phrase and prefix queries.
4. `wrk` with 8 connections against `GET /search?q=…` on `feeder serve`,
   `--wrk-runs` times (Debian's wrk; skipped with a note when it is missing),
   and the server's CPU time per search: what the neighbours on a shared
   machine take from it does not change that.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from bench.corpus import CorpusWriter
from feeder.config import Config, parse_config
from feeder.model import StoryChange
from feeder.pipeline import ingest_and_publish
from feeder.search.request import read_request
from feeder.search.results import search
from feeder.store import Store

QUERIES = {
    "one word": ["переговоры", "президент", "соглашение", "экономики", "безопасность"],
    "phrase": ['"заявил президент"', '"развитие сотрудничества"', '"сообщил министр"'],
    "prefix": ["сотрудн*", "переговор*", "безопасн*", "правител*"],
}


def _config(folder: Path, enabled: bool) -> Config:
    """The archive's config, also written as `config.toml` for `feeder serve`."""
    (folder / "inbox").mkdir(parents=True, exist_ok=True)
    values: dict[str, object] = {
        "inbox": "inbox",
        "database": "var/feeder.db",
        "output_dir": "public",
        "base_url": "http://127.0.0.1:8093/",
        "site_title": "Bench",
        "id_prefix": "tag:example.org,2024:bench",
        "settle_seconds": 0,
        "server": {"port": 8093, "access_log": False},
        "search": {"enabled": enabled},
    }
    (folder / "config.toml").write_text(_toml(values))
    return parse_config(values, folder / "config.toml")


def _toml(values: dict[str, object]) -> str:
    """These values (text, numbers, booleans, one level of tables) as TOML."""
    lines = [
        f"{key} = {json.dumps(value)}" for key, value in values.items() if type(value) is not dict
    ]
    for table, entries in values.items():
        if isinstance(entries, dict):
            lines += [
                f"[{table}]",
                *(f"{key} = {json.dumps(value)}" for key, value in entries.items()),
            ]
    return "\n".join(lines) + "\n"


def _database_bytes(config: Config) -> int:
    return sum(path.stat().st_size for path in config.database.parent.glob("feeder.db*"))


@dataclass(frozen=True)
class Bulk:
    config: Config
    config_file: Path
    wall: float
    cpu: float


def _bulk(folder: Path, corpus: Path, size: int, enabled: bool) -> Bulk:
    config = _config(folder, enabled)
    shutil.copytree(corpus, config.inbox, dirs_exist_ok=True)
    started, cpu_started = time.perf_counter(), time.process_time()
    ingest_and_publish(config)
    bulk = Bulk(
        config,
        folder / "config.toml",
        time.perf_counter() - started,
        time.process_time() - cpu_started,
    )
    with Store(config.database) as store:
        store.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return bulk


def _new_story(config: Config, writer: CorpusWriter, number: int) -> float:
    writer.write(config.inbox, [number])
    path = config.inbox / writer.name(number)
    started = time.perf_counter()
    ingest_and_publish(config, [path.name], complete=[path.name])
    return time.perf_counter() - started


def _index_write(store: Store) -> float:
    """The median time to drop a stored story's row and index it again, rolled back."""
    entries = store.newest_entries(None, 21)
    times = []
    for entry in entries:
        store.connection.execute("BEGIN IMMEDIATE")
        started = time.perf_counter()
        store.stories_changed([(StoryChange.CORRECTED, entry)])
        times.append(time.perf_counter() - started)
        store.connection.execute("ROLLBACK")
    return statistics.median(times)


def _cpu_seconds(pid: int) -> float:
    """A process's user and system CPU time so far (Linux's /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(len(values) * 0.95) - 1)]


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--size", type=int, default=100_000)
    options.add_argument("--queries", type=int, default=200)
    options.add_argument("--wrk-seconds", type=int, default=10)
    options.add_argument("--wrk-runs", type=int, default=3)
    options.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()))
    options.add_argument(
        "--archive", type=Path, help="keep the archive here; if it is there, only run wrk"
    )
    arguments = options.parse_args()
    if arguments.archive is not None:
        config_file = arguments.archive / "search-True" / "config.toml"
        if config_file.exists():
            _wrk(config_file, arguments.wrk_seconds, arguments.wrk_runs)
            return
        arguments.archive.mkdir(parents=True, exist_ok=True)
        _run(
            arguments.archive,
            arguments.size,
            arguments.queries,
            arguments.wrk_seconds,
            arguments.wrk_runs,
        )
        shutil.rmtree(arguments.archive / "corpus", ignore_errors=True)
        return
    root = Path(tempfile.mkdtemp(prefix="feeder-bench-search-", dir=arguments.workdir))
    try:
        _run(root, arguments.size, arguments.queries, arguments.wrk_seconds, arguments.wrk_runs)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _run(root: Path, size: int, queries: int, wrk_seconds: int, wrk_runs: int) -> None:
    writer = CorpusWriter()
    corpus = root / "corpus"
    corpus.mkdir()
    writer.write(corpus, range(size))
    results: dict[bool, Bulk] = {}
    for enabled in (False, True):
        results[enabled] = bulk = _bulk(root / f"search-{enabled}", corpus, size, enabled)
        print(
            f"bulk ingest of {size:,}, search {'on' if enabled else 'off'}: {bulk.wall:.1f} s "
            f"(CPU {bulk.cpu:.1f} s), database {_database_bytes(bulk.config) / 1e6:.1f} MB",
            flush=True,
        )
    off, on = results[False], results[True]
    print(
        f"index cost in bulk: {100 * (on.wall - off.wall) / off.wall:+.1f} % wall, "
        f"{100 * (on.cpu - off.cpu) / off.cpu:+.1f} % CPU (target at most +20 %)"
    )
    growth = _database_bytes(on.config) - _database_bytes(off.config)
    print(f"database growth: {growth / 1e6:.1f} MB ({growth / size:.0f} bytes a story)")
    times: dict[bool, list[float]] = {False: [], True: []}
    for run in range(9):
        for enabled in (False, True) if run % 2 else (True, False):
            times[enabled].append(
                _new_story(results[enabled].config, writer, size + 10 * run + enabled)
            )
    singles = {enabled: statistics.median(values) for enabled, values in times.items()}
    print(
        f"one new story: {1000 * singles[False]:.1f} ms off, {1000 * singles[True]:.1f} ms on, "
        f"{1000 * (singles[True] - singles[False]):+.1f} ms (target at most +5 ms)"
    )
    config = on.config
    with Store(config.database) as store:
        print(f"the index's write for one story, alone: {1000 * _index_write(store):.2f} ms")
        for kind, texts in QUERIES.items():
            times = []
            for index in range(queries):
                text = texts[index % len(texts)]
                request, found = read_request(f"q={quote(text)}".encode())
                started = time.perf_counter()
                answer = search(config, store, request, found)
                times.append(time.perf_counter() - started)
                assert answer.searched, answer.problems
            print(
                f"query p95, {kind}: {1000 * _p95(times):.1f} ms "
                f"(median {1000 * statistics.median(times):.1f} ms; target p95 < 30 ms)"
            )
    _wrk(on.config_file, wrk_seconds, wrk_runs)


def _wrk(config_file: Path, wrk_seconds: int, wrk_runs: int) -> None:
    if shutil.which("wrk") is None:
        print("wrk: not installed (apt-get install wrk); searches/s not measured")
        return
    # Its own process, as in production: this one holds what two bulk ingests left.
    server = subprocess.Popen(
        [sys.executable, "-m", "feeder", "serve", "--config", str(config_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        served_at = server.stdout.readline().split(" at ")[1].split()[0]  # type: ignore[union-attr]
        url = f"{served_at}search?q={quote('переговоры')}"
        rates, cpu_per_search = [], []
        for _ in range(wrk_runs):
            cpu_started = _cpu_seconds(server.pid)
            output = subprocess.run(
                ["wrk", "-t", "2", "-c", "8", "-d", f"{wrk_seconds}s", "--latency", url],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            cpu = _cpu_seconds(server.pid) - cpu_started
            line = next(line for line in output.splitlines() if "Requests/sec" in line)
            rates.append(float(line.split()[-1]))
            served = next(line for line in output.splitlines() if "requests in" in line)
            cpu_per_search.append(cpu / int(served.split()[0]))
            print(os.linesep.join("  " + line for line in output.splitlines()))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    print(
        f"wrk -t2 -c8 -d{wrk_seconds}s {url}, {wrk_runs} runs: "
        f"{', '.join(f'{rate:.0f}' for rate in rates)} searches/s, "
        f"median {statistics.median(rates):.0f} (target at least 200); the server's CPU "
        f"time a search: {', '.join(f'{1000 * cpu:.2f}' for cpu in cpu_per_search)} ms"
    )


if __name__ == "__main__":
    main()
