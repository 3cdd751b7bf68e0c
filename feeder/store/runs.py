"""The record of each job run, for `feeder status`."""

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
