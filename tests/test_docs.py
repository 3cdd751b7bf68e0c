"""The docs match the program: the README lists every command and option, every
shell block in docs/ is run by a test or marked an example, and the systemd unit
in docs/daemon.md opens up the paths its config names."""

from __future__ import annotations

import ast
import configparser
import re
import tomllib
from pathlib import Path

import click
import pytest

from feeder.cli import main
from feeder.errors import CONFIG_EXIT_STATUS
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
COMMANDS = sorted(main.commands.items())


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[name for name, _ in COMMANDS])
def test_every_command_and_option_is_in_the_readme(name: str, command: click.Command) -> None:
    assert f"`feeder {name}" in README
    for parameter in command.params:
        for option in parameter.opts:
            if option.startswith("--"):
                assert re.search(rf"(?<![\w-]){option}(?![\w-])", README), option


# --- commands in docs/: each run by a test, or marked as an example ------------------------

DOCS = sorted((ROOT / "docs").glob("*.md"))
SHELL_LANGUAGES = {"sh", "bash", "shell", "console"}
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
MARKER = re.compile(r"<!-- (example: .+|run by (tests/\w+\.py)::(\w+)) -->")


def _blocks(path: Path) -> list[tuple[str, str, str]]:
    """(language, body, the line before the fence) of each fenced block."""
    text = path.read_text(encoding="utf-8")
    blocks = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rpartition("\n")[2]
        blocks.append((match.group(1), match.group(2), before))
    return blocks


SHELL_BLOCKS = [
    (path, body, before)
    for path in DOCS
    for language, body, before in _blocks(path)
    if language in SHELL_LANGUAGES
]


@pytest.mark.parametrize(
    ("path", "body", "before"),
    SHELL_BLOCKS,
    ids=[f"{path.name}:{body.splitlines()[0][:40]}" for path, body, _ in SHELL_BLOCKS],
)
def test_every_shell_block_in_the_docs_is_run_by_a_test_or_marked_an_example(
    path: Path, body: str, before: str
) -> None:
    """As sqlite-utils keeps its docs honest. Put `<!-- example: why -->` or
    `<!-- run by tests/test_x.py::test_name -->` on the line before the block; a test
    named so must exist and use every `feeder` command and option the block shows."""
    marker = MARKER.fullmatch(before.strip())
    assert marker, f"{path.name}: mark the block starting {body.splitlines()[0]!r}"
    if marker.group(2) is None:
        return
    module = ast.parse((ROOT / marker.group(2)).read_text(encoding="utf-8"))
    (test,) = [node for node in module.body if getattr(node, "name", None) == marker.group(3)]
    source = ast.get_source_segment((ROOT / marker.group(2)).read_text(encoding="utf-8"), test)
    assert source is not None
    for command, options in re.findall(r"\bfeeder ([a-z][a-z-]*)((?: --[\w-]+)*)", body):
        assert f'"{command}"' in source, f"{marker.group(3)} does not run `feeder {command}`"
        for option in options.split():
            assert f'"{option}"' in source, f"{marker.group(3)} does not pass {option}"


def _daemon_blocks(language: str) -> str:
    (body,) = [body for lang, body, _ in _blocks(ROOT / "docs" / "daemon.md") if lang == language]
    return body


def test_the_systemd_unit_opens_up_exactly_what_the_config_names() -> None:
    """The unit's sandbox hides any path it does not list: an inbox moved in the
    config and not in the unit would look missing to the service."""
    config = tomllib.loads(_daemon_blocks("toml"))
    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string(_daemon_blocks("ini"))
    service = unit["Service"]
    assert Path(config["inbox"]) == Path(service["ReadOnlyPaths"])
    writable = Path(service["ReadWritePaths"])
    assert Path(config["database"]).is_relative_to(writable)
    assert Path(config["output_dir"]).is_relative_to(writable)
    assert service["Environment"] == "FEEDER_CONFIG=/srv/feeder/config.toml"
    assert service["ExecStart"].startswith("/srv/feeder/.venv/bin/feeder run")
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert service["RestartPreventExitStatus"] == str(CONFIG_EXIT_STATUS)
