"""Which accounts exist and where each of their documents lives (pure).

An account is the all-news one (`[fediverse] handle`) or a category's (its
slug), unless `exclude` names it. Every URL hangs off `base_url`, and every
static document sits under `fediverse/` of the output directory, where both
servers answer it as `application/activity+json`.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from feeder.config import FEDIVERSE_HANDLE, Config
from feeder.slugs import ALL_NEWS

FOLDER = "fediverse"
ACTIVITY_JSON = "application/activity+json"
JRD_JSON = "application/jrd+json"
NODEINFO_JSON = 'application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.1#"'


@dataclass(frozen=True)
class Account:
    handle: str
    slug: str
    """The feed it follows: `all` for all news, else a category's slug."""


def account_for(config: Config, slug: str) -> Account | None:
    """The account of feed `slug`, None when it has none (excluded, or a slug Mastodon
    would not take as a user name, or one that is the all-news handle)."""
    if slug == ALL_NEWS:
        return Account(config.fediverse.handle, ALL_NEWS)
    if (
        slug in config.fediverse.exclude
        or slug == config.fediverse.handle
        or not FEDIVERSE_HANDLE.fullmatch(slug)
    ):
        return None
    return Account(slug, slug)


def account_named(config: Config, handle: str, slugs: list[str]) -> Account | None:
    """The account called `handle` among the feeds `slugs` (all news and categories)."""
    if handle == config.fediverse.handle:
        return Account(handle, ALL_NEWS)
    return account_for(config, handle) if handle in slugs else None


def host(config: Config) -> str:
    """The domain of every account: base_url's host and port, `@news@host`."""
    return urlsplit(config.base_url).netloc


def actor_path(handle: str) -> str:
    return f"{FOLDER}/users/{handle}"


def actor_id(config: Config, handle: str) -> str:
    return config.url(actor_path(handle))


def key_id(config: Config, handle: str) -> str:
    return actor_id(config, handle) + "#main-key"


def outbox_path(handle: str) -> str:
    return f"{FOLDER}/outbox/{handle}"


def outbox_page_path(handle: str, page: str) -> str:
    """`page`: `current`, or an archive page's `<generation>-<n>`."""
    return f"{FOLDER}/outbox/{handle}-{page}"


def followers_path(handle: str) -> str:
    return f"{FOLDER}/followers/{handle}"


def webfinger_path(handle: str) -> str:
    return f"{FOLDER}/webfinger/{handle}"


NODEINFO_PATH = f"{FOLDER}/nodeinfo"


SHARED_INBOX_PATH = "inbox"


def account_inbox_path(handle: str) -> str:
    return f"{FOLDER}/inbox/{handle}"


def route(relative: str) -> str:
    """The path feeder's server answers `relative` (under base_url) at: as for the
    hub, a proxy maps base_url to the server's root."""
    return "/" + relative


def object_id(config: Config, handle: str, story_id: str, incarnation: int) -> str:
    """The Article's id: a restored story is a new object (docs/fediverse.md), since
    Mastodon keeps a deleted id's tombstone and refuses it for good."""
    suffix = f"-{incarnation}" if incarnation else ""
    return config.url(f"{FOLDER}/articles/{handle}/{story_id}{suffix}")


def document_media_type(relative: str) -> str | None:
    """The type both servers give a file under `fediverse/`, None for any other."""
    if not relative.startswith(FOLDER + "/"):
        return None
    if relative == NODEINFO_PATH:
        return NODEINFO_JSON
    return JRD_JSON if relative.startswith(f"{FOLDER}/webfinger/") else ACTIVITY_JSON
