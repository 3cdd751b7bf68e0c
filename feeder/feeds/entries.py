"""Stored stories as the feed model: titles, ids and items, each entry within the
feed's byte budget (`feeder.feeds.budget`)."""

from __future__ import annotations

import html
import math
from urllib.parse import quote

from feeder.config import Config
from feeder.feeds.budget import content_within, entry_limit, shortened
from feeder.feeds.model import (
    EMPTY_FEED_UPDATED,
    DeletedEntry,
    FeedItem,
    FeedLink,
    FeedModel,
    feed_location,
)
from feeder.model import Entry
from feeder.paths import article_path, category_page_path
from feeder.visible import visible


def feed_title(config: Config, category: str | None) -> str:
    return f"{config.site_title} — {category}" if category else config.site_title


def entry_id(config: Config, story_id: str) -> str:
    """A tag: URI from the story id alone: corrections and new base URLs never change it."""
    return f"{config.id_prefix}/story/{quote(story_id, safe='')}"


def paragraphs_html(paragraphs: tuple[str, ...]) -> str:
    """The full text as HTML in which nothing from the agency can act as markup."""
    return "".join(f"<p>{html.escape(paragraph)}</p>" for paragraph in paragraphs)


def feed_model(
    config: Config,
    slug: str,
    category: str | None,
    entries: list[Entry],
    links: tuple[FeedLink, ...] = (),
    deleted: tuple[DeletedEntry, ...] = (),
) -> FeedModel:
    """`category` is None for the all-news feed; `entries` come newest first. A
    withdrawal is a change of the feed, so its time counts for `updated`."""
    title = feed_title(config, category)
    return FeedModel(
        id=f"{config.id_prefix}/feed/{slug}",
        title=title,
        description=title,
        location=config.url(feed_location(slug)),
        alternate_url=config.url(category_page_path(slug)),
        language=config.language,
        updated=max(
            [entry.updated for entry in entries] + [gone.when for gone in deleted],
            default=EMPTY_FEED_UPDATED,
        ),
        items=tuple(feed_item(config, entry) for entry in entries),
        publisher=config.site_title,
        links=links,
        poll_minutes=max(1, math.ceil(config.server.cache_max_age / 60)),
        deleted=deleted,
    )


def feed_item(config: Config, entry: Entry) -> FeedItem:
    """Agency text shown as pages show it (`feeder.visible`), for every format."""
    url = config.url(article_path(entry.page_key))
    summary = shortened(visible(entry.summary))
    limit = entry_limit(config.max_feed_bytes)
    paragraphs = tuple(visible(paragraph) for paragraph in entry.paragraphs)
    # RSS readers take <description> as HTML, so the summary is escaped like the content.
    content = content_within(
        paragraphs_html(paragraphs), html.escape(summary), url, config.language, limit
    )
    return FeedItem(
        id=entry_id(config, entry.story_id),
        title=visible(entry.title),
        url=url,
        summary=summary,
        content_html=content,
        category_term=entry.category_slug,
        category_label=visible(entry.category),
        author=visible(entry.agency),
        published=entry.published,
        updated=entry.updated,
    )
