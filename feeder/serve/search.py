"""The search endpoints of feeder's server: the results page, a feed for any
search, and the OpenSearch description (docs/search.md).

Each request is answered in the search's own worker thread (`SEARCH_THREADS`),
from a database connection of that thread's own (opened once, read only in
effect), so a search never blocks the event loop or waits for the writer
(WAL). Not anyio's pool of 40: there every thread in turn opened a
connection with a cold page cache, and the threads only traded the GIL,
which a search holds for most of its time. The nginx block proxies these
paths to feeder like the hub (`feeder.serve.nginx`).
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import weakref
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from email.utils import formatdate, parsedate_to_datetime

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.staticfiles import NotModifiedResponse

from feeder.config import Config
from feeder.feeds.formats import CHARSET, FEED_FORMATS
from feeder.feeds.model import FeedFormat
from feeder.search.feed import SEARCH_PATH, feed_parameters, search_feed
from feeder.search.opensearch import MEDIA_TYPE, OPENSEARCH_PATH, opensearch_description
from feeder.search.request import SearchRequest, read_request
from feeder.search.results import search
from feeder.serve.http_rules import cache_control
from feeder.site.pages import Alternate, Site
from feeder.store import Store

# Threads answering searches. One GIL runs them: at 100,000 stories under wrk -c8
# one thread made 200-269/s (3.9-5.8 ms CPU a search), two 176-210/s (5.5-6.7
# ms), the GIL passing between them and the event loop costing more than
# SQLite's time outside it gained. The price: a search waits for the one
# before it, at most the time budget (a best-match search of a common word
# takes 100-130 ms).
SEARCH_THREADS = 1


class SearchEndpoint:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.site = Site(config)
        self.cache_control = cache_control(config)
        self._local = threading.local()
        self._threads = ThreadPoolExecutor(SEARCH_THREADS, thread_name_prefix="feeder-search")
        weakref.finalize(self, self._threads.shutdown, wait=False)

    def routes(self) -> list[Route]:
        feeds = [
            Route(f"/{SEARCH_PATH}.{feed_format.suffix}", self._feed_handler(feed_format))
            for feed_format in FEED_FORMATS
        ]
        return [
            Route(f"/{SEARCH_PATH}", self.page, name="search"),
            *feeds,
            Route(f"/{OPENSEARCH_PATH}", self.opensearch, name="opensearch"),
        ]

    async def page(self, request: Request) -> Response:
        return await asyncio.wrap_future(
            self._threads.submit(self._page, request.scope["query_string"])
        )

    async def opensearch(self, request: Request) -> Response:
        description = self.site.search_description()
        body = opensearch_description(self.config, description)
        return Response(body, 200, {"cache-control": self.cache_control}, MEDIA_TYPE + CHARSET)

    def _feed_handler(self, feed_format: FeedFormat) -> Callable[[Request], Awaitable[Response]]:
        async def feed(request: Request) -> Response:
            return await asyncio.wrap_future(
                self._threads.submit(
                    self._feed, feed_format, request.scope["query_string"], request.headers
                )
            )

        return feed

    def _store(self) -> Store:
        """This worker thread's connection: sqlite3 connections stay in their thread."""
        store: Store | None = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = Store(self.config.database)
        return store

    def _page(self, raw: bytes) -> Response:
        request, found = read_request(raw)
        results = search(self.config, self._store(), request, found)
        feeds = self._alternates(request) if results.searched else ()
        body = self.site.search(results, feeds)
        return Response(body, 200, {"cache-control": self.cache_control}, "text/html" + CHARSET)

    def _feed(self, feed_format: FeedFormat, raw: bytes, headers: Headers) -> Response:
        """The newest `max_items` matches, with an ETag of its bytes and the newest
        story's time as Last-Modified, so a reader's poll is a bodiless 304 until
        a matching story arrives, changes or goes."""
        request, found = read_request(raw)
        newest = SearchRequest(text=request.text, category=request.category)
        results = search(
            self.config, self._store(), newest, found, self.config.max_items, marks=False
        )
        if not results.searched:
            reasons = "; ".join(str(problem) for problem in results.problems)
            return Response(
                f"No search to make a feed of: {reasons or 'add ?q= and the words'}.\n",
                400,
                media_type="text/plain" + CHARSET,
            )
        model = search_feed(
            self.config,
            newest,
            self.site.search_title(request.text),
            [result.entry for result in results.results],
        )
        body = feed_format.render(model)
        response_headers = {
            "cache-control": self.cache_control,
            "etag": f'"{hashlib.sha256(body).hexdigest()[:32]}"',
            "last-modified": formatdate(model.updated.timestamp(), usegmt=True),
        }
        if _not_modified(response_headers, headers):
            return NotModifiedResponse(Headers(response_headers))
        return Response(body, 200, response_headers, feed_format.media_type + CHARSET)

    def _alternates(self, request: SearchRequest) -> tuple[Alternate, ...]:
        parameters = feed_parameters(request)
        title = self.site.search_title(request.text)
        return tuple(
            Alternate(
                f"{title} ({feed_format.label})",
                feed_format.label,
                self.config.url(f"{SEARCH_PATH}.{feed_format.suffix}?{parameters}"),
                feed_format.discovery_type,
            )
            for feed_format in FEED_FORMATS
        )


def _not_modified(response: dict[str, str], request: Headers) -> bool:
    """RFC 9110 13.2.2: If-None-Match decides when present (weakly), else If-Modified-Since."""
    if_none_match = request.get("if-none-match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return response["etag"] in tags or "*" in tags
    if_modified_since = request.get("if-modified-since")
    if if_modified_since is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False
    return parsedate_to_datetime(response["last-modified"]) <= since
