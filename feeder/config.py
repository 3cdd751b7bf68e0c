"""config.toml → a frozen, validated Config.

Read once at start-up; every error names the key and the file, because an
operator editing a config file needs to know exactly which line to fix.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from feeder.errors import CONFIG_EXIT_STATUS, FeederError
from feeder.files import TEMP_FOLDER
from feeder.slugs import ALL_NEWS, CONFIGURED_SLUG, MAX_SLUG_BYTES

DEFAULT_CONFIG_PATH = Path("config.toml")
# Names the config file when --config does not, as a systemd unit's Environment= may.
CONFIG_ENVIRONMENT_VARIABLE = "FEEDER_CONFIG"
# Entries an archive page may hold: NewsBlur's backfill reads the first 100 of a document.
ARCHIVE_PAGE_SIZES = range(50, 101)
# The picture of every link preview when `og_image` names no other: publishing
# writes the one bundled with feeder (`feeder/site/assets`) here, under output_dir.
DEFAULT_OG_IMAGE = "og-image.png"


class ConfigError(FeederError):
    """The configuration file is missing, unreadable or has a bad value."""

    exit_status = CONFIG_EXIT_STATUS


@dataclass(frozen=True)
class ScheduleConfig:
    """When `feeder run` does what."""

    ingest_interval: float = 60.0
    maintenance_cron: str = "30 3 * * *"
    watch: bool = True


@dataclass(frozen=True)
class ServerConfig:
    """The [server] table: where `feeder serve` (and the daemon) listens for subscribers."""

    host: str = "127.0.0.1"
    # 0 picks any free port; the server says which when it starts.
    port: int = 8080
    # Seconds a reader or proxy may reuse a file before asking again (conditionally).
    cache_max_age: int = 300
    # One log line per request; off where nginx in front logs them already.
    access_log: bool = True
    # The same for the month documents of months that have ended: they change
    # only when a story in them is corrected.
    archive_max_age: int = 7 * 24 * 3600


@dataclass(frozen=True)
class WebSubConfig:
    """The [websub] table: feeder as its own WebSub hub (docs/websub.md)."""

    enabled: bool = True
    # Public URL of the hub endpoint; "" until parsed, then <base_url>websub by default.
    hub_url: str = ""
    # Other hubs told about every changed feed (hub.mode=publish), and advertised beside ours.
    external_hubs: tuple[str, ...] = ()
    # Leases are never infinite (W3C WebSub 8.2 suggests 10 days).
    lease_seconds: int = 10 * 24 * 3600
    min_lease_seconds: int = 3600
    max_lease_seconds: int = 30 * 24 * 3600
    # Deliveries and verifications in flight at once, and how long each may take.
    concurrency: int = 50
    timeout_seconds: float = 10.0
    # A failed delivery is retried after retry_seconds, doubling up to retry_max_seconds,
    # until it has been tried max_attempts times.
    max_attempts: int = 8
    retry_seconds: float = 30.0
    retry_max_seconds: float = 3600.0
    # Loopback and private-network callbacks let anyone reach this host's internal services.
    allow_private_callbacks: bool = False
    max_subscriptions_per_host: int = 100
    max_subscriptions: int = 10_000


@dataclass(frozen=True)
class SearchConfig:
    """The [search] table (docs/search.md)."""

    # Off: no search box, no /search, and the index is left as it is (no cost
    # per story); `feeder regen --search` brings it up to date when turned on.
    enabled: bool = True
    # One query's database time; a query that needs more is stopped and told so.
    time_budget_ms: int = 250


@dataclass(frozen=True)
class TelegramConfig:
    """The [telegram] table: stories posted to Telegram channels (docs/channels.md).
    The bot token is never here: it comes from FEEDER_TELEGRAM_TOKEN or `token_file`."""

    api_url: str = "https://api.telegram.org"
    # The all-news channel: a numeric chat id such as "-1001234567890", or "@name".
    channel: str = ""
    # Category slug → that category's own channel.
    channels: dict[str, str] = field(default_factory=dict)
    # Category slugs posted without a notification sound.
    silent: tuple[str, ...] = ()
    token_file: Path | None = None
    # Telegram lets a bot post about 20 messages a minute to one channel.
    messages_per_minute: int = 20
    # A failed call is retried after retry_seconds, doubling up to retry_max_seconds,
    # until it has been tried max_attempts times.
    max_attempts: int = 8
    retry_seconds: float = 5.0
    retry_max_seconds: float = 600.0
    timeout_seconds: float = 10.0

    @property
    def enabled(self) -> bool:
        return bool(self.channel or self.channels)

    def chats(self, category_slug: str) -> list[str]:
        """Where a story of this category is posted."""
        chats = [self.channel] if self.channel else []
        if own := self.channels.get(category_slug):
            chats.append(own)
        return list(dict.fromkeys(chats))


@dataclass(frozen=True)
class FediverseConfig:
    """The [fediverse] table: every category and all news as an ActivityPub account
    (docs/fediverse.md)."""

    enabled: bool = False
    # The all-news account's name (@news@host); a category's account is its slug.
    handle: str = "news"
    # Category slugs that get no account.
    exclude: tuple[str, ...] = ()
    # Servers whose requests are refused and to which nothing is sent (and their subdomains).
    blocked_domains: tuple[str, ...] = ()
    # Loopback and private-network addresses let anyone reach this host's internal services.
    allow_private_addresses: bool = False
    # Deliveries in flight at once, and how long each (and each key fetch) may take.
    concurrency: int = 50
    timeout_seconds: float = 10.0
    max_attempts: int = 8
    retry_seconds: float = 30.0
    retry_max_seconds: float = 3600.0
    # What one server may send the inbox, and how far its clock may be off.
    max_body_bytes: int = 256 * 1024
    requests_per_minute: int = 120
    max_followers_per_host: int = 2000
    clock_skew_seconds: int = 3600

    def is_blocked(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return any(host == domain or host.endswith("." + domain) for domain in self.blocked_domains)


@dataclass(frozen=True)
class Config:
    inbox: Path
    database: Path
    output_dir: Path
    base_url: str
    site_title: str
    id_prefix: str
    timezone: ZoneInfo
    language: str
    max_items: int
    settle_seconds: float
    max_file_size: int
    # How long Atom feeds keep a withdrawn story's tombstone (RFC 6721).
    tombstone_days: int = 30
    # Bytes a feed file may take; the oldest entries are left out beyond it.
    max_feed_bytes: int = 1_000_000
    # Entries of an RFC 5005 archive page (`feeder.publish.archives`).
    archive_page_size: int = 50
    category_slugs: dict[str, str] = field(default_factory=dict)
    # The picture of every link preview (Open Graph, Twitter card): the wire has none.
    og_image: str = DEFAULT_OG_IMAGE
    og_image_width: int = 1200
    og_image_height: int = 630
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    server: ServerConfig = field(default_factory=ServerConfig)
    websub: WebSubConfig = field(default_factory=WebSubConfig)
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    fediverse: FediverseConfig = field(default_factory=FediverseConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    source: Path = DEFAULT_CONFIG_PATH

    @property
    def feeds_dir(self) -> Path:
        return self.output_dir / "feeds"

    @property
    def articles_dir(self) -> Path:
        return self.output_dir / "articles"

    @property
    def output_temp_dir(self) -> Path:
        """Where writes under output_dir make their temp files (`feeder.files`); hidden,
        so never served."""
        return self.output_dir / TEMP_FOLDER

    @property
    def lock_path(self) -> Path:
        """Serialises ingest and regeneration between processes sharing a database."""
        return self.database.with_name(self.database.name + ".lock")

    @property
    def daemon_lock_path(self) -> Path:
        """Held by the one `feeder run` allowed per database."""
        return self.database.with_name(self.database.name + ".daemon.lock")

    @property
    def daemon_state_path(self) -> Path:
        """The daemon's heartbeat and next run times, for `feeder status`."""
        return self.database.with_name(self.database.name + ".daemon.json")

    def url(self, relative: str) -> str:
        """An absolute URL for a path under the output directory."""
        return self.base_url + relative

    @property
    def og_image_url(self) -> str:
        """Previews need an absolute URL: `og_image` as it is, or under base_url."""
        return self.og_image if _is_http_url(self.og_image) else self.url(self.og_image)


# The kinds a setting can have, and how an error message names each.
Kind = TypeVar("Kind", int, float, str, bool)
Number = TypeVar("Number", int, float)
_KIND_NAMES: dict[type, str] = {
    int: "a whole number",
    float: "a number",
    str: "a string in quotes",
    bool: "true or false",
}


class _Reader:
    """Pulls typed values out of a parsed TOML table, naming key and file on error."""

    def __init__(self, data: dict[str, object], source: Path, prefix: str = "") -> None:
        self.data = data
        self.source = source
        self.prefix = prefix
        self.known: set[str] = set()

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.source}: key '{self.prefix}{key}' {problem}")

    def table(self, name: str) -> _Reader:
        """A [name] table; every key in it is optional when the table is."""
        self.known.add(name)
        value = self.data.get(name, {})
        if not isinstance(value, dict):
            raise self.fail(name, f"must be a table: a [{name}] line followed by its keys")
        return _Reader(value, self.source, f"{self.prefix}{name}.")

    def names(self, key: str) -> dict[str, str]:
        """A table of name = "non-empty string"."""
        self.known.add(key)
        value = self.data.get(key, {})
        if not isinstance(value, dict) or not all(
            isinstance(name, str) and name for name in value.values()
        ):
            raise self.fail(key, 'must be a table of name = "string" lines')
        return dict(value)

    def strings(self, key: str) -> tuple[str, ...]:
        """A list of non-empty strings, empty by default."""
        self.known.add(key)
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(key, 'must be a list of strings in quotes, such as ["politika"]')
        return tuple(value)

    def urls(self, key: str) -> tuple[str, ...]:
        """A list of absolute http(s) URLs, empty by default."""
        self.known.add(key)
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(
            isinstance(url, str) and _is_http_url(url) for url in value
        ):
            raise self.fail(key, 'must be a list of http(s) URLs, such as ["https://hub.example/"]')
        return tuple(value)

    def reject_unknown(self) -> None:
        """A misspelt key would otherwise be ignored, and its setting silently not applied."""
        for key in self.data:
            if key not in self.known:
                close = difflib.get_close_matches(key, self.known, n=1)
                hint = f"did you mean '{self.prefix}{close[0]}'?" if close else "remove it"
                raise self.fail(key, f"is not a setting feeder knows; {hint}")

    def get(self, key: str, kind: type[Kind], default: Kind | None = None) -> Kind:
        self.known.add(key)
        value = self.data.get(key, default)
        if value is None:
            raise self.fail(key, f"is missing; add it (see the comments in {self.source.name})")
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise self.fail(key, f"must be {_KIND_NAMES[kind]}, not {value!r}")
        return value

    def positive(self, key: str, kind: type[Number], default: Number | None = None) -> Number:
        value = self.get(key, kind, default)
        if value <= 0:
            raise self.fail(key, f"must be greater than 0, not {value!r}")
        return value

    def non_negative(self, key: str, kind: type[Number], default: Number | None = None) -> Number:
        value = self.get(key, kind, default)
        if value < 0:
            raise self.fail(key, f"must be 0 or more, not {value!r}")
        return value

    def between(self, key: str, bounds: range, default: int) -> int:
        value = self.get(key, int, default)
        if value not in bounds:
            raise self.fail(key, f"must be from {bounds.start} to {bounds.stop - 1}, not {value!r}")
        return value

    def path(self, key: str, default: str | None = None) -> Path:
        """Relative paths are relative to the config file, so it works from any directory."""
        value = Path(self.get(key, str, default)).expanduser()
        return value if value.is_absolute() else (self.source.parent / value).resolve()


def load_config(path: Path = DEFAULT_CONFIG_PATH) -> Config:
    try:
        with path.open("rb") as config_file:
            data = tomllib.load(config_file)
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: config file not found; pass --config PATH or run from the directory "
            f"that holds {path.name}"
        ) from None
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: cannot read config: {error}") from None
    return parse_config(data, path)


def parse_config(data: dict[str, object], source: Path) -> Config:
    reader = _Reader(data, source)
    base_url = reader.get("base_url", str)
    if not _is_http_url(base_url):
        raise reader.fail("base_url", f"must be an absolute http(s) URL, not {base_url!r}")
    base_url = base_url if base_url.endswith("/") else base_url + "/"
    id_prefix = reader.get("id_prefix", str)
    if not id_prefix.startswith("tag:") or "," not in id_prefix or ":" not in id_prefix[4:]:
        raise reader.fail(
            "id_prefix",
            f"must be a tag: URI such as 'tag:example.org,2024:feeder', not {id_prefix!r}",
        )
    timezone_name = reader.get("timezone", str, "Asia/Baku")
    try:
        timezone = ZoneInfo(timezone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise reader.fail("timezone", f"names no known time zone: {timezone_name!r}") from None
    config = Config(
        inbox=reader.path("inbox"),
        database=reader.path("database"),
        output_dir=reader.path("output_dir"),
        base_url=base_url,
        site_title=reader.get("site_title", str),
        id_prefix=id_prefix.rstrip("/"),
        timezone=timezone,
        language=reader.get("language", str, "ru"),
        max_items=reader.positive("max_items", int, 50),
        settle_seconds=reader.non_negative("settle_seconds", float, 2.0),
        max_file_size=reader.positive("max_file_size", int, 1024 * 1024),
        tombstone_days=reader.positive("tombstone_days", int, 30),
        max_feed_bytes=reader.positive("max_feed_bytes", int, 1_000_000),
        archive_page_size=reader.between("archive_page_size", ARCHIVE_PAGE_SIZES, 50),
        category_slugs=_category_slugs(reader),
        og_image=_og_image(reader),
        og_image_width=reader.positive("og_image_width", int, 1200),
        og_image_height=reader.positive("og_image_height", int, 630),
        schedule=_parse_schedule(reader.table("schedule")),
        server=_parse_server(reader.table("server")),
        websub=_parse_websub(reader.table("websub"), base_url),
        telegram=_parse_telegram(reader.table("telegram"), source),
        fediverse=_parse_fediverse(reader.table("fediverse")),
        search=_parse_search(reader.table("search")),
        source=source,
    )
    reader.reject_unknown()
    return config


def _category_slugs(reader: _Reader) -> dict[str, str]:
    """A slug is a folder and file name under output_dir: a value such as
    "../../x" would write outside it, and two categories on one slug share a feed."""
    slugs = reader.names("category_slugs")
    owners: dict[str, str] = {}
    for name, slug in slugs.items():
        key = f'category_slugs."{name}"'
        if not CONFIGURED_SLUG.fullmatch(slug):
            raise reader.fail(
                key,
                "must be one path segment of lowercase Latin letters, digits, '-' and '_', "
                f'at most {MAX_SLUG_BYTES} of them (such as "politika"), not {slug!r}',
            )
        if slug == ALL_NEWS:
            raise reader.fail(key, f"is {slug!r}, the all-news feed's slug; pick another")
        if slug in owners:
            raise reader.fail(
                key, f'is {slug!r}, already the slug of "{owners[slug]}"; give each its own'
            )
        owners[slug] = name
    return slugs


def _og_image(reader: _Reader) -> str:
    """An absolute http(s) URL, or a path under output_dir that a server will serve:
    relative, without `..` or hidden parts (never served)."""
    value = reader.get("og_image", str, DEFAULT_OG_IMAGE)
    if _is_http_url(value):
        return value
    parts = value.split("/")
    if (
        not value
        or value.startswith("/")
        or any(not part or part.startswith(".") for part in parts)
    ):
        raise reader.fail(
            "og_image",
            "must be an http(s) URL or a path under output_dir without '..' or hidden "
            f"names, such as {DEFAULT_OG_IMAGE!r}, not {value!r}",
        )
    return value


def _parse_schedule(reader: _Reader) -> ScheduleConfig:
    """maintenance_cron is checked by the daemon, the only one that needs it."""
    defaults = ScheduleConfig()
    schedule = ScheduleConfig(
        ingest_interval=reader.positive("ingest_interval", float, defaults.ingest_interval),
        maintenance_cron=reader.get("maintenance_cron", str, defaults.maintenance_cron),
        watch=reader.get("watch", bool, defaults.watch),
    )
    reader.reject_unknown()
    return schedule


def _parse_server(reader: _Reader) -> ServerConfig:
    defaults = ServerConfig()
    host = reader.get("host", str, defaults.host)
    if not host.strip():
        raise reader.fail("host", "must name an address to listen on, such as '127.0.0.1'")
    port = reader.get("port", int, defaults.port)
    if not 0 <= port <= 65535:
        raise reader.fail("port", f"must be a port number from 0 to 65535, not {port!r}")
    server = ServerConfig(
        host=host,
        port=port,
        cache_max_age=reader.non_negative("cache_max_age", int, defaults.cache_max_age),
        access_log=reader.get("access_log", bool, defaults.access_log),
        archive_max_age=reader.non_negative("archive_max_age", int, defaults.archive_max_age),
    )
    reader.reject_unknown()
    return server


def _parse_search(reader: _Reader) -> SearchConfig:
    defaults = SearchConfig()
    search = SearchConfig(
        enabled=reader.get("enabled", bool, defaults.enabled),
        time_budget_ms=reader.positive("time_budget_ms", int, defaults.time_budget_ms),
    )
    reader.reject_unknown()
    return search


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in {"http", "https"} and bool(parts.netloc)


def _retry_seconds(reader: _Reader, first: float, most: float) -> tuple[float, float]:
    """A channel's backoff: `retry_seconds`, doubling up to `retry_max_seconds`."""
    retry = reader.positive("retry_seconds", float, first)
    retry_max = reader.positive("retry_max_seconds", float, most)
    if retry_max < retry:
        raise reader.fail("retry_max_seconds", f"must be at least retry_seconds ({retry:g})")
    return retry, retry_max


def _parse_websub(reader: _Reader, base_url: str) -> WebSubConfig:
    defaults = WebSubConfig()
    hub_url = reader.get("hub_url", str, base_url + "websub")
    if not hub_url.startswith(base_url) or hub_url == base_url:
        raise reader.fail(
            "hub_url",
            f"must be a URL under base_url ({base_url}), where feeder serves its hub, "
            f"such as '{base_url}websub', not {hub_url!r}",
        )
    external_hubs = reader.urls("external_hubs")
    min_lease = reader.positive("min_lease_seconds", int, defaults.min_lease_seconds)
    max_lease = reader.positive("max_lease_seconds", int, defaults.max_lease_seconds)
    if max_lease < min_lease:
        raise reader.fail("max_lease_seconds", f"must be at least min_lease_seconds ({min_lease})")
    lease = reader.positive("lease_seconds", int, defaults.lease_seconds)
    if not min_lease <= lease <= max_lease:
        raise reader.fail(
            "lease_seconds",
            f"must be from min_lease_seconds ({min_lease}) to max_lease_seconds "
            f"({max_lease}), not {lease}",
        )
    retry, retry_max = _retry_seconds(reader, defaults.retry_seconds, defaults.retry_max_seconds)
    websub = WebSubConfig(
        enabled=reader.get("enabled", bool, defaults.enabled),
        hub_url=hub_url,
        external_hubs=external_hubs,
        lease_seconds=lease,
        min_lease_seconds=min_lease,
        max_lease_seconds=max_lease,
        concurrency=reader.positive("concurrency", int, defaults.concurrency),
        timeout_seconds=reader.positive("timeout_seconds", float, defaults.timeout_seconds),
        max_attempts=reader.positive("max_attempts", int, defaults.max_attempts),
        retry_seconds=retry,
        retry_max_seconds=retry_max,
        allow_private_callbacks=reader.get(
            "allow_private_callbacks", bool, defaults.allow_private_callbacks
        ),
        max_subscriptions_per_host=reader.positive(
            "max_subscriptions_per_host", int, defaults.max_subscriptions_per_host
        ),
        max_subscriptions=reader.positive("max_subscriptions", int, defaults.max_subscriptions),
    )
    reader.reject_unknown()
    return websub


# A numeric chat id (channels and supergroups are negative) or a public @username.
_CHAT = re.compile(r"-?[0-9]{1,20}|@[A-Za-z][A-Za-z0-9_]{3,31}")


def _parse_telegram(reader: _Reader, source: Path) -> TelegramConfig:
    defaults = TelegramConfig()
    api_url = reader.get("api_url", str, defaults.api_url)
    if not _is_http_url(api_url):
        raise reader.fail("api_url", f"must be an absolute http(s) URL, not {api_url!r}")
    channel = reader.get("channel", str, "")
    if channel and not _CHAT.fullmatch(channel):
        raise reader.fail(
            "channel", f"must be a chat id such as '-1001234567890' or '@name', not {channel!r}"
        )
    channels = reader.names("channels")
    for slug, chat in channels.items():
        if not _CHAT.fullmatch(chat):
            raise reader.fail(
                f"channels.{slug}",
                f"must be a chat id such as '-1001234567890' or '@name', not {chat!r}",
            )
    token_file = reader.get("token_file", str, "")
    retry, retry_max = _retry_seconds(reader, defaults.retry_seconds, defaults.retry_max_seconds)
    telegram = TelegramConfig(
        api_url=api_url.rstrip("/"),
        channel=channel,
        channels=channels,
        silent=tuple(reader.strings("silent")),
        token_file=(source.parent / token_file) if token_file else None,
        messages_per_minute=reader.positive(
            "messages_per_minute", int, defaults.messages_per_minute
        ),
        max_attempts=reader.positive("max_attempts", int, defaults.max_attempts),
        retry_seconds=retry,
        retry_max_seconds=retry_max,
        timeout_seconds=reader.positive("timeout_seconds", float, defaults.timeout_seconds),
    )
    reader.reject_unknown()
    return telegram


# A fediverse user name: what Mastodon takes (it folds case, so only lowercase here).
FEDIVERSE_HANDLE = re.compile(r"[a-z0-9_]([a-z0-9_.-]{0,62}[a-z0-9_])?")


def _parse_fediverse(reader: _Reader) -> FediverseConfig:
    defaults = FediverseConfig()
    handle = reader.get("handle", str, defaults.handle)
    if not FEDIVERSE_HANDLE.fullmatch(handle):
        raise reader.fail(
            "handle",
            "must be a user name of lowercase Latin letters, digits, '_', '.' and '-' "
            f"(such as 'news'), not {handle!r}",
        )
    blocked = tuple(domain.lower().strip(".") for domain in reader.strings("blocked_domains"))
    retry, retry_max = _retry_seconds(reader, defaults.retry_seconds, defaults.retry_max_seconds)
    fediverse = FediverseConfig(
        enabled=reader.get("enabled", bool, defaults.enabled),
        handle=handle,
        exclude=reader.strings("exclude"),
        blocked_domains=blocked,
        allow_private_addresses=reader.get(
            "allow_private_addresses", bool, defaults.allow_private_addresses
        ),
        concurrency=reader.positive("concurrency", int, defaults.concurrency),
        timeout_seconds=reader.positive("timeout_seconds", float, defaults.timeout_seconds),
        max_attempts=reader.positive("max_attempts", int, defaults.max_attempts),
        retry_seconds=retry,
        retry_max_seconds=retry_max,
        max_body_bytes=reader.positive("max_body_bytes", int, defaults.max_body_bytes),
        requests_per_minute=reader.positive(
            "requests_per_minute", int, defaults.requests_per_minute
        ),
        max_followers_per_host=reader.positive(
            "max_followers_per_host", int, defaults.max_followers_per_host
        ),
        clock_skew_seconds=reader.positive("clock_skew_seconds", int, defaults.clock_skew_seconds),
    )
    reader.reject_unknown()
    return fediverse
