"""`feeder backup`: a consistent copy of the database, safe while the daemon runs."""

from __future__ import annotations

from pathlib import Path

import click

from feeder.backup import backup_database, backup_destination
from feeder.cli.group import common_options, main
from feeder.cli.terminal import plural
from feeder.clock import utc_now
from feeder.config import Config


@main.command()
@common_options
@click.argument("destination", type=click.Path(path_type=Path))
def backup(config: Config, destination: Path) -> None:
    """Write a consistent copy of the database to DESTINATION (a file, or a folder to
    put a dated file in), safely while the daemon runs.

    The database is the source of truth: docs/daemon.md says how to restore it and
    rebuild the output from it.
    """
    made = backup_database(
        config.database,
        backup_destination(config.database, destination, utc_now().astimezone(config.timezone)),
    )
    click.echo(
        f"Backed up {config.database} to {made.path} ({plural(made.articles, 'article')}, "
        f"{made.size / 1e6:.1f} MB)."
    )
