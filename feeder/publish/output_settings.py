"""The settings baked into the published output, recorded beside it.

base_url, the site title, the language, the id prefix, the time zone pages
show, the number of entries per feed and the polling hint (RSS `<ttl>`, from
`[server] cache_max_age`) and the WebSub hubs are written into every feed, page
and OPML file. A change to one of them reaches only the files written after
it, so feeds carried the old base URL until something regenerated them all.
Each publish records the settings its output was made with; a run that finds
them different regenerates what they are baked into first. The record is
written only after that regeneration, so a run killed halfway redoes it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from feeder.config import Config
from feeder.feeds.hubs import hub_urls
from feeder.files import write_if_changed

log = logging.getLogger(__name__)

# Hidden, so never served (feeder's server refuses dot files; so does nginx's
# usual configuration), and in the folder it describes, so it moves with it.
RECORD_NAME = ".feeder-output.json"


class Reach(Enum):
    """What a setting is baked into."""

    FEEDS = "feeds"  # feed files only
    EVERYTHING = "everything"  # feeds, every article page, the index and OPML


def baked_settings(config: Config) -> dict[str, tuple[str, Reach]]:
    """Every setting the output carries, with what it reaches; a new one is one line here."""
    return {
        "base_url": (config.base_url, Reach.EVERYTHING),
        "site_title": (config.site_title, Reach.EVERYTHING),
        "language": (config.language, Reach.EVERYTHING),
        "timezone": (config.timezone.key, Reach.EVERYTHING),
        # Every page's header has the search box, or not.
        "search.enabled": (str(config.search.enabled), Reach.EVERYTHING),
        "id_prefix": (config.id_prefix, Reach.FEEDS),
        "max_items": (str(config.max_items), Reach.FEEDS),
        "max_feed_bytes": (str(config.max_feed_bytes), Reach.FEEDS),
        "server.cache_max_age": (str(config.server.cache_max_age), Reach.FEEDS),  # RSS <ttl>
        # Every feed names its WebSub hubs (none when the hub is off).
        "websub_hubs": (" ".join(hub_urls(config)), Reach.FEEDS),
    }


@dataclass(frozen=True)
class SettingsChange:
    """The settings that differ from the ones the output was made with."""

    changed: dict[str, tuple[str | None, str]]
    reach: Reach | None

    def describe(self) -> str:
        return "; ".join(
            f"{key} was {old!r}, is {new!r}" if old is not None else f"{key} {new!r}"
            for key, (old, new) in self.changed.items()
        )


def settings_change(config: Config, archive_is_empty: Callable[[], bool]) -> SettingsChange:
    """What differs from the record. With no record and a non-empty archive, the
    output was made by a feeder that kept none, with settings unknown: everything
    is rebuilt once. (Asked only then: counting the archive is not free.)"""
    recorded = _read_record(config.output_dir)
    current = baked_settings(config)
    if recorded is None:
        if archive_is_empty():
            return SettingsChange({}, None)
        recorded = {}
    changed = {
        key: (recorded.get(key), value)
        for key, (value, _) in current.items()
        if recorded.get(key) != value
    }
    reaches = {current[key][1] for key in changed}
    reach = Reach.EVERYTHING if Reach.EVERYTHING in reaches else (Reach.FEEDS if reaches else None)
    return SettingsChange(changed, reach)


def record_settings(config: Config) -> None:
    """After a publish: the output now carries the current settings."""
    values = {key: value for key, (value, _) in baked_settings(config).items()}
    data = json.dumps(values, ensure_ascii=False, indent=1, sort_keys=True).encode()
    write_if_changed(config.output_dir / RECORD_NAME, data, temp_dir=config.output_temp_dir)


def _read_record(output_dir: Path) -> dict[str, str] | None:
    try:
        recorded = json.loads((output_dir / RECORD_NAME).read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        log.warning(
            "%s is unreadable; treating the output as made with unknown settings",
            output_dir / RECORD_NAME,
        )
        return {}
    return recorded if isinstance(recorded, dict) else {}
