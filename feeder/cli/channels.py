"""`feeder channels list` and `retry`, and the channels' lines in `feeder status`."""

from __future__ import annotations

import time

import click

from feeder.cli.group import command_group, common_options
from feeder.config import Config
from feeder.printable import printable
from feeder.store import Store

channels = command_group(
    "channels", "Deliveries to the places readers follow news (docs/channels.md)."
)


@channels.command("list")
@common_options
def channels_list(config: Config) -> None:
    """Show each channel's pending and failed deliveries, paused destinations and why,
    and every failed delivery with its last error."""
    with Store(config.database) as store:
        lines = describe_channels(config, store, failures=True).splitlines()
    for line in lines:
        click.echo(printable(line))


@channels.command("retry")
@common_options
@click.argument("channel", required=False)
def channels_retry(config: Config, channel: str | None) -> None:
    """Try failed deliveries again and resume paused destinations, of CHANNEL (such as
    `telegram`) or of every channel; a running `feeder run` picks them up within a second."""
    with Store(config.database) as store:
        if channel is not None and channel not in _names(config, store):
            raise click.ClickException(
                f"no channel {channel!r} has deliveries; `feeder channels list` shows them"
            )
        retried, resumed = store.retry_failed(channel, time.time())
    click.echo(f"{retried} failed deliveries due again, {resumed} paused destinations resumed.")


def describe_channels(config: Config, store: Store, *, failures: bool = False) -> str:
    summaries = store.channel_summaries(_names(config, store))
    if not summaries:
        return "Channels: none sends stories ([telegram] in config.toml)"
    lines = ["Channels (`feeder channels list`; `feeder channels retry` after fixing a fault):"]
    for summary in summaries:
        lines.append(f"  {summary.channel}: {summary.pending} pending, {summary.failed} failed")
        lines += [
            f"    {destination}: PAUSED: {reason}" for destination, reason in summary.paused.items()
        ]
        if failures:
            lines += [
                f"    {item.key} to {item.destination}: FAILED after {item.attempts} "
                f"attempts: {item.last_error}"
                for item in store.failed_items(summary.channel)
            ]
    return "\n".join(lines)


def _names(config: Config, store: Store) -> list[str]:
    """Channels that are on and deliver from the outbox, and any that still has
    deliveries kept."""
    from feeder.registered import CHANNELS

    enabled = [
        kind.name
        for kind in CHANNELS
        if "sender" in vars(kind) and kind.from_config(config, store) is not None
    ]
    return sorted({*enabled, *store.outbox_channels()})
