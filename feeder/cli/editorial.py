"""`feeder withdraw` and `feeder restore`: the editors' commands."""

from __future__ import annotations

import getpass
import os

import click

from feeder import pipeline
from feeder.cli.group import common_options, main
from feeder.cli.terminal import local
from feeder.config import Config
from feeder.intake.wire import story_id_for
from feeder.paths import article_path
from feeder.startup import Needs, check_startup


@main.command()
@common_options
@click.argument("story_id")
@click.option(
    "--reason",
    required=True,
    help="Why it is withdrawn: kept in the database and shown by `feeder status`, never published.",
)
@click.option(
    "--by",
    "withdrawn_by",
    help="Who withdraws it [default: the user running the command].",
)
def withdraw(config: Config, story_id: str, reason: str, withdrawn_by: str | None) -> None:
    """Withdraw a published story (legal reasons, an error): it leaves every feed, page
    list, archive and sitemap now, its page becomes a short notice served as 410 Gone,
    and Atom feeds announce its deletion for `tombstone_days`.

    STORY_ID is the file name without .txt. A later delivery of the story does not
    bring it back; `feeder restore STORY_ID` does. Safe while the daemon runs.
    """
    check_startup(config, Needs(database=True, output=True))
    story = story_id_for(story_id)
    withdrawn = pipeline.withdraw(config, story, reason, withdrawn_by or _user())
    click.echo(
        f"Withdrew story {story} ({withdrawn.title!r}) from {withdrawn.category_slug} and all "
        f"news; its page {config.url(article_path(withdrawn.page_key))} is now a notice."
    )


@main.command()
@common_options
@click.argument("story_id")
def restore(config: Config, story_id: str) -> None:
    """Put a withdrawn story back in its feeds, pages and archives, as it was."""
    check_startup(config, Needs(database=True, output=True))
    story = story_id_for(story_id)
    restored = pipeline.restore(config, story)
    click.echo(
        f"Restored story {story} ({restored.title!r}), withdrawn by {restored.by} on "
        f"{local(config, restored.at)}."
    )


def _user() -> str:
    """The person behind the command: under sudo, who ran sudo."""
    return os.environ.get("SUDO_USER") or getpass.getuser()
