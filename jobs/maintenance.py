"""On `maintenance_cron` (nightly by default): full regeneration and a database check-up."""

from __future__ import annotations

from feeder import pipeline
from feeder.config import Config


def run(config: Config, lock_timeout: float) -> None:
    pipeline.maintain(config, lock_timeout=lock_timeout)
