"""Commands refuse at start-up what cannot work: one line per problem, exit 1, no traceback."""

from __future__ import annotations

import signal
import socket
import subprocess
from pathlib import Path

import pytest

from feeder.startup import Needs, StartupError, base_url_port_warning, check_startup
from tests.commands import feeder_cli, feeder_command
from tests.conftest import config_for, wire_text, write_config
from tests.mounts import needs_mounts, read_only, run_mounted

COMMANDS_NEEDING_THE_INBOX = ["ingest", "run"]
COMMANDS_WRITING_OUTPUT = ["ingest", "regen", "run", "serve"]


def _only_error_lines(output: str) -> list[str]:
    lines = output.splitlines()
    assert all(line.startswith("Error: ") for line in lines), output
    return lines


@pytest.mark.parametrize("command", COMMANDS_NEEDING_THE_INBOX)
@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda inbox: inbox.rmdir(), "does not exist; create it or fix 'inbox' in"),
        (lambda inbox: (inbox.rmdir(), inbox.write_text("")), "is not a folder"),
    ],
    ids=["missing", "a-file"],
)
def test_a_command_that_reads_the_inbox_refuses_a_missing_one(
    tmp_path: Path, command: str, make, problem: str
) -> None:
    config = write_config(tmp_path, server={"port": 0})
    make(tmp_path / "inbox")
    result = feeder_cli(config, command)
    assert result.exit_code == 1
    (line,) = _only_error_lines(result.output)
    assert f"the inbox {tmp_path / 'inbox'} {problem}" in line
    assert str(config) in line


def test_regen_and_serve_do_not_need_the_inbox(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    (tmp_path / "inbox").rmdir()
    assert feeder_cli(config, "regen").exit_code == 0


@pytest.mark.parametrize("command", COMMANDS_WRITING_OUTPUT)
def test_an_output_folder_that_is_a_file_is_refused(tmp_path: Path, command: str) -> None:
    config = write_config(tmp_path, server={"port": 0})
    (tmp_path / "public").write_text("not a folder")
    result = feeder_cli(config, command)
    assert result.exit_code == 1
    (line,) = _only_error_lines(result.output)
    assert f"{tmp_path / 'public'} is not a folder; remove the file or fix 'output_dir'" in line


def test_every_problem_is_its_own_line(tmp_path: Path) -> None:
    config = write_config(tmp_path, database="db-file/feeder.db")
    (tmp_path / "inbox").rmdir()
    (tmp_path / "db-file").write_text("")
    (tmp_path / "public").write_text("")
    result = feeder_cli(config, "ingest")
    inbox, database, output = _only_error_lines(result.output)
    assert "the inbox" in inbox
    assert f"{tmp_path / 'db-file'} is not a folder" in database and "'database'" in database
    assert f"{tmp_path / 'public'} is not a folder" in output


def test_missing_folders_feeder_writes_are_created(tmp_path: Path) -> None:
    config = config_for(tmp_path, database="deep/var/feeder.db", output_dir="deep/public")
    check_startup(config, Needs(inbox=True, database=True, output=True))
    assert (tmp_path / "deep" / "var").is_dir() and (tmp_path / "deep" / "public").is_dir()


def test_the_check_raises_nothing_when_all_is_well(tmp_path: Path) -> None:
    check_startup(config_for(tmp_path), Needs(inbox=True, database=True, output=True))
    with pytest.raises(StartupError):
        check_startup(config_for(tmp_path, inbox="nowhere"), Needs(inbox=True))


@pytest.mark.parametrize(
    ("base_url", "port", "warned"),
    [
        ("http://localhost:8080/", 8080, False),
        ("http://localhost:8080/", 8081, True),
        ("http://127.0.0.1/", 80, False),
        ("http://127.0.0.1/", 8080, True),
        ("https://localhost/news/", 443, False),
        ("http://[::1]:9000/", 9001, True),
        ("http://feeds.example.org/", 8081, False),  # a proxy in front: any port is right
        ("http://localhost:8080/", 0, False),  # any free port: the log says which
    ],
)
def test_base_url_on_this_machine_must_name_the_served_port(
    tmp_path: Path, base_url: str, port: int, warned: bool
) -> None:
    config = config_for(tmp_path, base_url=base_url)
    warning = base_url_port_warning(config, port)
    assert bool(warning) == warned
    if warned:
        assert f"feeder serves on port {port}" in warning and "set base_url to" in warning


def test_serve_warns_when_only_the_port_changed(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    config = write_config(tmp_path, base_url="http://localhost:8080/", server={"port": port})
    with subprocess.Popen(
        feeder_command(config, "serve"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        process.stdout.readline()  # listening
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert f"names port 8080, but feeder serves on port {port}" in stderr


# --- read-only mounts: real ones (tests/mounts.py) ----------------------------------------


@needs_mounts
@pytest.mark.parametrize("command", ["ingest", "regen", "run"])
def test_a_read_only_output_folder_is_refused_at_start_up(tmp_path: Path, command: str) -> None:
    config = write_config(tmp_path, server={"port": 0})
    (tmp_path / "public").mkdir()
    result = run_mounted(read_only(tmp_path / "public"), feeder_command(config, command))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"Error: {tmp_path / 'public'} is on a read-only filesystem; "
        f"give the user feeder runs as write access to it, or fix 'output_dir' in {config}"
    )


@needs_mounts
def test_a_missing_output_folder_names_the_folder_that_refused(tmp_path: Path) -> None:
    config = write_config(tmp_path, output_dir="parent/public/site")
    (tmp_path / "parent").mkdir()
    result = run_mounted(read_only(tmp_path / "parent"), feeder_command(config, "regen"))
    assert result.returncode == 1
    assert (
        f"cannot create {tmp_path / 'parent/public/site'}: {tmp_path / 'parent'} is not writable"
        in result.stderr
    )
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["ingest", "regen"])
def test_a_folder_in_the_output_that_links_elsewhere_is_refused(
    tmp_path: Path, command: str
) -> None:
    """Feeder would write every article page through the link, outside output_dir."""
    config = write_config(tmp_path)
    (tmp_path / "inbox" / "001_0000000000000001.txt").write_text(wire_text())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "articles").symlink_to(elsewhere)
    result = feeder_cli(config, command)
    assert result.exit_code == 1
    (line,) = _only_error_lines(result.output)
    assert (
        f"{tmp_path / 'public' / 'articles'} is a symbolic link to the folder {elsewhere}" in line
    )
    assert "replace the link with a real folder" in line
    assert list(elsewhere.iterdir()) == []


def test_a_pinned_slug_that_is_another_category_s_own_is_refused_naming_both(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path)
    (tmp_path / "inbox" / "001_0000000000000001.txt").write_text(wire_text(category="World"))
    assert feeder_cli(config, "ingest").exit_code == 0
    settings = config.read_text()
    config.write_text(settings + '[category_slugs]\n"В мире" = "world"\n')
    result = feeder_cli(config, "ingest")
    assert result.exit_code == 1
    (line,) = _only_error_lines(result.output)
    assert """category_slugs."В мире" is 'world', the slug of the category "World\"""" in line
    # Pinned to its own slug, a category merges with nothing.
    config.write_text(settings + '[category_slugs]\n"World" = "world"\n')
    assert feeder_cli(config, "ingest").exit_code == 0


TOKEN = "123456789:AAHsecretSECRETsecret_-0123456789ab"


@pytest.mark.parametrize(
    ("token", "token_file", "problem"),
    [
        (None, None, "has no bot token: set FEEDER_TELEGRAM_TOKEN or token_file"),
        ("not-a-token " + TOKEN, None, "is not in the form @BotFather gives"),
        (None, "missing.token", "token_file "),
        (None, "bad.token", "is not in the form @BotFather gives"),
    ],
    ids=["none", "malformed-variable", "unreadable-file", "malformed-file"],
)
def test_feeder_run_refuses_telegram_without_a_usable_token_and_never_shows_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    token: str | None,
    token_file: str | None,
    problem: str,
) -> None:
    (tmp_path / "bad.token").write_text(TOKEN + " extra\n")
    telegram = {"channel": "@feeder_news", **({"token_file": token_file} if token_file else {})}
    config = write_config(tmp_path, server={"port": 0}, telegram=telegram)
    if token is None:
        monkeypatch.delenv("FEEDER_TELEGRAM_TOKEN", raising=False)
    else:
        monkeypatch.setenv("FEEDER_TELEGRAM_TOKEN", token)
    result = feeder_cli(config, "run")
    assert result.exit_code == 1
    (line,) = _only_error_lines(result.output)
    assert problem in line
    assert "AAHsecret" not in result.output


def test_ingest_queues_posts_without_needing_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only `feeder run` sends; a manual ingest beside it only queues."""
    monkeypatch.delenv("FEEDER_TELEGRAM_TOKEN", raising=False)
    config = write_config(tmp_path, telegram={"channel": "@feeder_news"})
    (tmp_path / "inbox" / "001_0000000000000001.txt").write_text(wire_text())
    assert feeder_cli(config, "ingest").exit_code == 0
    status = feeder_cli(config, "status").output
    assert "  telegram: 1 pending, 0 failed" in status
