"""The raw limit: what any ingest of these files pays at the least.

Read each file, split it into the fields feeder stores, hash it, and insert
every row in one SQLite transaction: no validation, dedupe, corrections,
pages or feeds. A bulk ingest is judged by its share of this speed, measured
in the same run on the same files, so the machine's speed cancels out.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path

END_MARK = "--0--"


def raw_files_per_second(paths: Sequence[Path], database: Path) -> float:
    connection = sqlite3.connect(database, isolation_level=None)
    try:
        connection.execute(
            "CREATE TABLE stories (name TEXT PRIMARY KEY, title TEXT, dateline TEXT, "
            "body TEXT, category TEXT, sha256 TEXT)"
        )
        started = time.perf_counter()
        connection.execute("BEGIN")
        connection.executemany(
            "INSERT INTO stories VALUES (?, ?, ?, ?, ?, ?)", (_fields(path) for path in paths)
        )
        connection.execute("COMMIT")
        return len(paths) / (time.perf_counter() - started)
    finally:
        connection.close()


def _fields(path: Path) -> tuple[str, ...]:
    data = path.read_bytes()
    lines = data.decode().split("\n")
    end = next(index for index, line in enumerate(lines) if line.endswith(END_MARK))
    body = "\n".join(lines[2 : end + 1])
    return (path.name, lines[0], lines[1], body, lines[end + 1], hashlib.sha256(data).hexdigest())
