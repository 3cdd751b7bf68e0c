"""`feeder fediverse list`, and the accounts' lines in `feeder status`."""

from __future__ import annotations

import click

from feeder.cli.group import command_group, common_options
from feeder.config import Config
from feeder.printable import printable
from feeder.store import Store

fediverse = command_group(
    "fediverse", "The fediverse accounts' followers and deliveries (docs/fediverse.md)."
)


@fediverse.command("list")
@common_options
def fediverse_list(config: Config) -> None:
    """Show each account's followers and servers, then deliveries pending and failed
    with their last error (never a key)."""
    with Store(config.database) as store:
        lines = describe_fediverse(config, store, failures=True).splitlines()
    for line in lines:
        click.echo(printable(line))


def describe_fediverse(config: Config, store: Store, *, failures: bool = False) -> str:
    from feeder.channels.fediverse.accounts import host
    from feeder.channels.fediverse.state import CHANNEL, FediverseState

    if not config.fediverse.enabled:
        return "Fediverse: off ([fediverse] enabled in config.toml)"
    counts = FediverseState(store).counts()
    (summary,) = store.channel_summaries([CHANNEL])
    lines = [
        f"Fediverse accounts: {len(counts)} followed; deliveries {summary.pending} pending, "
        f"{summary.failed} failed (`feeder channels retry fediverse` after fixing a fault)"
    ]
    lines += [
        f"  @{count.handle}@{host(config)}: {count.followers} followers on {count.servers} servers"
        for count in counts
    ]
    if failures:
        lines += [
            f"  {item.key.split('|')[0]} to {item.destination}: FAILED after {item.attempts} "
            f"attempts: {item.last_error}"
            for item in store.failed_items(CHANNEL)
        ]
    return "\n".join(lines)
