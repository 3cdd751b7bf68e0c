"""The record of each job run, and of the files its publish could not write, for `feeder status`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from feeder.store.database import Database, from_utc_text, utc_text


@dataclass(frozen=True)
class Run:
    """One run of a job: when, how long, what it counted, and its error if it failed."""

    job: str
    started: datetime
    duration: float
    counts: dict[str, int]
    error: str | None


class RunRecords(Database):
    def record_run(
        self,
        job: str,
        started: datetime,
        duration: float,
        counts: Mapping[str, int],
        error: str | None,
    ) -> None:
        with self.transaction():
            self.connection.execute(
                "INSERT INTO runs (job, started, duration, counts, error) VALUES (?, ?, ?, ?, ?)",
                [
                    job,
                    utc_text(started),
                    round(duration, 3),
                    json.dumps(counts, ensure_ascii=False),
                    error,
                ],
            )

    def record_unwritten_files(self, failures: Mapping[str, str], at: datetime) -> None:
        """What the publish that just ended could not write (path → why), in place of
        the last one's: a failed file is retried by every run until it is written."""
        self.connection.execute("DELETE FROM unwritten_files")
        self.connection.executemany(
            "INSERT INTO unwritten_files (path, message, at) VALUES (?, ?, ?)",
            [(path, message, utc_text(at)) for path, message in failures.items()],
        )

    def unwritten_files(self) -> list[tuple[str, str, datetime]]:
        """(path under output_dir, why, when), by path."""
        rows = self.connection.execute(
            "SELECT path, message, at FROM unwritten_files ORDER BY path"
        ).fetchall()
        return [(path, message, from_utc_text(at)) for path, message, at in rows]

    def last_run(self, job: str) -> Run | None:
        return self._last("WHERE job = ?", [job])

    def last_error(self) -> Run | None:
        return self._last("WHERE error IS NOT NULL", [])

    def _last(self, where: str, parameters: list[Any]) -> Run | None:
        row = self.connection.execute(
            f"SELECT job, started, duration, counts, error FROM runs {where} ORDER BY id DESC LIMIT 1",
            parameters,
        ).fetchone()
        if row is None:
            return None
        job, started, duration, counts, error = row
        return Run(job, from_utc_text(started), duration, json.loads(counts), error)
