"""Names → stable ASCII path segments for feed and page URLs.

A URL that subscribers have saved must never change, so slugs depend only on
the name (and an explicit override), never on order of arrival.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

from slugify import slugify

ALL_NEWS = "all"
# What a configured slug may be: one path segment that needs no escaping in a URL,
# is the same on a case-insensitive filesystem, and is neither "." nor "..".
CONFIGURED_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]*")
_NOT_URL_SAFE = r"[^-A-Za-z0-9_]+"
_URL_SAFE = re.compile(r"[-A-Za-z0-9_]+")
_LATIN = re.compile("[A-Za-z]")
_CYRILLIC = re.compile("[\u0400-\u04ff]")


def category_slug(name: str, overrides: Mapping[str, str]) -> str:
    """`Политика` → `politika`, unless config.toml's [category_slugs] says otherwise."""
    if name in overrides:
        return overrides[name]
    slug = slugify(name) or _hashed("category", name)
    return f"{slug}-category" if slug == ALL_NEWS else slug


def display_name(first: str, second: str) -> str:
    """Of two names that share a slug, the one its feed shows, whatever the order
    they arrived in: a name in one script before one mixing Latin and Cyrillic (a
    look-alike letter), one not all capitals, then the first in code point order."""
    return min(first, second, key=lambda name: (_mixes_scripts(name), name.isupper(), name))


def _mixes_scripts(name: str) -> bool:
    return bool(_LATIN.search(name) and _CYRILLIC.search(name))


def page_key(story_id: str) -> str:
    """The agency's ids are already URL-safe; hand-dropped names get a transliteration plus a hash."""
    if _URL_SAFE.fullmatch(story_id):
        return story_id
    slug = slugify(story_id, lowercase=False, regex_pattern=_NOT_URL_SAFE)
    return _hashed(slug or "story", story_id)


def _hashed(prefix: str, text: str) -> str:
    return f"{prefix}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"
