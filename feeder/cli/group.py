"""The `feeder` group and the options every command shares."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from feeder import __version__
from feeder.config import CONFIG_ENVIRONMENT_VARIABLE, DEFAULT_CONFIG_PATH, load_config
from feeder.errors import FeederError
from feeder.logs import FORMATS, setup_logging
from feeder.printable import printable

Command = TypeVar("Command", bound=Callable[..., Any])


@dataclass(frozen=True)
class GlobalOptions:
    """The options given before the subcommand; the subcommand's own win over them."""

    config_path: Path | None
    log_level: str | None
    log_format: str | None


def shared_options(command: Command) -> Command:
    """--config, --log-level and --log-format, accepted before the subcommand and after it."""
    options = [
        click.option(
            "--config",
            "config_path",
            type=click.Path(path_type=Path, dir_okay=False),
            help=f"Configuration file [default: ${CONFIG_ENVIRONMENT_VARIABLE}, else "
            f"{DEFAULT_CONFIG_PATH}].",
        ),
        click.option(
            "--log-level",
            type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
            help="Least severe log messages to show [default: info].",
        ),
        click.option(
            "--log-format",
            type=click.Choice(FORMATS),
            help="'journald' drops timestamps and adds priorities, for systemd; "
            "'json' is one object per line [default: text].",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def common_options(command: Command) -> Command:
    """The shared options, resolved and applied: logging set up, config loaded, and
    a FeederError shown as its lines with the error's exit status, never a traceback."""

    @shared_options
    @functools.wraps(command)
    def wrapper(
        config_path: Path | None, log_level: str | None, log_format: str | None, **kwargs: Any
    ) -> Any:
        given = click.get_current_context().find_object(GlobalOptions)
        setup_logging(
            log_level or (given and given.log_level) or "info",
            log_format or (given and given.log_format) or "text",
        )
        path = config_path or (given and given.config_path) or _environment_config()
        with _reported_errors():
            return command(load_config(path), **kwargs)

    return wrapper  # type: ignore[return-value]


def _environment_config() -> Path:
    return Path(os.environ.get(CONFIG_ENVIRONMENT_VARIABLE) or DEFAULT_CONFIG_PATH)


@contextmanager
def _reported_errors() -> Iterator[None]:
    """Each line of the message as its own `Error:` line, then the error's exit status."""
    try:
        yield
    except FeederError as error:
        for line in str(error).splitlines():
            click.echo(f"Error: {printable(line)}", err=True)
        raise click.exceptions.Exit(error.exit_status) from error


def remember_options(
    context: click.Context,
    config_path: Path | None,
    log_level: str | None,
    log_format: str | None,
) -> None:
    """A group's options, over those of the groups around it, for its commands."""
    given = context.find_object(GlobalOptions) or GlobalOptions(None, None, None)
    context.obj = GlobalOptions(
        config_path or given.config_path,
        log_level or given.log_level,
        log_format or given.log_format,
    )


@click.group()
@click.version_option(__version__, prog_name="feeder")
@shared_options
@click.pass_context
def main(
    context: click.Context,
    config_path: Path | None,
    log_level: str | None,
    log_format: str | None,
) -> None:
    """Turn a news agency's wire articles into RSS 2.0 and Atom feeds."""
    remember_options(context, config_path, log_level, log_format)


def command_group(name: str, help_text: str) -> click.Group:
    """A group of commands under `feeder`, taking the shared options too
    (`feeder websub list --config …` and `feeder --config … websub list`)."""

    @main.group(name=name, help=help_text)
    @shared_options
    @click.pass_context
    def group(
        context: click.Context,
        config_path: Path | None,
        log_level: str | None,
        log_format: str | None,
    ) -> None:
        remember_options(context, config_path, log_level, log_format)

    return group
