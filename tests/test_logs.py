"""Log lines as an operator reads them, in a terminal, through journald or a log shipper."""

from __future__ import annotations

import json
import logging
import re

import pytest

from feeder.config import Config
from feeder.logs import setup_logging
from feeder.pipeline import ingest_and_publish
from feeder.printable import printable
from tests.conftest import DeliverFn, wire_text


@pytest.mark.parametrize(
    ("log_format", "level", "expected"),
    [
        ("journald", logging.WARNING, "<4>feeder.intake.ingest: x.txt: rejected"),
        ("journald", logging.INFO, "<6>feeder.intake.ingest: x.txt: rejected"),
        ("text", logging.WARNING, "WARNING feeder.intake.ingest: x.txt: rejected"),
    ],
)
def test_one_line_per_event_in_the_chosen_format(
    capsys, log_format: str, level: int, expected: str
) -> None:
    setup_logging("info", log_format)
    logging.getLogger("feeder.intake.ingest").log(level, "%s: rejected", "x.txt")
    (line,) = capsys.readouterr().err.splitlines()
    assert line.endswith(expected) if log_format == "text" else line == expected


def test_text_timestamps_carry_their_zone(capsys) -> None:
    setup_logging("info")
    logging.getLogger("feeder").info("hello")
    line = capsys.readouterr().err
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d INFO ", line), line


@pytest.mark.parametrize("log_format", ["text", "journald", "json"])
def test_a_traceback_stays_in_its_event(capsys, log_format: str) -> None:
    setup_logging("info", log_format)
    try:
        raise ValueError("deep inside")
    except ValueError:
        logging.getLogger("feeder.daemon.scheduler").exception("ingest job failed")
    (line,) = capsys.readouterr().err.splitlines()
    assert "ingest job failed" in line
    assert "Traceback (most recent call last)" in line and "ValueError: deep inside" in line
    if log_format == "journald":
        assert line.startswith("<3>")


@pytest.mark.parametrize("log_format", ["text", "journald", "json"])
def test_a_file_name_cannot_forge_a_line_or_drive_the_terminal(capsys, log_format: str) -> None:
    setup_logging("info", log_format)
    name = "a.txt\n2026-01-01 ERROR feeder: forged\x1b[2J\u202egnp.txt"
    logging.getLogger("feeder.intake.ingest").warning("%s: rejected", name)
    (line,) = capsys.readouterr().err.splitlines()
    assert "\x1b" not in line and "\u202e" not in line
    if log_format == "json":
        line = json.loads(line)["message"]
    assert "a.txt\\n2026-01-01 ERROR feeder: forged\\x1b[2J\\u202egnp.txt: rejected" in line


def test_json_lines_carry_time_level_logger_and_message(capsys) -> None:
    setup_logging("info", "json")
    logging.getLogger("feeder.intake.ingest").warning("%s: rejected", "статья.txt")
    event = json.loads(capsys.readouterr().err)
    assert event["level"] == "WARNING" and event["logger"] == "feeder.intake.ingest"
    assert event["message"] == "статья.txt: rejected"
    assert re.fullmatch(r"\d{4}-.+T.+[+-]\d\d:\d\d", event["time"])


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Политика.txt", "Политика.txt"),
        ("tab\there", "tab\\there"),
        ("bell\x07", "bell\\x07"),
        ("c1\x9b", "c1\\x9b"),
        ("bidi\u2067x", "bidi\\u2067x"),
    ],
)
def test_printable_escapes_controls_only(text: str, shown: str) -> None:
    assert printable(text) == shown


def test_scheduler_chatter_is_hidden_unless_debugging(capsys) -> None:
    setup_logging("info")
    logging.getLogger("apscheduler.executors.default").info("Job executed successfully")
    assert capsys.readouterr().err == ""
    setup_logging("debug")
    logging.getLogger("apscheduler.executors.default").info("Job executed successfully")
    assert "Job executed successfully" in capsys.readouterr().err


def test_a_run_is_logged_with_its_counts_worded_as_the_terminal_shows_them(
    config: Config, deliver: DeliverFn, caplog: pytest.LogCaptureFixture
) -> None:
    deliver("001_aaaaaaaaaaaaaaaa.txt", wire_text())
    with caplog.at_level(logging.INFO, logger="feeder.pipeline"):
        ingest_and_publish(config)
    (line,) = [record.getMessage() for record in caplog.records if "done in" in record.getMessage()]
    assert line.startswith("ingest done in ")
    assert ": 1 new, 0 updated, 0 duplicate, 0 rejected, 0 skipped, 0 unchanged, " in line
