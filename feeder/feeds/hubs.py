"""Which URLs are topics of this hub, and how a feed names its hubs (pure)."""

from __future__ import annotations

import re
from dataclasses import replace

from feeder.config import Config, WebSubConfig
from feeder.feeds.formats import CHARSET, FEED_FORMATS
from feeder.feeds.model import FeedLink

# A topic is one of the current feeds: feeds/<slug>.<suffix>, nothing deeper.
_TOPIC_PATH = re.compile(r"feeds/[a-z0-9][a-z0-9_-]*\.[a-z]+")


def hub_urls(config: Config) -> tuple[str, ...]:
    """Every hub a feed advertises: ours first, then the external ones we ping."""
    if not config.websub.enabled:
        return ()
    return (config.websub.hub_url, *config.websub.external_hubs)


def hub_links(config: Config) -> tuple[FeedLink, ...]:
    """The rel="hub" links a current feed carries in its document (WebSub 4)."""
    return tuple(FeedLink("hub", hub) for hub in hub_urls(config))


def hub_route(config: Config) -> str:
    """The path the local server answers the hub at: hub_url below base_url.

    Behind a reverse proxy that maps base_url to this server's root, this is
    the path to proxy (docs/websub.md).
    """
    return "/" + config.websub.hub_url.removeprefix(config.base_url)


def running_hub(started: Config, reloaded: Config) -> WebSubConfig:
    """The [websub] settings after a reload: those the running hub's endpoint and worker
    were built from at start, at the same path under the base_url now configured.
    Feeds then advertise the hub that answers, and a reload that changes only
    base_url changes nothing here."""
    return replace(started.websub, hub_url=reloaded.url(hub_route(started).removeprefix("/")))


def topic_path(config: Config, topic: str) -> str | None:
    """The feed file (relative to output_dir) a topic URL names, or None when it is
    not a feed of this feeder; whether the file exists is the caller's question."""
    if not topic.startswith(config.base_url):
        return None
    relative = topic.removeprefix(config.base_url)
    if not _TOPIC_PATH.fullmatch(relative) or FEED_FORMATS.for_path(relative) is None:
        return None
    return relative


def content_type(relative: str) -> str:
    """The Content-Type a feed (a topic_path) is served to readers and delivered with."""
    feed_format = FEED_FORMATS.for_path(relative)
    assert feed_format is not None, relative
    return feed_format.media_type + CHARSET


def link_header(config: Config, topic: str) -> str:
    """The HTTP Link header for a feed: its hubs and itself (WebSub 4)."""
    links = [f'<{hub}>; rel="hub"' for hub in hub_urls(config)]
    links.append(f'<{topic}>; rel="self"')
    return ", ".join(links)
