"""The benchmark scenarios, each measured against its target (docs/benchmarks.md).

Every archive size gets a bulk ingest of a fresh installation (compared with
the raw limit on the same files) and then new articles, one at a time, into
the archive it built: picked up by a scan of the inbox (`feeder ingest`), and
named (`feeder ingest FILE`, as the daemon's watcher and a delivery hook
name them). The largest archive then also gets a rescan with nothing new, the
floor of any scan (a stat of every inbox file, nothing else), corrections of
single stories and full regenerations.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from bench.corpus import CorpusWriter
from bench.raw import raw_files_per_second
from bench.workspace import CommandFailed, Measurement, Workspace

# The targets, on a 2-core machine. The bulk target is for 100,000
# files: smaller runs are dominated by fixed costs (start-up, 26 feeds fsynced).
BULK_TARGET_SIZE = 100_000
BULK_FILES_PER_SECOND = 4_500
BULK_PEAK_RSS_MB = 100
ONE_ARTICLE_WORK_SECONDS = 0.05
ONE_ARTICLE_WALL_SECONDS = 0.5
ONE_ARTICLE_REWRITTEN_BYTES = 1_000_000
# A new story's peak RSS at the largest archive, against the same run at the smallest.
ONE_ARTICLE_RSS_GROWTH = 1.10
RESCAN_WALL_SECONDS = 1.0
REGEN_WALL_SECONDS = 2.0


@dataclass(frozen=True)
class Row:
    """One line of the table: the median of a scenario's runs."""

    scenario: str
    size: int
    wall_seconds: float
    work_seconds: float
    peak_rss_mb: float | None  # None when measured in the benchmark's own process
    files_per_second: float | None = None
    raw_files_per_second: float | None = None
    bytes_rewritten: int | None = None
    target: str = ""
    met: bool | None = None


def run_benchmark(
    root: Path, sizes: Sequence[int], repeat: int = 3, seed: int = 2023
) -> Iterator[Row]:
    """Yield each row as soon as it is measured; everything is written under `root`."""
    writer = CorpusWriter(seed)
    corpus = root / "corpus"
    largest = max(sizes)
    writer.write(corpus, range(largest))
    names = [writer.name(number) for number in range(largest)]
    smallest_rss: float | None = None
    for size in sorted(sizes):
        workspace = Workspace.create(root / f"archive-{size}", corpus, names[:size])
        yield bulk_ingest(workspace, size)
        # Story `size` and the next ones are newer than everything archived.
        yield one_new_article(workspace, writer, size, range(size, size + repeat), named=False)
        named = one_new_article(
            workspace, writer, size, range(size + repeat, size + 2 * repeat), named=True
        )
        smallest_rss = smallest_rss or named.peak_rss_mb
        yield _rss_target(named, smallest_rss) if size == largest else named
    yield rescan(workspace, largest, repeat)
    yield stat_floor(workspace, largest, repeat)
    # Stories from the middle of the archive, each corrected once.
    middle = largest // 2
    yield correction(workspace, writer, largest, range(middle, middle + repeat), named=False)
    yield correction(
        workspace, writer, largest, range(middle + repeat, middle + 2 * repeat), named=True
    )
    yield regenerate(workspace, largest, repeat)
    yield regenerate_all_pages(workspace, largest)


def bulk_ingest(workspace: Workspace, size: int) -> Row:
    paths = sorted(workspace.inbox.iterdir())
    for path in paths:
        path.read_bytes()  # a warm page cache for both contenders, as for files just delivered
    raw = raw_files_per_second(paths, workspace.root / "raw.db")
    run = _expect(workspace.feeder("ingest"), new=size)
    speed = size / run.wall_seconds
    row = replace(
        _median_row("bulk ingest", size, [run]), files_per_second=speed, raw_files_per_second=raw
    )
    if size < BULK_TARGET_SIZE:
        return row
    return replace(
        row,
        target=f"≥ {BULK_FILES_PER_SECOND:,} files/s, < {BULK_PEAK_RSS_MB} MB",
        met=speed >= BULK_FILES_PER_SECOND and run.peak_rss_mb < BULK_PEAK_RSS_MB,
    )


def one_new_article(
    workspace: Workspace, writer: CorpusWriter, size: int, stories: range, named: bool
) -> Row:
    runs = []
    for number in stories:
        writer.write(workspace.inbox, [number])
        runs.append(_expect(_ingest(workspace, writer, number, named), new=1))
    scenario = "one new article, " + ("named" if named else "scan")
    return _one_article_target(_median_row(scenario, size, runs))


def rescan(workspace: Workspace, size: int, repeat: int) -> Row:
    runs = [_expect(workspace.feeder("ingest"), new=0, updated=0) for _ in range(repeat)]
    row = _median_row("rescan, nothing new", size, runs)
    return replace(
        row,
        files_per_second=runs[0].counts["unchanged"] / row.wall_seconds,
        target=f"< {RESCAN_WALL_SECONDS:g} s",
        met=row.wall_seconds < RESCAN_WALL_SECONDS,
    )


def stat_floor(workspace: Workspace, size: int, repeat: int) -> Row:
    """What any scan of the inbox costs at least: one os.stat per file, in this process."""
    names = os.listdir(workspace.inbox)
    inbox = os.fspath(workspace.inbox)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        for name in names:
            os.stat(f"{inbox}/{name}")
        times.append(time.perf_counter() - started)
    seconds = statistics.median(times)
    return Row("stat of every inbox file", size, seconds, seconds, None, len(names) / seconds)


def correction(
    workspace: Workspace, writer: CorpusWriter, size: int, stories: range, named: bool
) -> Row:
    """Redeliver archived stories with new text."""
    runs = []
    for number in stories:
        writer.write(workspace.inbox, [number], revision=2)
        runs.append(_expect(_ingest(workspace, writer, number, named), updated=1))
    scenario = "correction of one article, " + ("named" if named else "scan")
    return _one_article_target(_median_row(scenario, size, runs))


def _rss_target(row: Row, smallest_rss: float | None) -> Row:
    """A new story costs the same memory in any archive: within 10 % of the smallest's."""
    if smallest_rss is None or row.peak_rss_mb is None or row.met is None:
        return row
    limit = smallest_rss * ONE_ARTICLE_RSS_GROWTH
    return replace(
        row,
        target=f"{row.target}, RSS < {limit:.0f} MB",
        met=row.met and row.peak_rss_mb < limit,
    )


def regenerate(workspace: Workspace, size: int, repeat: int) -> Row:
    runs = [_expect(workspace.feeder("regen"), pages_written=0) for _ in range(repeat)]
    row = _median_row("regen: feeds + index", size, runs)
    target = f"< {REGEN_WALL_SECONDS:g} s"
    return replace(row, target=target, met=row.wall_seconds < REGEN_WALL_SECONDS)


def regenerate_all_pages(workspace: Workspace, size: int) -> Row:
    run = _expect(workspace.feeder("regen", "--all-pages"), pages_written=0)
    return _median_row("regen --all-pages", size, [run])


def _ingest(workspace: Workspace, writer: CorpusWriter, story: int, named: bool) -> Measurement:
    """`feeder ingest`, scanning the inbox, or `feeder ingest FILE` for the story's file."""
    if named:
        return workspace.feeder("ingest", str(workspace.inbox / writer.name(story)))
    return workspace.feeder("ingest")


def _one_article_target(row: Row) -> Row:
    rewritten = row.bytes_rewritten or 0
    return replace(
        row,
        target=f"< {ONE_ARTICLE_WORK_SECONDS * 1000:g} ms work, < {ONE_ARTICLE_WALL_SECONDS:g} s, "
        f"< {ONE_ARTICLE_REWRITTEN_BYTES / 1e6:g} MB",
        met=row.work_seconds < ONE_ARTICLE_WORK_SECONDS
        and row.wall_seconds < ONE_ARTICLE_WALL_SECONDS
        and rewritten < ONE_ARTICLE_REWRITTEN_BYTES,
    )


def _median_row(scenario: str, size: int, runs: list[Measurement]) -> Row:
    return Row(
        scenario,
        size,
        statistics.median(run.wall_seconds for run in runs),
        statistics.median(run.work_seconds for run in runs),
        max(run.peak_rss_mb for run in runs),
        bytes_rewritten=int(statistics.median(run.bytes_rewritten for run in runs)),
    )


def _expect(run: Measurement, **counts: int) -> Measurement:
    """A run that did other work than the scenario means would measure the wrong thing."""
    actual = {name: run.counts.get(name) for name in counts}
    if actual != counts:
        raise CommandFailed(f"expected {counts}, the run reported {run.counts}")
    return run
