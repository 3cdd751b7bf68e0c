"""`python -m bench.archive`: what the whole archive in feed form costs.

In a fresh installation of SIZE stories from the benchmark corpus (100 a day
from 1 January 2000, so 100,000 stories fill 33 months), measured as an
operator runs the commands (`bench.workspace`):

- the bulk ingest that builds it: every feed, month document and page;
- regenerating every feed and month document in every format after the
  `feeds` folder was deleted (`feeder regen`, which rebuilds missing month
  documents), and `feeder regen --all-pages`, which renders every month
  document and article page again and writes only those whose bytes changed;
- one new story, named (`feeder ingest FILE`), newer than every archived one.

Each row gives wall and work time (feeder's own record of the run) and the
files that changed under the output folder, counted by inode, size and mtime
(an atomic replace always gives a new inode), in all and under `feeds/`.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import click

from bench.corpus import CorpusWriter
from bench.table import describe_machine
from bench.workspace import Measurement, Workspace

FileState = tuple[int, int, int]


@dataclass(frozen=True)
class ArchiveRow:
    scenario: str
    size: int
    wall_seconds: float
    work_seconds: float
    files_changed: int
    feeds_changed: int
    peak_rss_mb: float


def output_state(output: Path) -> dict[str, FileState]:
    state = {}
    for folder, _folders, names in os.walk(output):
        for name in names:
            path = os.path.join(folder, name)
            status = os.stat(path)
            state[os.path.relpath(path, output)] = (
                status.st_ino,
                status.st_size,
                status.st_mtime_ns,
            )
    return state


def changed(before: dict[str, FileState], after: dict[str, FileState]) -> list[str]:
    return [name for name in before.keys() | after.keys() if before.get(name) != after.get(name)]


def run(workspace: Workspace, scenario: str, size: int, *arguments: str) -> ArchiveRow:
    output = workspace.root / "public"
    before = output_state(output)
    result: Measurement = workspace.feeder(*arguments)
    names = changed(before, output_state(output))
    return ArchiveRow(
        scenario,
        size,
        result.wall_seconds,
        result.work_seconds,
        len(names),
        sum(name.startswith("feeds" + os.sep) for name in names),
        result.peak_rss_mb,
    )


def median_row(rows: list[ArchiveRow]) -> ArchiveRow:
    first = rows[0]
    return ArchiveRow(
        first.scenario,
        first.size,
        statistics.median(row.wall_seconds for row in rows),
        statistics.median(row.work_seconds for row in rows),
        max(row.files_changed for row in rows),
        max(row.feeds_changed for row in rows),
        max(row.peak_rss_mb for row in rows),
    )


def benchmark(root: Path, size: int, repeat: int) -> list[ArchiveRow]:
    writer = CorpusWriter()
    corpus = root / "corpus"
    writer.write(corpus, range(size + repeat))
    workspace = Workspace.create(
        root / f"archive-{size}", corpus, [writer.name(number) for number in range(size)]
    )
    rows = [run(workspace, "bulk ingest", size, "ingest")]
    shutil.rmtree(workspace.root / "public" / "feeds")
    rows.append(run(workspace, "regen after deleting feeds/", size, "regen"))
    rows.append(run(workspace, "regen --all-pages", size, "regen", "--all-pages"))
    new_stories = []
    for number in range(size, size + repeat):
        os.link(corpus / writer.name(number), workspace.inbox / writer.name(number))
        new_stories.append(
            run(
                workspace,
                "one new story, named",
                size,
                "ingest",
                str(workspace.inbox / writer.name(number)),
            )
        )
    rows.append(median_row(new_stories))
    return rows


def format_rows(rows: list[ArchiveRow]) -> str:
    lines = [
        "| scenario | N | wall s | work s | files changed | of them under feeds/ | peak RSS MB |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {row.scenario} | {row.size:,} | {row.wall_seconds:.2f} | {row.work_seconds:.3f} "
        f"| {row.files_changed:,} | {row.feeds_changed:,} | {row.peak_rss_mb:.0f} |"
        for row in rows
    ]
    return "\n".join(lines)


@click.command()
@click.option("--size", default=100_000, show_default=True, type=click.IntRange(min=100))
@click.option(
    "--repeat",
    default=3,
    show_default=True,
    type=click.IntRange(min=1),
    help="New stories measured; the table shows the median.",
)
@click.option(
    "--workdir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path(tempfile.gettempdir()),
    show_default=True,
    help="Where the corpus and the installation are written (about 3 GB at 100,000).",
)
@click.option("--keep", is_flag=True, help="Keep the corpus and the installation afterwards.")
def main(size: int, repeat: int, workdir: Path, keep: bool) -> None:
    """Benchmark the archive feeds and JSON Feed at one archive size."""
    root = Path(tempfile.mkdtemp(prefix="feeder-archive-bench-", dir=workdir))
    started = time.monotonic()
    try:
        rows = benchmark(root, size, repeat)
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
    click.echo(format_rows(rows))
    click.echo()
    click.echo(describe_machine())
    click.echo(f"Command: python -m bench.archive {' '.join(sys.argv[1:])}".rstrip())
    click.echo(f"Took {time.monotonic() - started:.0f} s.")


if __name__ == "__main__":
    main()
