"""The `feeder` command as an operator uses it: exit codes, messages, help."""

from __future__ import annotations

import os
import pty
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from feeder.cli import main
from feeder.errors import CONFIG_EXIT_STATUS
from tests.commands import feeder_cli, feeder_command
from tests.conftest import ROOT, SEED, wire_text, write_config


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    write_config(tmp_path)
    return tmp_path


def test_feeder_help_lists_every_command() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    listed = result.output.partition("Commands:")[2]
    assert [line.split()[0] for line in listed.strip().splitlines()] == sorted(main.commands)


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_command_has_help_naming_its_config_option(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"], prog_name="feeder")
    assert result.exit_code == 0
    assert result.output.startswith(f"Usage: feeder {command} [OPTIONS]")
    assert "--config FILE" in result.output


def test_ingest_reports_counts_and_where_the_feeds_are(workdir: Path) -> None:
    (workdir / "inbox" / SEED.name).write_bytes(SEED.read_bytes())
    (workdir / "inbox" / "broken.txt").write_text("только заголовок")
    result = feeder_cli(workdir / "config.toml", "ingest")
    assert result.exit_code == 0
    assert "1 new, 0 updated, 0 duplicate, 1 rejected" in result.output
    assert (
        "Subscribe to all news: http://feeds.example.org/news/feeds/all.rss, "
        "http://feeds.example.org/news/feeds/all.atom"
    ) in result.output
    assert f"(files in {workdir / 'public' / 'feeds'})" in result.output
    assert "feeder status" in result.output  # points at where the reasons are


def test_ingest_of_named_files_looks_at_those_and_nothing_else(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = workdir / "inbox"
    (inbox / "001_aaaaaaaaaaaaaaaa.txt").write_text(wire_text(title="Названная"))
    (inbox / "002_bbbbbbbbbbbbbbbb.txt").write_text(wire_text(title="Не названная"))
    result = feeder_cli(workdir / "config.toml", "ingest", str(inbox / "001_aaaaaaaaaaaaaaaa.txt"))
    assert result.exit_code == 0
    assert "1 new, 0 updated, 0 duplicate, 0 rejected, 0 skipped, 0 unchanged" in result.output
    all_news = (workdir / "public" / "feeds" / "all.atom").read_text()
    assert "Названная" in all_news and "Не названная" not in all_news
    # A relative path works from inside the inbox, as a delivery hook may run there.
    monkeypatch.chdir(inbox)
    assert (
        "1 new" in feeder_cli(workdir / "config.toml", "ingest", "002_bbbbbbbbbbbbbbbb.txt").output
    )
    assert "Не названная" in (workdir / "public" / "feeds" / "all.atom").read_text()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("../elsewhere.txt", "is not in the inbox"),
        ("missing.txt", "no such file"),
        ("notes.md", "is not an article file: articles are named *.txt and not hidden"),
        (".partial.txt", "is not an article file"),
    ],
)
def test_ingest_refuses_a_named_file_it_would_not_read(
    workdir: Path, name: str, message: str
) -> None:
    for existing in ("elsewhere.txt", "inbox/notes.md", "inbox/.partial.txt"):
        (workdir / existing).write_text(wire_text())
    result = feeder_cli(workdir / "config.toml", "ingest", str(workdir / "inbox" / name))
    assert result.exit_code == 1
    assert message in result.output


def test_status_lists_categories_runs_and_rejects_with_reasons(workdir: Path) -> None:
    (workdir / "inbox" / SEED.name).write_bytes(SEED.read_bytes())
    (workdir / "inbox" / "no-date.txt").write_text(wire_text(date="вчера"))
    feeder_cli(workdir / "config.toml", "ingest")
    result = feeder_cli(workdir / "config.toml", "status")
    assert result.exit_code == 0
    assert f"Database {workdir / 'var' / 'feeder.db'}: 1 article\n" in result.output
    assert re.search(r"politika +1 article, newest .+ Политика", result.output)
    assert f"Inbox {workdir / 'inbox'}\n" in result.output
    assert "Published at http://feeds.example.org/news/ (base_url)" in result.output
    assert "Served on http://127.0.0.1:8080/" in result.output
    assert "Last ingest:" in result.output and "1 new" in result.output
    assert "Rejected files: 1" in result.output
    assert (
        "no-date.txt: [no-dateline] the dateline has no date in the form DD.MM.YY" in result.output
    )


def test_regen_rebuilds_and_rejects_an_unknown_category(workdir: Path) -> None:
    (workdir / "inbox" / SEED.name).write_bytes(SEED.read_bytes())
    feeder_cli(workdir / "config.toml", "ingest")
    (workdir / "public" / "feeds" / "politika.rss").unlink()
    assert feeder_cli(workdir / "config.toml", "regen", "--category", "politika").exit_code == 0
    assert (workdir / "public" / "feeds" / "politika.rss").exists()
    result = feeder_cli(workdir / "config.toml", "regen", "--category", "sport")
    assert result.exit_code == 1
    assert (
        "no category with slug or name 'sport'; known: all (all news), politika (Политика)"
        in result.output
    )
    (workdir / "public" / "feeds" / "politika.rss").unlink()
    assert feeder_cli(workdir / "config.toml", "regen", "--category", "политика").exit_code == 0
    assert (workdir / "public" / "feeds" / "politika.rss").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("max_items", "0"), "key 'max_items' must be greater than 0"),
        (("max_items", '"many"'), "key 'max_items' must be a whole number, not 'many'"),
        (("base_url", '"localhost"'), "key 'base_url' must be an absolute http(s) URL"),
        (("timezone", '"Mars/Olympus"'), "key 'timezone' names no known time zone"),
        (("id_prefix", '"http://example.org/"'), "key 'id_prefix' must be a tag: URI"),
        (("site_title", None), "key 'site_title' is missing"),
        (
            ("schedule", "{ ingest_interval = -1 }"),
            "key 'schedule.ingest_interval' must be greater than 0",
        ),
        (("schedule", '{ watch = "yes" }'), "key 'schedule.watch' must be true or false"),
        (
            ("max_item", "20"),
            "key 'max_item' is not a setting feeder knows; did you mean 'max_items'?",
        ),
        (
            ("schedule", "{ ingest_intreval = 10 }"),
            "key 'schedule.ingest_intreval' is not a setting feeder knows; "
            "did you mean 'schedule.ingest_interval'?",
        ),
        (("colour", '"blue"'), "key 'colour' is not a setting feeder knows; remove it"),
        (("server", '{ access_log = "off" }'), "key 'server.access_log' must be true or false"),
        (
            ("category_slugs", '{ "Политика" = "../../../escaped/pwn" }'),
            """key 'category_slugs."Политика"' must be one path segment""",
        ),
        (
            ("category_slugs", '{ "Политика" = "all" }'),
            """key 'category_slugs."Политика"' is 'all', the all-news feed's slug""",
        ),
        (
            ("category_slugs", '{ "Политика" = "p", "Спорт" = "p" }'),
            "key 'category_slugs.\"Спорт\"' is 'p', already the slug of \"Политика\"",
        ),
        (
            ("category_slugs", '{ "В мире" = "." }'),
            """key 'category_slugs."В мире"' must be one path segment""",
        ),
        (
            ("category_slugs", '{ "В мире" = "World" }'),
            """key 'category_slugs."В мире"' must be one path segment""",
        ),
        (
            ("category_slugs", '{ "В мире" = "%s" }' % ("w" * 121)),
            """key 'category_slugs."В мире"' must be one path segment of lowercase Latin """
            "letters, digits, '-' and '_', at most 120 of them",
        ),
    ],
)
def test_a_bad_config_names_the_key_and_the_file(workdir: Path, change, message: str) -> None:
    key, value = change
    config = workdir / "config.toml"
    lines = [line for line in config.read_text().splitlines() if not line.startswith(f"{key} =")]
    if value is not None:
        lines.append(f"{key} = {value}")
    (workdir / "config.toml").write_text("\n".join(lines))
    result = feeder_cli(workdir / "config.toml", "ingest")
    assert result.exit_code == CONFIG_EXIT_STATUS
    assert f"{workdir / 'config.toml'}: {message}" in result.output
    assert "Traceback" not in result.output


def test_the_daemon_refuses_a_bad_maintenance_cron_line(workdir: Path) -> None:
    """Only `feeder run` schedules maintenance, so only it checks the line."""
    write_config(workdir, schedule={"maintenance_cron": "nightly"})
    result = feeder_cli(workdir / "config.toml", "run")
    assert result.exit_code == CONFIG_EXIT_STATUS
    assert (
        f"{workdir / 'config.toml'}: key 'schedule.maintenance_cron' is not a crontab"
        in result.output
    )


def test_a_missing_config_says_what_to_do(tmp_path: Path) -> None:
    result = feeder_cli(tmp_path / "nope.toml", "status")
    assert result.exit_code == CONFIG_EXIT_STATUS
    assert "config file not found; pass --config PATH" in result.output


def test_output_piped_elsewhere_gets_the_summary_without_a_progress_bar(workdir: Path) -> None:
    for number in range(250):
        (workdir / "inbox" / f"{number:03d}_{number:016x}.txt").write_text(
            wire_text(title=f"Новость {number}")
        )
    result = subprocess.run(
        feeder_command(workdir / "config.toml", "ingest"),
        capture_output=True,
        text=True,
        check=True,
    )
    summary = result.stdout.splitlines()
    assert len(summary) == 3, result.stdout  # no bar, nor its label, between the lines
    assert summary[0].startswith(f"Ingested {workdir / 'inbox'}: 250 new")


def test_the_installed_console_script_runs_from_the_repository_defaults(tmp_path: Path) -> None:
    """The README's first command: the default config.toml ingests seeds/."""
    config = (ROOT / "config.toml").read_text()
    config = config.replace('inbox = "seeds"', f'inbox = "{ROOT / "seeds"}"')
    (tmp_path / "config.toml").write_text(config)
    result = subprocess.run(
        [sys.executable, "-m", "feeder", "ingest"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "1 new" in result.stdout
    assert "000_dac83acdb151354f.txt: new story in politika" in result.stderr
    assert (tmp_path / "var" / "public" / "feeds" / "politika.atom").exists()


def test_a_terminal_gets_a_progress_bar_for_a_large_inbox(workdir: Path) -> None:
    for number in range(250):
        (workdir / "inbox" / f"{number:03d}_{number:016x}.txt").write_text(
            wire_text(title=f"Новость {number}")
        )
    primary, secondary = pty.openpty()
    with subprocess.Popen(
        [*feeder_command(workdir / "config.toml", "ingest"), "--log-level", "error"],
        stdout=secondary,
        stderr=subprocess.DEVNULL,
    ) as process:
        os.close(secondary)
        output = b""
        while chunk := _read_pty(primary):
            output += chunk
        assert process.wait(timeout=60) == 0
    os.close(primary)
    assert b"Ingesting" in output and b"100%" in output


def _read_pty(descriptor: int) -> bytes:
    try:
        return os.read(descriptor, 65536)
    except OSError:  # EIO: the child closed the terminal
        return b""


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_serve_answers_until_a_signal_then_exits_cleanly(
    workdir: Path, stop_signal: signal.Signals
) -> None:
    (workdir / "inbox" / SEED.name).write_bytes(SEED.read_bytes())
    feeder_cli(workdir / "config.toml", "ingest")
    with (workdir / "config.toml").open("a") as config:
        config.write("[server]\nport = 0\n")
    with subprocess.Popen(
        feeder_command(workdir / "config.toml", "serve"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            first_line = process.stdout.readline()
            url = first_line.split(" at ")[1].split()[0]
            with urllib.request.urlopen(url + "feeds/politika.rss", timeout=10) as response:
                assert "Алиев выразил соболезнования" in response.read().decode()
        finally:
            process.send_signal(stop_signal)
        stdout, stderr = process.communicate(timeout=30)
    assert first_line.startswith(f"Serving {workdir / 'public'} at http://127.0.0.1:")
    assert process.returncode == 0, stderr
    assert stdout == f"Stopped by {stop_signal.name}.\n"
    assert '"GET /feeds/politika.rss HTTP/1.1" 200' in stderr


def test_serve_on_a_taken_port_says_so(workdir: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with (workdir / "config.toml").open("a") as config:
            config.write(f"[server]\nport = {port}\n")
        result = feeder_cli(workdir / "config.toml", "serve")
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in result.output
    assert f"fix [server] host and port in {workdir / 'config.toml'}" in result.output


def test_options_may_come_before_the_subcommand(workdir: Path) -> None:
    config = str(workdir / "config.toml")
    result = CliRunner().invoke(main, ["--config", config, "--log-level", "error", "status"])
    assert result.exit_code == 0, result.output
    assert f"Database {workdir / 'var' / 'feeder.db'}" in result.output


def test_the_option_after_the_subcommand_wins(workdir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "--config",
            str(tmp_path / "nope.toml"),
            "status",
            "--config",
            str(workdir / "config.toml"),
        ],
    )
    assert result.exit_code == 0, result.output


def test_feeder_config_in_the_environment_names_the_config(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(workdir.parent)  # no config.toml here
    monkeypatch.setenv("FEEDER_CONFIG", str(workdir / "config.toml"))
    result = CliRunner().invoke(main, ["status"])
    assert result.exit_code == 0, result.output
    assert f"Database {workdir / 'var' / 'feeder.db'}" in result.output
    monkeypatch.setenv("FEEDER_CONFIG", str(workdir / "other.toml"))
    result = CliRunner().invoke(main, ["status"])
    assert result.exit_code == CONFIG_EXIT_STATUS
    assert f"{workdir / 'other.toml'}: config file not found" in result.output


def test_a_run_that_finds_nothing_new_is_logged_only_when_debugging(workdir: Path) -> None:
    """The daemon rescans every minute: an idle rescan is no event for the log."""
    (workdir / "inbox" / SEED.name).write_bytes(SEED.read_bytes())
    config = workdir / "config.toml"
    assert "ingest done in" in feeder_cli(config, "ingest", log_level="info").stderr
    assert "ingest done in" not in feeder_cli(config, "ingest", log_level="info").stderr
    assert "ingest done in" in feeder_cli(config, "ingest", log_level="debug").stderr


def test_status_says_when_the_inbox_is_missing(workdir: Path) -> None:
    (workdir / "inbox").rmdir()
    result = feeder_cli(workdir / "config.toml", "status")
    assert result.exit_code == 0
    assert f"Inbox {workdir / 'inbox'}: MISSING: the inbox {workdir / 'inbox'} does not exist" in (
        result.output
    )


def test_status_shows_plurals_as_english_has_them(workdir: Path) -> None:
    for number in (1, 2):
        (workdir / "inbox" / f"{number:03d}_{number:016x}.txt").write_text(
            wire_text(title=f"Новость {number}", date=f"0{number}.09.23")
        )
    feeder_cli(workdir / "config.toml", "ingest")
    assert ": 2 articles\n" in feeder_cli(workdir / "config.toml", "status").output


def test_status_escapes_control_characters_from_file_names(workdir: Path) -> None:
    """A file name with ANSI escapes must not clear the operator's terminal."""
    (workdir / "inbox" / "\x1b[2J\x1b[Hevil\nline.txt").write_text("только заголовок")
    feeder_cli(workdir / "config.toml", "ingest")
    output = feeder_cli(workdir / "config.toml", "status").output
    assert "\x1b" not in output
    assert "  \\x1b[2J\\x1b[Hevil\\nline.txt: [" in output
