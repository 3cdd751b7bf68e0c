"""The README documents every command and option the `feeder` command has."""

from __future__ import annotations

import re

import click
import pytest

from feeder.cli import main
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
