"""`feeder run`, `feeder serve` and `feeder nginx-config`: the daemon and serving.

The scheduler and the HTTP stack are imported inside the commands, since they
would slow every other command's start.
"""

from __future__ import annotations

import click

from feeder.cli.group import common_options, main
from feeder.config import Config
from feeder.startup import Needs, check_startup, warn_about_the_served_port


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
    from feeder.channels.sender import OutboxWorker
    from feeder.channels.websub.worker import HubWorker
    from feeder.daemon.scheduler import Daemon, Service
    from feeder.registered import CHANNELS
    from feeder.serve.server import FeedServer

    check_startup(config, Needs(inbox=True, database=True, output=True, channels=True))
    if not no_serve:
        warn_about_the_served_port(config)
    services: list[Service] = [] if no_serve else [FeedServer(config)]
    if config.websub.enabled:
        services.append(HubWorker(config))
    if senders := [sender for channel in CHANNELS if (sender := channel.sender(config))]:
        services.append(OutboxWorker(config, senders))
    Daemon(config, services=services).run()


@main.command()
@common_options
def serve(config: Config) -> None:
    """Serve the feeds and pages over HTTP until Ctrl+C or SIGTERM ([server] in config.toml)."""
    from feeder.serve.server import serve_until_signalled

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
    from feeder.serve.nginx import nginx_config as server_block

    click.echo(server_block(config, listen), nl=False)
