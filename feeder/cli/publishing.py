"""`feeder ingest` and `feeder regen`: the manual runs beside the daemon."""

from __future__ import annotations

import time
from pathlib import Path

import click

from feeder import pipeline
from feeder.cli.group import common_options, main
from feeder.cli.terminal import ProgressBar, echo_written, local, plural
from feeder.config import Config
from feeder.errors import FeederError
from feeder.intake.inbox import names_in_inbox, storable_name
from feeder.intake.ingest import IngestReport
from feeder.printable import printable
from feeder.startup import Needs, check_startup
from feeder.store import Store

# `feeder ingest --wait`: how often it looks again, and the least time it waits.
WAIT_POLL_SECONDS = 0.5
WAIT_MINIMUM_SECONDS = 60.0


class NamedFilesNotIngested(FeederError):
    """Files a delivery hook named were rejected or could not be read; one line each."""


@main.command()
@common_options
@click.option(
    "--wait",
    is_flag=True,
    help="Wait for named FILES that are still being written (until unmodified for "
    f"settle_seconds; at most ten times that, and at least {WAIT_MINIMUM_SECONDS} s), "
    "instead of taking them as complete.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Read FILES (or the whole inbox) again even if they look unchanged since last read.",
)
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
def ingest(config: Config, files: tuple[Path, ...], wait: bool, force: bool) -> None:
    """Ingest new and corrected articles from the inbox now, then rewrite the feeds they changed.

    Given FILES (each in the inbox), only those are looked at and the rest of the
    inbox is not scanned: for a delivery hook that knows what it just delivered.
    They are taken as complete and read at once, however recently written; the
    exit status is 1 if any was rejected or could not be ingested, with each
    reason printed.
    """
    check_startup(config, Needs(inbox=True, database=True, output=True))
    names, problems = names_in_inbox(config.inbox, files)
    if names or not files:
        report = _ingest(config, names if files else None, wait=wait, force=force)
        if files:
            problems += _named_problems(config, names, report.deferred, wait)
        else:
            _echo_left_for_later(config, report)
    if problems:
        raise NamedFilesNotIngested("\n".join(problems))


def _echo_left_for_later(config: Config, report: IngestReport) -> None:
    if report.settled_by is not None:
        click.echo(
            f"{plural(report.settling, 'file')} modified less than "
            f"{config.settle_seconds:g} s ago were left to settle: run `feeder ingest` "
            f"again after {local(config, report.settled_by)} (a running daemon takes "
            "them by itself)."
        )
    if report.future:
        click.echo(
            f"{plural(report.future, 'file')} dated in the future wait for their time; "
            "`feeder status` lists them, and `feeder ingest FILE` publishes one now."
        )


def _ingest(config: Config, only: list[str] | None, *, wait: bool, force: bool) -> IngestReport:
    """One run, and with `wait` more runs for the named files left to settle."""
    deadline = time.monotonic() + max(WAIT_MINIMUM_SECONDS, 10 * config.settle_seconds)
    declared = only is not None and not wait
    while True:
        with ProgressBar("Ingesting") as progress:
            outcome = pipeline.ingest_and_publish(
                config, only=only, progress=progress, declared=declared, force=force
            )
        report = outcome.ingest
        click.echo(f"Ingested {config.inbox}: {pipeline.describe_counts(report.counts())}.")
        echo_written(config, outcome.publish.feeds_written, outcome.publish.pages_written)
        if not (wait and only and report.deferred) or time.monotonic() > deadline:
            break
        click.echo(f"Waiting for {plural(len(report.deferred), 'file')} still being written...")
        time.sleep(WAIT_POLL_SECONDS)
        only, force = report.deferred, False
    if only is None and report.rejected:
        click.echo("Some files were rejected; `feeder status` lists them with the reason.")
    return report


def _named_problems(config: Config, names: list[str], deferred: list[str], wait: bool) -> list[str]:
    """Why each named file that did not end up published or a duplicate did not."""
    problems = []
    waiting = set(deferred)
    with Store(config.database) as store:
        for name in names:
            shown = printable(storable_name(name))
            if reject := store.reject(storable_name(name)):
                problems.append(f"{shown}: rejected [{reject.reason}]: {reject.message}")
            elif name in waiting:
                problems.append(
                    f"{shown}: still being written; run `feeder ingest --wait` once "
                    "the upload is done"
                    if wait
                    else f"{shown}: it changed while it was read: still being written? "
                    "Rerun with --wait to wait for it"
                )
            elif store.file_outcome(storable_name(name)) is None:
                problems.append(f"{shown}: gone from the inbox before it was read")
    return problems


@main.command()
@common_options
@click.option(
    "--category",
    metavar="SLUG_OR_NAME",
    help="Only this category's feeds, by slug or name (e.g. politika, or Политика).",
)
@click.option(
    "--all-pages",
    is_flag=True,
    help="Also rewrite every article page and every archive page of the feeds, not "
    "only changed or missing ones (after a change of base_url, site_title or timezone).",
)
@click.option(
    "--search",
    is_flag=True,
    help="Rebuild the search index from every stored story, instead of the feeds "
    "(after [search] enabled was false for a while).",
)
def regen(config: Config, category: str | None, all_pages: bool, search: bool) -> None:
    """Regenerate the feeds now, all of them or one category's.

    Reads only the database, so it rebuilds the output from a backup on a machine
    that has no inbox.
    """
    if search:
        check_startup(config, Needs(database=True))
        count = pipeline.rebuild_search_index(config)
        click.echo(f"Search index rebuilt: {plural(count, 'article')}")
        return
    check_startup(config, Needs(database=True, output=True))
    with ProgressBar("Writing pages") as progress:
        report = pipeline.regenerate(config, category, all_pages, progress=progress)
    echo_written(config, report.feeds_written, report.pages_written)
