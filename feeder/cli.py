"""The `feeder` command: parse options, call the library, print the outcome.

Every operational error is a FeederError whose message says what to do; it
reaches the user as one line and exit status 1, never as a traceback.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from feeder import __version__, pipeline
from feeder.config import DEFAULT_CONFIG_PATH, Config, load_config
from feeder.errors import FeederError
from feeder.feeds import FeedFormat, feed_path
from feeder.heartbeat import DaemonState, daemon_state
from feeder.inbox import names_in_inbox
from feeder.logs import FORMATS, setup_logging
from feeder.slugs import ALL_NEWS
from feeder.store import Run, Store

Command = TypeVar("Command", bound=Callable[..., Any])

# Below this many files a progress bar is more noise than help.
PROGRESS_MIN_FILES = 200


def common_options(command: Command) -> Command:
    """--config, --log-level and --log-format, shared by every command."""

    @click.option(
        "--config",
        "config_path",
        type=click.Path(path_type=Path, dir_okay=False),
        default=DEFAULT_CONFIG_PATH,
        show_default=True,
        help="Configuration file.",
    )
    @click.option(
        "--log-level",
        type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
        default="info",
        show_default=True,
        help="Least severe log messages to show.",
    )
    @click.option(
        "--log-format",
        type=click.Choice(sorted(FORMATS)),
        default="text",
        show_default=True,
        help="'journald' drops timestamps and adds priorities, for systemd.",
    )
    @functools.wraps(command)
    def wrapper(config_path: Path, log_level: str, log_format: str, **kwargs: Any) -> Any:
        setup_logging(log_level, log_format)
        with _reported_errors():
            return command(load_config(config_path), **kwargs)

    return wrapper  # type: ignore[return-value]


@contextmanager
def _reported_errors() -> Iterator[None]:
    try:
        yield
    except FeederError as error:
        raise click.ClickException(str(error)) from error


@click.group()
@click.version_option(__version__, prog_name="feeder")
def main() -> None:
    """Turn a news agency's wire articles into RSS 2.0 and Atom feeds."""


@main.command()
@common_options
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
def ingest(config: Config, files: tuple[Path, ...]) -> None:
    """Ingest new and corrected articles from the inbox now, then rewrite the feeds they changed.

    Given FILES (each in the inbox), only those are looked at and the rest of the
    inbox is not scanned: for a delivery hook that knows what it just delivered.
    """
    only = names_in_inbox(config.inbox, files) if files else None
    with _ProgressBar("Ingesting") as progress:
        outcome = pipeline.ingest_and_publish(config, only=only, progress=progress)
    click.echo(f"Ingested {config.inbox}: {_counts_text(outcome.ingest.counts())}.")
    _echo_written(config, outcome.publish.feeds_written, outcome.publish.pages_written)
    if outcome.ingest.rejected:
        click.echo("Some files were rejected; `feeder status` lists them with the reason.")


@main.command()
@common_options
@click.option(
    "--category",
    "category_slug",
    metavar="SLUG",
    help="Only this category's feeds (e.g. politika).",
)
@click.option(
    "--all-pages",
    is_flag=True,
    help="Also rewrite every article page, not only changed or missing ones.",
)
def regen(config: Config, category_slug: str | None, all_pages: bool) -> None:
    """Regenerate the feeds now, all of them or one category's."""
    with _ProgressBar("Writing pages") as progress:
        report = pipeline.regenerate(config, category_slug, all_pages, progress=progress)
    _echo_written(config, report.feeds_written, report.pages_written)


@main.command()
@common_options
@click.option(
    "--no-serve",
    is_flag=True,
    help="Do not serve HTTP (nginx or a CDN serves output_dir instead).",
)
def run(config: Config, no_serve: bool) -> None:
    """Run the daemon: ingest on a schedule and as files land, keep the feeds current,
    and serve them over HTTP ([server] in config.toml).

    Stops cleanly on SIGTERM or Ctrl-C. One daemon per database; `feeder ingest`
    and `feeder regen` may run beside it.
    """
    # Imported here: the scheduler and the HTTP stack would slow every other command's start.
    from feeder.daemon import Daemon
    from feeder.server import FeedServer

    Daemon(config, services=[] if no_serve else [FeedServer(config)]).run()


@main.command()
@common_options
def status(config: Config) -> None:
    """Show the daemon, categories, the last runs and the rejected files with reasons."""
    click.echo(_describe_daemon(config, daemon_state(config)))
    with Store(config.database) as store:
        categories = store.categories()
        click.echo(f"Database {config.database}: {store.article_count()} articles")
        click.echo(f"Feeds in {config.feeds_dir}")
        for category in categories:
            newest = _local(config, category.newest) if category.newest else "—"
            click.echo(
                f"  {category.slug:<24} {category.count:>7} articles, newest {newest}  {category.name}"
            )
        for job in ("ingest", "regen", "maintenance"):
            click.echo(_describe_run(config, job, store.last_run(job)))
        last_error = store.last_error()
        if last_error:
            click.echo(
                f"Last error: {_local(config, last_error.started)} {last_error.job}: {last_error.error}"
            )
        rejects = store.rejects()
        click.echo(
            f"Rejected files: {len(rejects)}"
            + (" (fix or remove them; feeder retries)" if rejects else "")
        )
        for reject in rejects:
            click.echo(f"  {reject.name}: [{reject.reason}] {reject.message}")
            click.echo(
                f"      first seen {_local(config, reject.first_seen)}, last seen {_local(config, reject.last_seen)}"
            )


@main.command()
@common_options
def serve(config: Config) -> None:
    """Serve the feeds and pages over HTTP until Ctrl+C or SIGTERM ([server] in config.toml)."""
    from feeder.server import serve_until_signalled  # see `run` for why here

    received = serve_until_signalled(
        config,
        lambda url: click.echo(f"Serving {config.output_dir} at {url} (Ctrl+C stops)"),
    )
    click.echo(f"Stopped by {received.name}.")


def _describe_daemon(config: Config, state: DaemonState) -> str:
    if not state.running:
        return "Daemon: not running (start it with `feeder run`)"
    lines = [f"Daemon: running, pid {state.pid}"]
    if heartbeat := state.heartbeat:
        age = (datetime.now(UTC) - heartbeat.written).total_seconds()
        lines[0] += f", heartbeat {age:.0f} s ago, up since {_local(config, heartbeat.started)}"
        lines += [
            f"  next {job}: {_local(config, moment)}"
            for job, moment in sorted(heartbeat.next_runs.items())
        ]
    return "\n".join(lines)


def _describe_run(config: Config, job: str, run: Run | None) -> str:
    if run is None:
        return f"Last {job}: never"
    result = f"FAILED: {run.error}" if run.error else _counts_text(run.counts)
    return f"Last {job}: {_local(config, run.started)} ({run.duration:.2f} s): {result}"


def _counts_text(counts: dict[str, Any]) -> str:
    return ", ".join(f"{count} {name}" for name, count in counts.items())


def _local(config: Config, moment: datetime) -> str:
    return moment.astimezone(config.timezone).strftime("%Y-%m-%d %H:%M:%S %Z")


def _echo_written(config: Config, feeds_written: list[str], pages_written: int) -> None:
    click.echo(
        f"Wrote {len(feeds_written)} feed files and {pages_written} article pages under {config.output_dir}."
    )
    all_news = config.output_dir / feed_path(ALL_NEWS, FeedFormat.ATOM)
    if all_news.exists():
        click.echo(
            f"All news: {all_news.as_uri()}  (index: {(config.output_dir / 'index.html').as_uri()})"
        )


class _ProgressBar:
    """A click progress bar, shown only on a terminal and only for long runs."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: Any = None
        self.done = 0

    def __enter__(self) -> _ProgressBar:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.bar is not None:
            self.bar.render_finish()

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            if total < PROGRESS_MIN_FILES or not sys.stdout.isatty():
                return
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stdout)
        self.bar.update(done - self.done)
        self.done = done
