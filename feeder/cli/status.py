"""`feeder status`: what an operator checks first."""

from __future__ import annotations

from datetime import datetime

import click

from feeder import pipeline
from feeder.cli.channels import describe_channels
from feeder.cli.fediverse import describe_fediverse
from feeder.cli.group import common_options, main
from feeder.cli.terminal import local, plural
from feeder.cli.websub import describe_hub
from feeder.clock import utc_now
from feeder.config import Config
from feeder.daemon.heartbeat import DaemonState, daemon_state
from feeder.printable import printable
from feeder.startup import inbox_problem
from feeder.store import IndexSize, Run, Store

JOBS = ("ingest", "regen", "maintenance")


@main.command()
@common_options
def status(config: Config) -> None:
    """Show the daemon, where feeder reads and publishes, categories, the last runs,
    the files the last publish could not write and the rejected files with reasons."""
    lines = _describe_daemon(config, daemon_state(config), utc_now()).splitlines()
    problem = inbox_problem(config)
    lines.append(f"Inbox {config.inbox}" + (f": MISSING: {problem}" if problem else ""))
    lines.append(f"Published at {config.base_url} (base_url), files in {config.output_dir}")
    lines.append(f"Served on {_served_address(config)} ([server]; `feeder run` or `feeder serve`)")
    with Store(config.database) as store:
        categories = store.categories()
        lines.append(f"Database {config.database}: {plural(store.article_count(), 'article')}")
        lines.append(_describe_search(config, store.search_size(), store.article_count()))
        lines.append(f"Feeds in {config.feeds_dir}")
        for category in categories:
            newest = local(config, category.newest) if category.newest else "—"
            count = plural(category.count, "article")
            lines.append(f"  {category.slug:<24} {count:>14}, newest {newest}  {category.name}")
        lines += [_describe_run(config, job, store.last_run(job)) for job in JOBS]
        last_error = store.last_error()
        if last_error:
            lines.append(
                f"Last error: {local(config, last_error.started)} {last_error.job}: {last_error.error}"
            )
        unwritten = store.unwritten_files()
        if unwritten:
            lines.append(
                f"Files the last publish could not write: {len(unwritten)} "
                "(every run retries them; the rest is published)"
            )
            lines += [f"  {path}: {message}" for path, message, _ in unwritten]
        rejects = store.rejects()
        future = store.future_files()
        withdrawals = store.withdrawals()
        hub = describe_hub(config, store)
        deliveries = describe_channels(config, store)
        accounts = describe_fediverse(config, store)
    lines.append(
        f"Rejected files: {len(rejects)}"
        + (" (fix or remove them; feeder retries)" if rejects else "")
    )
    for reject in rejects:
        lines.append(f"  {reject.name}: [{reject.reason}] {reject.message}")
        lines.append(
            f"      first seen {local(config, reject.first_seen)}, last seen {local(config, reject.last_seen)}"
        )
    if withdrawals:
        lines.append(f"Withdrawn stories: {len(withdrawals)} (`feeder restore ID` undoes one)")
        lines += [
            f"  {gone.story_id}: {gone.title!r}, withdrawn {local(config, gone.at)} "
            f"by {gone.by}: {gone.reason}"
            for gone in withdrawals
        ]
    if future:
        lines.append(
            f"Files dated in the future: {len(future)} (each waits for its time; "
            "`feeder ingest FILE` publishes it now, dated now)"
        )
        lines += [f"  {name}: dated {local(config, mtime)}" for name, mtime in future]
    lines += hub.splitlines()
    lines += deliveries.splitlines()
    lines += accounts.splitlines()
    # File names, categories and callbacks come from outside: no control character
    # reaches the terminal.
    for line in lines:
        click.echo(printable(line))


def _describe_search(config: Config, size: IndexSize, articles: int) -> str:
    state = "on" if config.search.enabled else "off ([search] enabled = false)"
    line = (
        f"Search {state}: {plural(size.stories, 'article')} indexed, "
        f"{size.bytes / 1_000_000:.1f} MB"
    )
    if size.stories != articles:
        line += f"; {articles - size.stories:+d} not in it: run `feeder regen --search`"
    return line


def _served_address(config: Config) -> str:
    host, port = config.server.host, config.server.port
    address = f"[{host}]" if ":" in host else host
    return f"{address}, any free port" if port == 0 else f"http://{address}:{port}/"


def _describe_daemon(config: Config, state: DaemonState, now: datetime) -> str:
    if not state.running:
        return "Daemon: not running (start it with `feeder run`)"
    lines = [f"Daemon: running, pid {state.pid}"]
    if heartbeat := state.heartbeat:
        age = (now - heartbeat.written).total_seconds()
        lines[0] += f", heartbeat {age:.0f} s ago, up since {local(config, heartbeat.started)}"
        lines += [
            f"  next {job}: {local(config, moment)}"
            for job, moment in sorted(heartbeat.next_runs.items())
        ]
    return "\n".join(lines)


def _describe_run(config: Config, job: str, run: Run | None) -> str:
    if run is None:
        return f"Last {job}: never"
    result = f"FAILED: {run.error}" if run.error else pipeline.describe_counts(run.counts)
    return f"Last {job}: {local(config, run.started)} ({run.duration:.2f} s): {result}"
