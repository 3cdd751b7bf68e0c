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
# Slugs are ASCII, so characters are bytes. A category slug is a file name with
# suffixes added (`feeds/<slug>.atom.gz`, a month page's folder, a temp file's
# prefix) and must stay far within the 255 bytes a file name may take; a page key
# is `articles/<key>.html`. A longer one is cut and keeps a hash of the whole.
MAX_SLUG_BYTES = 120
MAX_PAGE_KEY_BYTES = 250
_HASH_SUFFIX_LENGTH = len("-0123456789")  # `_hashed`'s
# What a configured slug may be: one path segment that needs no escaping in a URL,
# is the same on a case-insensitive filesystem, is neither "." nor "..", and is
# no longer than a slug may be.
CONFIGURED_SLUG = re.compile(rf"[a-z0-9][a-z0-9_-]{{0,{MAX_SLUG_BYTES - 1}}}")
_NOT_URL_SAFE = r"[^-A-Za-z0-9_]+"
_URL_SAFE = re.compile(r"[-A-Za-z0-9_]+")
_LATIN = re.compile("[A-Za-z]")
_CYRILLIC = re.compile("[\u0400-\u04ff]")


def category_slug(name: str, overrides: Mapping[str, str]) -> str:
    """`Политика` → `politika`, unless config.toml's [category_slugs] says otherwise."""
    if name in overrides:
        return overrides[name]
    slug = slugify(name) or _hashed("category", name)
    return f"{slug}-category" if slug == ALL_NEWS else capped(slug, MAX_SLUG_BYTES)


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
        return capped(story_id, MAX_PAGE_KEY_BYTES)
    slug = slugify(story_id, lowercase=False, regex_pattern=_NOT_URL_SAFE)
    return capped(_hashed(slug or "story", story_id), MAX_PAGE_KEY_BYTES)


def capped(slug: str, limit: int) -> str:
    """`slug` if within `limit` bytes, else its start and a hash of the whole of it:
    names that shared a slug still share the cut one, others stay apart. Slugs
    within the limit are never changed, so no published URL moves."""
    if len(slug) <= limit:
        return slug
    return _hashed(slug[: limit - _HASH_SUFFIX_LENGTH].rstrip("-_"), slug)


def _hashed(prefix: str, text: str) -> str:
    return f"{prefix}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"
