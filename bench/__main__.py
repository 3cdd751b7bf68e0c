"""`python -m bench`: run the scenarios and print the table, the machine and the command."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import click

from bench.scenarios import run_benchmark
from bench.table import describe_machine, format_table
from bench.workspace import benchmark_folder

QUICK_SIZES = (1_000, 10_000)


def _sizes(_context: click.Context, _parameter: click.Parameter, value: str) -> list[int]:
    try:
        sizes = [int(size.replace("_", "")) for size in value.split(",")]
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of numbers") from None
    if min(sizes) < 1:
        raise click.BadParameter("every size must be at least 1")
    return sizes


@click.command()
@click.option(
    "--sizes",
    default="1000,10000,100000",
    show_default=True,
    callback=_sizes,
    help="Archive sizes. Each gets a bulk ingest and new articles; the largest also a "
    "rescan, corrections and regenerations.",
)
@click.option(
    "--quick", is_flag=True, help="Sizes 1,000 and 10,000, one run each: about ten seconds."
)
@click.option(
    "--repeat",
    default=3,
    show_default=True,
    type=click.IntRange(min=1),
    help="Runs of each single-article and regeneration scenario; the table shows the median.",
)
@click.option("--seed", default=2023, show_default=True, help="Seed of the article corpus.")
@click.option(
    "--workdir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path(tempfile.gettempdir()),
    show_default=True,
    help="Where the corpus and archives are written (about 2 GB at 100,000).",
)
@click.option("--keep", is_flag=True, help="Keep the corpus and archives afterwards.")
def main(sizes: list[int], quick: bool, repeat: int, seed: int, workdir: Path, keep: bool) -> None:
    """Benchmark feeder against its targets (docs/benchmarks.md)."""
    if quick:
        sizes, repeat = list(QUICK_SIZES), 1
    started = time.monotonic()
    rows = []
    with benchmark_folder(workdir, "feeder-bench-", keep) as root:
        for row in run_benchmark(root, sizes, repeat, seed):
            click.echo(f"{row.scenario}, {row.size:,}: {row.wall_seconds:.3f} s", err=True)
            rows.append(row)
    click.echo(format_table(rows))
    click.echo()
    click.echo(f"Machine: {describe_machine()}")
    click.echo(f"Command: python -m bench {' '.join(sys.argv[1:])}".rstrip())
    click.echo(f"Took {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
