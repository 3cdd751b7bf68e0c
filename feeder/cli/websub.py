"""`feeder websub list` and `remove`, and the hub's lines in `feeder status`."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from feeder.cli.group import command_group, common_options
from feeder.cli.terminal import local
from feeder.config import Config
from feeder.store import Store

websub = command_group("websub", "The WebSub hub's subscriptions, for operators (docs/websub.md).")


@websub.command("list")
@common_options
def websub_list(config: Config) -> None:
    """List every subscription: callback, topic, lease end and delivery state (never secrets);
    then the requests awaiting verification."""
    from feeder.channels.websub.state import HubState

    with Store(config.database) as store:
        state = HubState(store)
        subscriptions, requests = state.subscriptions(), state.requests()
    if not subscriptions and not requests:
        click.echo("No subscriptions.")
    for subscription in subscriptions:
        expires = local(config, datetime.fromtimestamp(subscription.expires, UTC))
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
    for request in requests:
        requested = local(config, datetime.fromtimestamp(request.requested, UTC))
        click.echo(f"{request.callback}\n    {request.topic}")
        click.echo(f"    {request.mode.value} requested {requested}, awaiting verification")


@websub.command("remove")
@common_options
@click.argument("callback")
def websub_remove(config: Config, callback: str) -> None:
    """Remove every subscription and request awaiting verification of CALLBACK (a URL
    exactly as `feeder websub list` shows it)."""
    from feeder.channels.websub.state import HubState

    with Store(config.database) as store:
        subscriptions, requests = HubState(store).remove_callback(callback)
    if not subscriptions and not requests:
        raise click.ClickException(
            f"no subscription or request has the callback {callback}; "
            "`feeder websub list` shows them"
        )
    removed = [
        f"{count} {noun}{'s' if count != 1 else ''}"
        for count, noun in ((subscriptions, "subscription"), (requests, "request"))
        if count
    ]
    click.echo(f"Removed {' and '.join(removed)} of {callback}.")


def describe_hub(config: Config, store: Store) -> str:
    if not config.websub.enabled:
        return "WebSub hub: off ([websub] enabled = false)"
    from feeder.channels.websub.state import HubState

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
