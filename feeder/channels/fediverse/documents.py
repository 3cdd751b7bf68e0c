"""The documents other servers read: WebFinger, actors, NodeInfo, collections and
activities (pure: plain data in, JSON-ready dicts out).

A story is an `Article` whose `preview` is a short `Note` (FEP-b2b8): servers
that show long-form posts take the Article, Mastodon shows the preview's
headline, lead and link. Everything is addressed to Public, cc the account's
followers.
"""

from __future__ import annotations

import hashlib
import html
from typing import Any

from feeder.channels.fediverse.accounts import (
    NODEINFO_PATH,
    SHARED_INBOX_PATH,
    account_inbox_path,
    actor_id,
    followers_path,
    host,
    key_id,
    object_id,
    outbox_path,
)
from feeder.config import Config
from feeder.events import StoryEvent

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
CONTEXT = ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"]
NODEINFO_SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/2.1"
Document = dict[str, Any]


def webfinger(config: Config, handle: str) -> Document:
    actor = actor_id(config, handle)
    return {
        "subject": f"acct:{handle}@{host(config)}",
        "aliases": [actor],
        "links": [{"rel": "self", "type": "application/activity+json", "href": actor}],
    }


def actor(
    config: Config, handle: str, category: str | None, page_url: str, public_pem: str
) -> Document:
    """A Service (Mastodon labels it a bot) named after the site and the category (the
    site alone for all news); `url` is the feed's page, `icon` the site's picture."""
    me = actor_id(config, handle)
    name = config.site_title if category is None else f"{config.site_title} — {category}"
    return {
        "@context": CONTEXT,
        "id": me,
        "type": "Service",
        "preferredUsername": handle,
        "name": name,
        "summary": f"<p>{html.escape(name)}</p>",
        "url": page_url,
        "inbox": config.url(account_inbox_path(handle)),
        "outbox": config.url(outbox_path(handle)),
        "followers": config.url(followers_path(handle)),
        "endpoints": {"sharedInbox": config.url(SHARED_INBOX_PATH)},
        "manuallyApprovesFollowers": False,
        "discoverable": True,
        "indexable": True,
        "icon": {"type": "Image", "mediaType": "image/png", "url": config.og_image_url},
        "publicKey": {"id": key_id(config, handle), "owner": me, "publicKeyPem": public_pem},
    }


def nodeinfo_links(config: Config) -> Document:
    """/.well-known/nodeinfo: where the NodeInfo document is."""
    return {"links": [{"rel": NODEINFO_SCHEMA, "href": config.url(NODEINFO_PATH)}]}


def nodeinfo(config: Config, accounts: int, stories: int, version: str) -> Document:
    return {
        "version": "2.1",
        "software": {"name": "feeder", "version": version},
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": ["atom1.0", "rss2.0"]},
        "openRegistrations": False,
        "usage": {"users": {"total": accounts}, "localPosts": stories},
        "metadata": {"nodeName": config.site_title},
    }


def followers(config: Config, handle: str, count: int) -> Document:
    """The count only: who follows whom is nobody else's business."""
    return {
        "@context": CONTEXT[0],
        "id": config.url(followers_path(handle)),
        "type": "OrderedCollection",
        "totalItems": count,
    }


def collection(config: Config, handle: str, total: int, first: str, last: str | None) -> Document:
    return {
        "@context": CONTEXT[0],
        "id": config.url(outbox_path(handle)),
        "type": "OrderedCollection",
        "totalItems": total,
        "first": first,
        **({"last": last} if last else {}),
    }


def collection_page(
    config: Config,
    handle: str,
    page_id: str,
    items: list[Document],
    older: str | None,
    newer: str | None,
) -> Document:
    return {
        "@context": CONTEXT[0],
        "id": page_id,
        "type": "OrderedCollectionPage",
        "partOf": config.url(outbox_path(handle)),
        "orderedItems": items,
        **({"next": older} if older else {}),
        **({"prev": newer} if newer else {}),
    }


def article(config: Config, handle: str, story: StoryEvent, incarnation: int) -> Document:
    me = actor_id(config, handle)
    object_url = object_id(config, handle, story.story_id, incarnation)
    link = f'<a href="{html.escape(story.url)}">{html.escape(story.url)}</a>'
    preview = (
        f"<p><strong>{html.escape(story.headline)}</strong></p>"
        f"<p>{html.escape(story.lead)}</p><p>{link}</p>"
    )
    return {
        "id": object_url,
        "type": "Article",
        "attributedTo": me,
        "name": story.headline,
        "summary": html.escape(story.lead),
        "content": "".join(f"<p>{html.escape(paragraph)}</p>" for paragraph in story.body),
        "url": story.url,
        "published": story.published.isoformat(),
        **({"updated": story.updated.isoformat()} if story.revision > 1 else {}),
        "tag": [{"type": "Hashtag", "name": "#" + story.category_slug.replace("-", "_")}],
        "preview": {"type": "Note", "attributedTo": me, "content": preview},
        "to": [PUBLIC],
        "cc": [config.url(followers_path(handle))],
    }


def activity(config: Config, handle: str, kind: str, thing: Document, suffix: str) -> Document:
    """`kind` (Create, Update, Delete) of `thing` by the account; `suffix` makes the
    activity's id unique (a revision, or `delete`)."""
    return {
        "@context": CONTEXT[0],
        "id": f"{thing['id']}#{kind.lower()}-{suffix}",
        "type": kind,
        "actor": actor_id(config, handle),
        "published": thing.get("updated") or thing.get("published"),
        "to": [PUBLIC],
        "cc": [config.url(followers_path(handle))],
        "object": thing,
    }


def tombstone(config: Config, handle: str, story_id: str, incarnation: int) -> Document:
    return {"id": object_id(config, handle, story_id, incarnation), "type": "Tombstone"}


def accept(config: Config, handle: str, follow: Document) -> Document:
    """The answer to a Follow, which carries the Follow back as it came."""
    return {
        "@context": CONTEXT[0],
        "id": f"{actor_id(config, handle)}#accept-{_short(str(follow.get('id', '')))}",
        "type": "Accept",
        "actor": actor_id(config, handle),
        "object": follow,
    }


def _short(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24]
