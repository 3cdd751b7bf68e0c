"""The benchmark's results as a Markdown table, ready to paste into docs/benchmarks.md."""

from __future__ import annotations

import os
import platform
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from bench.scenarios import Row

HEADER = (
    "scenario",
    "N",
    "wall s",
    "work s",
    "files/s",
    "peak RSS MB",
    "MB rewritten",
    "raw files/s",
    "of raw",
    "target",
    "met",
)


def format_table(rows: Sequence[Row]) -> str:
    lines = [_line(HEADER), _line(["---"] * len(HEADER))]
    lines += [_line(_cells(row)) for row in rows]
    return "\n".join(lines)


def describe_machine() -> str:
    """The facts that decide the numbers: cores, memory, CPU model, Python and SQLite."""
    cpu = _first_value(Path("/proc/cpuinfo"), "model name") or platform.processor()
    memory_kib = int((_first_value(Path("/proc/meminfo"), "MemTotal") or "0 kB").split()[0])
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory_kib / 1024**2:.1f} GiB RAM, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {platform.system()}"
    )


def _cells(row: Row) -> list[str]:
    ratio = (
        f"{row.files_per_second / row.raw_files_per_second:.0%}"
        if row.files_per_second and row.raw_files_per_second
        else ""
    )
    return [
        row.scenario,
        f"{row.size:,}",
        f"{row.wall_seconds:.3f}",
        f"{row.work_seconds:.3f}",
        f"{row.files_per_second:,.0f}" if row.files_per_second else "",
        f"{row.peak_rss_mb:.0f}" if row.peak_rss_mb is not None else "",
        f"{row.bytes_rewritten / 1e6:.2f}" if row.bytes_rewritten is not None else "",
        f"{row.raw_files_per_second:,.0f}" if row.raw_files_per_second else "",
        ratio,
        row.target,
        {True: "yes", False: "NO", None: ""}[row.met],
    ]


def _line(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _first_value(path: Path, key: str) -> str | None:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return None
    return next(
        (line.split(":", 1)[1].strip() for line in lines if line.split(":")[0].strip() == key),
        None,
    )
