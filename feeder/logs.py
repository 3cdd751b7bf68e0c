"""Logging set-up: one line per event, every line naming the file it is about."""

from __future__ import annotations

import logging
import sys

FORMATS = {
    # For a terminal or a plain log file.
    "text": "%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    # journald stamps time and process itself; the <N> prefix carries the priority.
    "journald": "%(journal_priority)s%(name)s: %(message)s",
}

_JOURNAL_PRIORITIES = {
    logging.DEBUG: "<7>",
    logging.INFO: "<6>",
    logging.WARNING: "<4>",
    logging.ERROR: "<3>",
    logging.CRITICAL: "<2>",
}


class _JournalPriority(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.journal_priority = _JOURNAL_PRIORITIES.get(record.levelno, "<6>")
        return True


def setup_logging(level: str = "INFO", log_format: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMATS[log_format]))
    handler.addFilter(_JournalPriority())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # APScheduler logs every job execution at INFO; feeder logs its own line per run.
    debugging = root.level <= logging.DEBUG
    logging.getLogger("apscheduler").setLevel(logging.DEBUG if debugging else logging.WARNING)
