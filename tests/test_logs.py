"""Log lines as an operator reads them, in a terminal or through journald."""

from __future__ import annotations

import logging

import pytest

from feeder.logs import setup_logging


@pytest.mark.parametrize(
    ("log_format", "level", "expected"),
    [
        ("journald", logging.WARNING, "<4>feeder.ingest: x.txt: rejected"),
        ("journald", logging.INFO, "<6>feeder.ingest: x.txt: rejected"),
        ("text", logging.WARNING, "WARNING feeder.ingest: x.txt: rejected"),
    ],
)
def test_one_line_per_event_in_the_chosen_format(
    capsys, log_format: str, level: int, expected: str
) -> None:
    setup_logging("info", log_format)
    logging.getLogger("feeder.ingest").log(level, "%s: rejected", "x.txt")
    (line,) = capsys.readouterr().err.splitlines()
    assert line.endswith(expected) if log_format == "text" else line == expected


def test_scheduler_chatter_is_hidden_unless_debugging(capsys) -> None:
    setup_logging("info")
    logging.getLogger("apscheduler.executors.default").info("Job executed successfully")
    assert capsys.readouterr().err == ""
    setup_logging("debug")
    logging.getLogger("apscheduler.executors.default").info("Job executed successfully")
    assert "Job executed successfully" in capsys.readouterr().err
