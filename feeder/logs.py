"""Logging set-up: one line per event, every line naming the file it is about.

Every record is one line, a traceback included (its line breaks shown as
`\\n`), and control characters from file names are escaped: log alerting and
`journalctl -p warning` see the whole event, and no file name can forge a line.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime

from feeder.printable import printable

_JOURNAL_PRIORITIES = {
    logging.DEBUG: "<7>",
    logging.INFO: "<6>",
    logging.WARNING: "<4>",
    logging.ERROR: "<3>",
    logging.CRITICAL: "<2>",
}


class OneLineFormatter(logging.Formatter):
    """For a terminal or a plain log file: local time with its UTC offset first."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{self.prefix(record)}{record.name}: {event_text(self, record)}"

    def prefix(self, record: logging.LogRecord) -> str:
        return f"{timestamp(record)} {record.levelname:<7} "


class JournaldFormatter(OneLineFormatter):
    """journald stamps time and process itself; the <N> prefix carries the priority."""

    def prefix(self, record: logging.LogRecord) -> str:
        return _JOURNAL_PRIORITIES.get(record.levelno, "<6>")


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        event = {
            "time": timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": printable(record.getMessage()),
        }
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        return json.dumps(event, ensure_ascii=False)


def timestamp(record: logging.LogRecord) -> str:
    """ISO 8601 in the machine's local time, with its offset, to the millisecond."""
    moment = datetime.fromtimestamp(record.created).astimezone()
    return moment.isoformat(timespec="milliseconds")


def event_text(formatter: logging.Formatter, record: logging.LogRecord) -> str:
    """The message and any traceback, on one line."""
    text = record.getMessage()
    if record.exc_info:
        text += "\n" + formatter.formatException(record.exc_info)
    if record.stack_info:
        text += "\n" + formatter.formatStack(record.stack_info)
    return printable(text)


_FORMATTERS: dict[str, type[logging.Formatter]] = {
    "text": OneLineFormatter,
    "journald": JournaldFormatter,
    "json": JsonFormatter,
}
FORMATS = tuple(_FORMATTERS)


def setup_logging(level: str = "INFO", log_format: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_FORMATTERS[log_format]())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # APScheduler logs every job execution at INFO; feeder logs its own line per run.
    debugging = root.level <= logging.DEBUG
    logging.getLogger("apscheduler").setLevel(logging.DEBUG if debugging else logging.WARNING)
    # httpx logs each request's whole URL at INFO, and a WebSub callback's query may
    # carry the subscriber's own token; feeder logs its requests itself, without it.
    logging.getLogger("httpx").setLevel(logging.WARNING)
