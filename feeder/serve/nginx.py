"""`feeder nginx-config`: an nginx server block that serves output_dir as feeder serves it.

A popular feed is polled by more readers than one Python process should
answer, and the output is static files, so nginx serves them and any CDN sits
in front of nginx. The block is printed from the same rules `feeder serve`
follows (`feeder.serve.http_rules`, the format registry, the app's dynamic routes),
so the two agree header for header; tests/test_nginx.py checks that against
Debian's nginx.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from starlette.routing import Route

from feeder.config import Config
from feeder.feeds.formats import FEED_FORMATS, IMAGE_MEDIA_TYPES, PAGE_MEDIA_TYPES, is_text
from feeder.paths import category_page_path
from feeder.serve.http_rules import RETIRED_PREFIX, SEALED_PAGE_PATTERN, cache_control
from feeder.serve.precompress import GZIP_LEVEL, GZIP_MINIMUM_SIZE
from feeder.site.withdrawals import ARTICLES_FOLDER, GONE_FOLDER
from feeder.slugs import ALL_NEWS

# The internal prefix a browser's request for a feed is rewritten to (a hidden name:
# no request can ask for it directly, and it is refused like every hidden name).
BROWSER_PREFIX = "/.feeder-browser/"
PAGE_LOCATION = "/.feeder-page"
NOT_SERVED = "/.feeder-not-served"
GONE_LOCATION = "/.feeder-gone/"


def nginx_config(config: Config, listen: str = "80") -> str:
    root = str(config.output_dir.resolve())
    cache = cache_control(config)
    sealed_cache = cache_control(config, sealed=True)
    articles, gone = ARTICLES_FOLDER.as_posix(), GONE_FOLDER.as_posix()
    server_name = urlsplit(config.base_url).hostname or "_"
    upstream = _upstream(config)
    feed_suffixes = "|".join(feed_format.suffix for feed_format in FEED_FORMATS)
    browser_types = sorted({feed_format.browser_media_type for feed_format in FEED_FORMATS})
    types = _types()
    text_types = {media_type for media_type, _ in types if is_text(media_type)} | set(browser_types)
    charset_types = " ".join(sorted(text_types))
    # text/html is always among them: nginx warns when it is named. The fediverse
    # documents are compressed too, as feeder's server compresses all but pictures,
    # though without a charset (their types say UTF-8 already).
    compressed = text_types | (_fediverse_types() if config.fediverse.enabled else set())
    gzip_types = " ".join(sorted(compressed - {"text/html"}))
    type_lines = "\n".join(f"        {media_type} {suffix};" for media_type, suffix in types)
    # A feed without its page is given to a browser as its format's type for browsers.
    browser_type_lines = "\n".join(
        f"            {f.browser_media_type} {f.suffix};" for f in FEED_FORMATS
    )
    feed_type_lines = "\n".join(
        f'    "~*{re.escape(feed_format.media_type)}" 0;' for feed_format in FEED_FORMATS
    )
    # The page paths with nginx's capture for the slug.
    front_page = category_page_path(ALL_NEWS)
    category_page = category_page_path("$feeder_slug")
    all_news = re.escape(ALL_NEWS)
    proxied = "".join(_proxied(path, upstream) for path in _dynamic_paths(config))
    fediverse = _fediverse_documents() if config.fediverse.enabled else ""
    return f"""\
# nginx server block for feeder's output, printed by `feeder nginx-config` from
# {config.source}. Print it again after changing that file or upgrading feeder.
# Install: docs/serving.md ("Behind nginx").

# A person's browser opening a feed gets the page that shows its stories: the
# rule of feeder's server (`wants_page`, docs/serving.md "Feeds opened in a
# browser"). Its Accept names text/html and none of the feed types.
map $http_accept $feeder_wants_page {{
    default 0;
{feed_type_lines}
    "~*text/html" 1;
}}
# The page for each feed file (`page_for_feed`).
map $feeder_feed $feeder_page {{
    default /.feeder-no-page;
    "~^/feeds/{all_news}\\.({feed_suffixes})$" /{front_page};
    "~^/feeds/pages/{all_news}/[^/]+\\.({feed_suffixes})$" /{front_page};
    "~^/feeds/(?<feeder_slug>[^/.]+)\\.({feed_suffixes})$" /{category_page};
    "~^/feeds/pages/(?<feeder_slug>[^/]+)/[^/]+\\.({feed_suffixes})$" /{category_page};
}}
# Archive pages never change their entries: archive_max_age and immutable
# (`is_sealed_page`), decided from the path ($uri: no query string) alone. A
# browser shown a page in place of one has $uri rewritten to {PAGE_LOCATION}.
map $uri $feeder_cache_control {{
    default "{cache}";
    "~^/{SEALED_PAGE_PATTERN}$" "{sealed_cache}";
}}

server {{
    listen {listen};
    server_name {server_name};
    root {root};
    index index.html;

    # The types feeder serves, text with charset=utf-8, and nothing else guessed.
    types {{
{type_lines}
    }}
    default_type application/octet-stream;
    charset utf-8;
    charset_types {charset_types};

    # Validators from each file's mtime and size, as feeder's own server makes them;
    # publishing rewrites a file only when its bytes change, so polls get 304s.
    etag on;
    if_modified_since exact;
    # Publishing writes <file>.gz beside each polled file with the source's mtime:
    # both servers send those bytes. Text without a copy (article pages) is
    # compressed per request with a weak ETag, as feeder's server does
    # (`feeder.serve.compression`): same types, same minimum size, also for a CDN.
    gzip_static on;
    gzip on;
    gzip_types {gzip_types};
    gzip_min_length {GZIP_MINIMUM_SIZE};
    gzip_comp_level {GZIP_LEVEL};
    gzip_proxied any;
    gzip_vary on;

    # Cache-Control as feeder sends it (RFC 5861: a CDN keeps serving during a
    # publish or an origin restart). add_header is repeated in each location that
    # adds headers of its own, because nginx then drops the outer ones.
    add_header Cache-Control $feeder_cache_control;

    # feeder writes no symbolic links: follow none (one could name a hidden file or
    # loop). Refusals (links, unreadable files and folders) answer 404 as feeder's
    # server does, and nginx's error log has one line naming the file.
    disable_symlinks on from=$document_root;
    error_page 400 403 =404 {NOT_SERVED};
    location = {NOT_SERVED} {{
        internal;
        return 404;
    }}

    # Hidden names, among them the temp files publishing renames into place, never.
    location ~ /\\. {{
        return 404;
    }}

    # A withdrawn story's page is its notice, answered 410 Gone while publishing
    # keeps an empty marker of the same name in {gone}/ (`feeder withdraw`).
    location ~ ^/{articles}/(?<feeder_article>[^/]+)$ {{
        if (-f $document_root/{gone}/$feeder_article) {{
            return 410;
        }}
        error_page 410 {GONE_LOCATION}$feeder_article;
        error_page 400 403 =404 {NOT_SERVED};  # an error_page here drops the outer ones
    }}
    location ^~ {GONE_LOCATION} {{
        internal;
        alias {root}/{articles}/;
        etag off;
        add_header Cache-Control $feeder_cache_control always;
    }}

    # The month documents of earlier releases (`is_retired`).
    location ^~ /{RETIRED_PREFIX} {{
        add_header Cache-Control $feeder_cache_control always;
        return 410;
    }}
    location ~ ^/feeds/.+\\.({feed_suffixes})$ {{
        add_header Cache-Control $feeder_cache_control;
        add_header Vary Accept;
        if ($feeder_wants_page) {{
            set $feeder_feed $uri;
            rewrite ^ {PAGE_LOCATION} last;
        }}
    }}
    # The page, or while it does not exist yet the feed as XML, so browsers that
    # still run XSLT show it through its stylesheet.
    location = {PAGE_LOCATION} {{
        internal;
        add_header Cache-Control $feeder_cache_control;
        add_header Vary Accept;
        try_files $feeder_page {BROWSER_PREFIX.rstrip("/")}$feeder_feed;
    }}
    location ^~ {BROWSER_PREFIX} {{
        internal;
        alias {root}/;
        types {{
{browser_type_lines}
        }}
        add_header Cache-Control $feeder_cache_control;
        add_header Vary Accept;
    }}
{fediverse}{proxied}
    # Behind a CDN or another proxy, take the client address from it (the real_ip
    # module), so logs and the proxied endpoints see readers, not the CDN:
    # set_real_ip_from 192.0.2.0/24;   # the proxy's addresses
    # real_ip_header X-Forwarded-For;
    # real_ip_recursive on;
}}
"""


def _types() -> list[tuple[str, str]]:
    """(media type, suffix) of every file publishing writes."""
    types = [(feed_format.media_type, feed_format.suffix) for feed_format in FEED_FORMATS]
    others = PAGE_MEDIA_TYPES | IMAGE_MEDIA_TYPES
    types += [(media_type, suffix.lstrip(".")) for suffix, media_type in others.items()]
    return types


def _upstream(config: Config) -> str | None:
    """feeder's own server, None while [server] port is 0 (any free port: not reachable)."""
    host, port = config.server.host, config.server.port
    if port == 0:
        return None
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _dynamic_paths(config: Config) -> list[str]:
    """Paths feeder's server answers itself rather than from files (the WebSub hub)."""
    from feeder.serve.server import create_app  # the HTTP stack only for this command

    return [route.path for route in create_app(config).routes if isinstance(route, Route)]


def _fediverse_types() -> set[str]:
    """The media types of the fediverse documents, without parameters (as gzip_types
    matches them)."""
    from feeder.channels.fediverse.accounts import ACTIVITY_JSON, JRD_JSON, NODEINFO_JSON

    return {media_type.split(";")[0] for media_type in (ACTIVITY_JSON, JRD_JSON, NODEINFO_JSON)}


def _fediverse_documents() -> str:
    """The accounts' documents have no suffix: one type per folder, as feeder's
    server gives them (`document_media_type`)."""
    from feeder.channels.fediverse.accounts import (
        ACTIVITY_JSON,
        FOLDER,
        JRD_JSON,
        NODEINFO_JSON,
        NODEINFO_PATH,
    )

    blocks = [
        ("^~", f"/{FOLDER}/", ACTIVITY_JSON),
        ("^~", f"/{FOLDER}/webfinger/", JRD_JSON),
        ("=", f"/{NODEINFO_PATH}", NODEINFO_JSON),
    ]
    return "".join(
        f"""
    # Fediverse documents (docs/fediverse.md), written by publishing.
    location {match} {path} {{
        types {{ }}
        default_type '{media_type}';
        add_header Cache-Control $feeder_cache_control;
        add_header Access-Control-Allow-Origin *;
    }}
"""
        for match, path, media_type in blocks
    )


def _proxied(path: str, upstream: str | None) -> str:
    """`location = path`, or for a route with a {parameter} every path under its prefix."""
    location = f"^~ {path.partition('{')[0]}" if "{" in path else f"= {path}"
    if upstream is None:
        return f"""
    # Answered by `feeder serve` / `feeder run`, which listens on any free port
    # ([server] port = 0): set a fixed port and print this block again to proxy it.
    location {location} {{
        return 503;
    }}
"""
    return f"""
    # Answered by `feeder serve` / `feeder run`, not a file: its answers as they are
    # (no charset added to NodeInfo's JSON; Host as the client sent it, port and
    # all, since an inbox's HTTP Signature covers it).
    location {location} {{
        charset off;
        proxy_pass {upstream};
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
    }}
"""
