"""The documents publishing writes under `fediverse/`, served as files by both servers.

Written when publishing renders an account's JSON Feed (`feeds/<slug>.json`,
told written or unchanged) and its archive pages: the actor, its WebFinger
answer, its followers count, its outbox, and NodeInfo. The outbox is an
OrderedCollection whose pages are the feed's own: `-current` holds what the
subscription document holds, and each sealed RFC 5005 archive page
`<generation>-<n>` has its outbox page of the same stories, which never
changes its set of stories either. Follows rewrite the followers count.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from feeder import __version__
from feeder.channels.fediverse import documents
from feeder.channels.fediverse.accounts import (
    NODEINFO_PATH,
    Account,
    account_for,
    actor_path,
    followers_path,
    outbox_page_path,
    outbox_path,
    webfinger_path,
)
from feeder.channels.fediverse.state import CHANNEL, FediverseState
from feeder.config import Config
from feeder.events import story_event
from feeder.files import write_if_changed
from feeder.model import Entry, StoryChange
from feeder.paths import category_page_path
from feeder.publish.archives import PAGES_DIR
from feeder.slugs import ALL_NEWS
from feeder.store import ArchivePage, Store

_PAGE = re.compile(rf"{PAGES_DIR}/(?P<slug>[^/]+)/(?P<generation>[^/]+)-(?P<number>[0-9]+)\.json")
_FEED = re.compile(r"feeds/(?P<slug>[^/.]+)\.json")


def document_bytes(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def write(config: Config, relative: str, document: dict[str, Any]) -> None:
    write_if_changed(
        config.output_dir / relative, document_bytes(document), temp_dir=config.output_temp_dir
    )


def incarnation(store: Store, story_id: str) -> int:
    """How many times the story was restored: each restore is a new object."""
    record = store.channel_record(CHANNEL, f"story|{story_id}")
    return int(record["incarnation"]) if record else 0


def feed_written(config: Config, store: Store, relative: str) -> None:
    """Publishing rendered `relative`: the account documents of its feed, if any."""
    if match := _FEED.fullmatch(relative):
        account = account_for(config, match["slug"])
        if account is not None:
            _write_account(config, store, account)
            _write_outbox(config, store, account)
            if account.slug == ALL_NEWS:
                _write_nodeinfo(config, store)
    elif match := _PAGE.fullmatch(relative):
        account = account_for(config, match["slug"])
        page = store.archive_page(match["slug"], int(match["number"]))
        if account is not None and page is not None and page.generation == match["generation"]:
            members = [m.story_id for m in store.page_members(page) if not m.withdrawn]
            earlier = store.archive_page(page.slug, page.number - 1)
            later = store.archive_page(page.slug, page.number + 1)
            _write_page(
                config,
                store,
                account,
                match["generation"] + "-" + match["number"],
                store.entries_by_story_ids(members),
                _page_name(earlier),
                _page_name(later) or "current",
            )


def _page_name(page: ArchivePage | None) -> str | None:
    """An outbox page is named as the archive page it mirrors."""
    return None if page is None else f"{page.generation}-{page.number}"


def write_followers(config: Config, store: Store, handle: str) -> None:
    count = FediverseState(store).follower_count(handle)
    write(config, followers_path(handle), documents.followers(config, handle, count))


def _name(store: Store, account: Account) -> str | None:
    """The category's name; None for all news, whose actor is named after the site."""
    if account.slug == ALL_NEWS:
        return None
    return next((c.name for c in store.categories() if c.slug == account.slug), account.slug)


def _write_account(config: Config, store: Store, account: Account) -> None:
    _, public = FediverseState(store).key_pair(account.handle, time.time())
    page = config.url(category_page_path(account.slug))
    name = _name(store, account)
    actor = documents.actor(config, account.handle, name, page, public)
    write(config, actor_path(account.handle), actor)
    write(config, webfinger_path(account.handle), documents.webfinger(config, account.handle))
    write_followers(config, store, account.handle)


def _write_outbox(config: Config, store: Store, account: Account) -> None:
    unsealed, others = store.subscription_members(account.slug, config.max_items)
    entries = store.entries_by_story_ids([*unsealed, *others])
    older = _page_name(store.newest_page(account.slug))
    _write_page(config, store, account, "current", entries, older, None)
    total = sum(c.count for c in store.categories() if account.slug in (ALL_NEWS, c.slug))
    oldest = _page_name(store.archive_page(account.slug, 1))
    collection = documents.collection(
        config,
        account.handle,
        total,
        config.url(outbox_page_path(account.handle, "current")),
        oldest and config.url(outbox_page_path(account.handle, oldest)),
    )
    write(config, outbox_path(account.handle), collection)


def _write_page(
    config: Config,
    store: Store,
    account: Account,
    name: str,
    entries: list[Entry],
    older: str | None,
    newer: str | None,
) -> None:
    """Create activities of `entries`, newest first, linked to the pages beside it."""
    newest_first = sorted(entries, key=lambda e: (e.published, e.story_id), reverse=True)
    items = []
    for entry in newest_first:
        story = story_event(config, StoryChange.PUBLISHED, entry)
        post = documents.article(config, account.handle, story, incarnation(store, entry.story_id))
        items.append(documents.activity(config, account.handle, "Create", post, "1"))
    page = documents.collection_page(
        config,
        account.handle,
        config.url(outbox_page_path(account.handle, name)),
        items,
        older and config.url(outbox_page_path(account.handle, older)),
        newer and config.url(outbox_page_path(account.handle, newer)),
    )
    write(config, outbox_page_path(account.handle, name), page)


def _write_nodeinfo(config: Config, store: Store) -> None:
    slugs = store.category_slugs()
    accounts = 1 + sum(1 for slug in slugs if account_for(config, slug) is not None)
    nodeinfo = documents.nodeinfo(config, accounts, store.article_count(), __version__)
    write(config, NODEINFO_PATH, nodeinfo)
