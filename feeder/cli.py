"""The `feeder` command: parse options, call the library, print the outcome.

Every operational error is a FeederError whose message says what to do; it
reaches the user as one line and exit status 1, never as a traceback.
"""

from __future__ import annotations

import functools
import getpass
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from feeder import __version__, pipeline
from feeder.backup import backup_database, backup_destination
from feeder.clock import utc_now
from feeder.config import CONFIG_ENVIRONMENT_VARIABLE, DEFAULT_CONFIG_PATH, Config, load_config
from feeder.errors import FeederError
from feeder.feeds import article_path, feed_path
from feeder.formats import FEED_FORMATS
from feeder.heartbeat import DaemonState, daemon_state
from feeder.inbox import names_in_inbox, storable_name
from feeder.ingest import IngestReport
from feeder.logs import FORMATS, setup_logging
from feeder.printable import printable
from feeder.slugs import ALL_NEWS
from feeder.startup import Needs, check_startup, inbox_problem, warn_about_the_served_port
from feeder.store import Run, Store
from feeder.wire import story_id_for

Command = TypeVar("Command", bound=Callable[..., Any])
JOBS = ("ingest", "regen", "maintenance")
log = logging.getLogger("feeder.cli")

# `feeder ingest --wait`: how often it looks again, and the least time it waits.
WAIT_POLL_SECONDS = 0.5
WAIT_MINIMUM_SECONDS = 60.0
# Below this many files a progress bar is more noise than help.
PROGRESS_MIN_FILES = 200


@dataclass(frozen=True)
class _GlobalOptions:
    """The options given before the subcommand; the subcommand's own win over them."""

    config_path: Path | None
    log_level: str | None
    log_format: str | None


def _shared_options(command: Command) -> Command:
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

    @_shared_options
    @functools.wraps(command)
    def wrapper(
        config_path: Path | None, log_level: str | None, log_format: str | None, **kwargs: Any
    ) -> Any:
        given = click.get_current_context().find_object(_GlobalOptions)
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


@click.group()
@click.version_option(__version__, prog_name="feeder")
@_shared_options
@click.pass_context
def main(
    context: click.Context,
    config_path: Path | None,
    log_level: str | None,
    log_format: str | None,
) -> None:
    """Turn a news agency's wire articles into RSS 2.0 and Atom feeds."""
    context.obj = _GlobalOptions(config_path, log_level, log_format)


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
            f"{_plural(report.settling, 'file')} modified less than "
            f"{config.settle_seconds:g} s ago were left to settle: run `feeder ingest` "
            f"again after {_local(config, report.settled_by)} (a running daemon takes "
            "them by itself)."
        )
    if report.future:
        click.echo(
            f"{_plural(report.future, 'file')} dated in the future wait for their time; "
            "`feeder status` lists them, and `feeder ingest FILE` publishes one now."
        )


def _ingest(config: Config, only: list[str] | None, *, wait: bool, force: bool) -> IngestReport:
    """One run, and with `wait` more runs for the named files left to settle."""
    deadline = time.monotonic() + max(WAIT_MINIMUM_SECONDS, 10 * config.settle_seconds)
    declared = only is not None and not wait
    while True:
        with _ProgressBar("Ingesting") as progress:
            outcome = pipeline.ingest_and_publish(
                config, only=only, progress=progress, declared=declared, force=force
            )
        report = outcome.ingest
        click.echo(f"Ingested {config.inbox}: {pipeline.describe_counts(report.counts())}.")
        _echo_written(config, outcome.publish.feeds_written, outcome.publish.pages_written)
        if not (wait and only and report.deferred) or time.monotonic() > deadline:
            break
        click.echo(f"Waiting for {_plural(len(report.deferred), 'file')} still being written...")
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
    help="Also rewrite every article page and every month document of the archive, not "
    "only changed or missing ones (after a change of base_url, site_title or timezone).",
)
def regen(config: Config, category: str | None, all_pages: bool) -> None:
    """Regenerate the feeds now, all of them or one category's.

    Reads only the database, so it rebuilds the output from a backup on a machine
    that has no inbox.
    """
    check_startup(config, Needs(database=True, output=True))
    with _ProgressBar("Writing pages") as progress:
        report = pipeline.regenerate(config, category, all_pages, progress=progress)
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
    from feeder.daemon import Daemon, Service
    from feeder.server import FeedServer
    from feeder.websub.worker import HubWorker

    check_startup(config, Needs(inbox=True, database=True, output=True))
    if not no_serve:
        warn_about_the_served_port(config)
    services: list[Service] = [] if no_serve else [FeedServer(config)]
    if config.websub.enabled:
        services.append(HubWorker(config))
    Daemon(config, services=services).run()


@main.command()
@common_options
def status(config: Config) -> None:
    """Show the daemon, where feeder reads and publishes, categories, the last runs
    and the rejected files with reasons."""
    lines = _describe_daemon(config, daemon_state(config), utc_now()).splitlines()
    problem = inbox_problem(config)
    lines.append(f"Inbox {config.inbox}" + (f": MISSING: {problem}" if problem else ""))
    lines.append(f"Published at {config.base_url} (base_url), files in {config.output_dir}")
    lines.append(f"Served on {_served_address(config)} ([server]; `feeder run` or `feeder serve`)")
    with Store(config.database) as store:
        categories = store.categories()
        lines.append(f"Database {config.database}: {_plural(store.article_count(), 'article')}")
        lines.append(f"Feeds in {config.feeds_dir}")
        for category in categories:
            newest = _local(config, category.newest) if category.newest else "—"
            count = _plural(category.count, "article")
            lines.append(f"  {category.slug:<24} {count:>14}, newest {newest}  {category.name}")
        lines += [_describe_run(config, job, store.last_run(job)) for job in JOBS]
        last_error = store.last_error()
        if last_error:
            lines.append(
                f"Last error: {_local(config, last_error.started)} {last_error.job}: {last_error.error}"
            )
        rejects = store.rejects()
        future = store.future_files()
        withdrawals = store.withdrawals()
        hub = _describe_hub(config, store)
    lines.append(
        f"Rejected files: {len(rejects)}"
        + (" (fix or remove them; feeder retries)" if rejects else "")
    )
    for reject in rejects:
        lines.append(f"  {reject.name}: [{reject.reason}] {reject.message}")
        lines.append(
            f"      first seen {_local(config, reject.first_seen)}, last seen {_local(config, reject.last_seen)}"
        )
    if withdrawals:
        lines.append(f"Withdrawn stories: {len(withdrawals)} (`feeder restore ID` undoes one)")
        lines += [
            f"  {gone.story_id}: {gone.title!r}, withdrawn {_local(config, gone.at)} "
            f"by {gone.by}: {gone.reason}"
            for gone in withdrawals
        ]
    if future:
        lines.append(
            f"Files dated in the future: {len(future)} (each waits for its time; "
            "`feeder ingest FILE` publishes it now, dated now)"
        )
        lines += [f"  {name}: dated {_local(config, mtime)}" for name, mtime in future]
    lines += hub.splitlines()
    # File names, categories and callbacks come from outside: no control character
    # reaches the terminal.
    for line in lines:
        click.echo(printable(line))


def _served_address(config: Config) -> str:
    host, port = config.server.host, config.server.port
    address = f"[{host}]" if ":" in host else host
    return f"{address}, any free port" if port == 0 else f"http://{address}:{port}/"


@main.command()
@common_options
def serve(config: Config) -> None:
    """Serve the feeds and pages over HTTP until Ctrl+C or SIGTERM ([server] in config.toml)."""
    from feeder.server import serve_until_signalled  # see `run` for why here

    check_startup(config, Needs(output=True))
    warn_about_the_served_port(config)
    received = serve_until_signalled(
        config,
        lambda url: click.echo(f"Serving {config.output_dir} at {url} (Ctrl+C stops)"),
    )
    click.echo(f"Stopped by {received.name}.")


@main.command("nginx-config")
@common_options
@click.option(
    "--listen",
    default="80",
    show_default=True,
    help="nginx's listen value: a port, or address:port.",
)
def nginx_config(config: Config, listen: str) -> None:
    """Print an nginx server block serving output_dir as `feeder serve` does.

    Redirect it into /etc/nginx/sites-available/ and enable it (docs/serving.md);
    print it again after changing the config or upgrading feeder.
    """
    from feeder.nginx import nginx_config as server_block  # see `run` for why here

    click.echo(server_block(config, listen), nl=False)


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
        f"{_local(config, restored.at)}."
    )


def _user() -> str:
    """The person behind the command: under sudo, who ran sudo."""
    return os.environ.get("SUDO_USER") or getpass.getuser()


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
        config.database, backup_destination(config.database, destination, datetime.now())
    )
    click.echo(
        f"Backed up {config.database} to {made.path} ({_plural(made.articles, 'article')}, "
        f"{made.size / 1e6:.1f} MB)."
    )


def _plural(count: int, noun: str) -> str:
    """English counts for the terminal: "1 article", "2 articles"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


@main.group()
@_shared_options
@click.pass_context
def websub(
    context: click.Context,
    config_path: Path | None,
    log_level: str | None,
    log_format: str | None,
) -> None:
    """The WebSub hub's subscriptions, for operators (docs/websub.md)."""
    given = context.find_object(_GlobalOptions) or _GlobalOptions(None, None, None)
    context.obj = _GlobalOptions(
        config_path or given.config_path,
        log_level or given.log_level,
        log_format or given.log_format,
    )


@websub.command("list")
@common_options
def websub_list(config: Config) -> None:
    """List every subscription: callback, topic, lease end and delivery state (never secrets)."""
    from feeder.websub.state import HubState

    with Store(config.database) as store:
        subscriptions = HubState(store).subscriptions()
    if not subscriptions:
        click.echo("No subscriptions.")
    for subscription in subscriptions:
        expires = _local(config, datetime.fromtimestamp(subscription.expires, UTC))
        if subscription.failed:
            delivery = f"delivery FAILED: {subscription.last_error}"
        elif subscription.pending:
            delivery = "delivery pending" + (
                f" (last try: {subscription.last_error})" if subscription.last_error else ""
            )
        else:
            delivery = "up to date"
        signed = ", signed" if subscription.has_secret else ""
        click.echo(f"{subscription.callback}\n    {subscription.topic}")
        click.echo(f"    lease ends {expires}{signed}; {delivery}")


@websub.command("remove")
@common_options
@click.argument("callback")
def websub_remove(config: Config, callback: str) -> None:
    """Remove every subscription of CALLBACK (a URL exactly as `feeder websub list` shows it)."""
    from feeder.websub.state import HubState

    with Store(config.database) as store:
        removed = HubState(store).remove_callback(callback)
    if not removed:
        raise click.ClickException(
            f"no subscription has the callback {callback}; `feeder websub list` shows them"
        )
    click.echo(f"Removed {removed} subscription{'s' if removed != 1 else ''} of {callback}.")


def _describe_hub(config: Config, store: Store) -> str:
    if not config.websub.enabled:
        return "WebSub hub: off ([websub] enabled = false)"
    from feeder.websub.state import HubState

    state = HubState(store)
    topics = state.summary()
    lines = [
        f"WebSub hub {config.websub.hub_url}: {sum(topic.subscribers for topic in topics)} "
        f"subscriptions, {state.pending_intents()} requests awaiting verification"
    ]
    lines += [
        f"  {topic.topic}: {topic.subscribers} subscribers, {topic.pending} deliveries "
        f"pending, {topic.failed} failed"
        for topic in topics
    ]
    return "\n".join(lines)


def _describe_daemon(config: Config, state: DaemonState, now: datetime) -> str:
    if not state.running:
        return "Daemon: not running (start it with `feeder run`)"
    lines = [f"Daemon: running, pid {state.pid}"]
    if heartbeat := state.heartbeat:
        age = (now - heartbeat.written).total_seconds()
        lines[0] += f", heartbeat {age:.0f} s ago, up since {_local(config, heartbeat.started)}"
        lines += [
            f"  next {job}: {_local(config, moment)}"
            for job, moment in sorted(heartbeat.next_runs.items())
        ]
    return "\n".join(lines)


def _describe_run(config: Config, job: str, run: Run | None) -> str:
    if run is None:
        return f"Last {job}: never"
    result = f"FAILED: {run.error}" if run.error else pipeline.describe_counts(run.counts)
    return f"Last {job}: {_local(config, run.started)} ({run.duration:.2f} s): {result}"


def _local(config: Config, moment: datetime) -> str:
    return moment.astimezone(config.timezone).strftime("%Y-%m-%d %H:%M:%S %Z")


def _echo_written(config: Config, feeds_written: list[str], pages_written: int) -> None:
    click.echo(
        f"Wrote {_plural(len(feeds_written), 'feed file')} and "
        f"{_plural(pages_written, 'article page')} under {config.output_dir}."
    )
    relative = [feed_path(ALL_NEWS, feed_format) for feed_format in FEED_FORMATS]
    if all((config.output_dir / path).exists() for path in relative):
        urls = ", ".join(config.url(path) for path in relative)
        click.echo(f"Subscribe to all news: {urls}  (files in {config.feeds_dir})")


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
