"""HTTP for subscribers: the output directory, served the way feed readers poll it.

The headers follow `feeder.serve.http_rules`, which the nginx configuration
(`feeder nginx-config`) follows too: nginx's ETags, Cache-Control with RFC 5861
stale directives, and the gzip copy publishing writes beside each polled file
(`feeder.serve.precompress`), served to clients that accept gzip instead of
compressing per request; text without a copy (article pages) is compressed per
request (`feeder.serve.compression`). Publishing rewrites a file only when its bytes change,
so an unchanged feed keeps its validators and a poll costs a bodiless 304.

Each response is built in a worker thread from one open file: its validators,
its bytes and any range of them belong to the same version, whatever a publish
replaces meanwhile, and no read ever blocks the event loop. Hidden names,
symbolic links and unreadable files are never served. uvicorn speaks HTTP;
`feeder serve` and the daemon both run the server in a thread.
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.utils import formatdate
from pathlib import PurePosixPath
from typing import BinaryIO

import anyio
import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import URL, Headers
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import Scope

from feeder.channels.fediverse.accounts import document_media_type
from feeder.channels.fediverse.discovery import Discovery
from feeder.channels.fediverse.inbox import InboxEndpoint
from feeder.channels.outgoing import Resolver, system_resolver
from feeder.channels.websub.endpoint import HubEndpoint
from feeder.config import Config
from feeder.errors import FeederError
from feeder.feeds.formats import CHARSET, FEED_FORMATS, is_text, media_type_for
from feeder.feeds.hubs import link_header, topic_path
from feeder.paths import GZIP_SUFFIX
from feeder.serve.compression import accepts_gzip, compress, compressible, weak
from feeder.serve.http_rules import (
    cache_control,
    entity_tag,
    is_hidden,
    is_retired,
    is_sealed_page,
)
from feeder.serve.search import SearchEndpoint
from feeder.site.pages import page_for_feed
from feeder.site.withdrawals import is_withdrawn

log = logging.getLogger(__name__)


def wants_page(accept: str) -> bool:
    """A person's browser opening a feed URL: its Accept names text/html and no
    registered feed type. Feed readers name a feed type, or send */* or nothing;
    a reader that names text/html beside a feed type keeps getting the feed. The
    rule is textual on purpose, so a static server (nginx's `map`) can apply it
    (docs/serving.md).

    Such a request gets the page that shows the feed's stories (`page_for_feed`);
    should it not exist yet, the feed under its format's type for browsers (XML,
    so browsers that still run XSLT show it through its stylesheet). Either way
    the response says `Vary: Accept`, so caches keep the two apart."""
    accept = accept.lower()
    return "text/html" in accept and not any(
        feed_format.media_type in accept for feed_format in FEED_FORMATS
    )


# The body of a 410 for a month document of an earlier release.
RETIRED_NOTICE = (
    b"Month documents were replaced by RFC 5005 archive pages: follow prev-archive "
    b"from the subscription feed.\n"
)

STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})
STARTUP_TIMEOUT_SECONDS = 10.0
# How long stop() lets requests in flight finish before dropping their connections.
SHUTDOWN_GRACE_SECONDS = 5


class ServerError(FeederError):
    """The server could not start; the message names the address and what to check."""


class OutputFiles(StaticFiles):
    """The output directory as subscribers get it: feed content types, Cache-Control,
    the gzip copies publishing wrote, and nothing hidden, linked or unreadable.

    Every request is answered from a worker thread (lookup, reads, all of it),
    so a large file never stalls the event loop and the other requests on it.
    """

    def __init__(self, config: Config) -> None:
        super().__init__(directory=config.output_dir, html=True)
        self.config = config
        self.root = os.path.realpath(config.output_dir)
        self.cache_control = cache_control(config)
        self.sealed_cache_control = cache_control(config, sealed=True)

    async def get_response(self, path: str, scope: Scope) -> Response:
        if scope["method"] not in ("GET", "HEAD"):
            raise HTTPException(status_code=405, headers={"Allow": "GET, HEAD"})
        return await anyio.to_thread.run_sync(self._respond, path, scope)

    def _respond(self, path: str, scope: Scope) -> Response:
        if is_retired(path):
            return Response(
                RETIRED_NOTICE, 410, {"cache-control": self.cache_control}, f"text/plain{CHARSET}"
            )
        full_path = self._find(path)
        if full_path is not None and os.path.isdir(full_path):
            if not scope["path"].endswith("/"):
                url = URL(scope=scope)
                return RedirectResponse(url.replace(path=url.path + "/"))
            full_path = self._find(os.path.join(path, "index.html"))
        if full_path is None or not os.path.isfile(full_path):
            raise HTTPException(status_code=404)
        try:
            if is_withdrawn(self.root, path):
                return self._gone(full_path)
            return self._file_response(full_path, path, Headers(scope=scope))
        except OSError as error:  # unreadable (permissions), or gone since the lookup
            if not isinstance(error, FileNotFoundError):
                log.warning("%s: %s; answered 404", path, error.strerror or error)
            raise HTTPException(status_code=404) from error

    def _gone(self, notice: str) -> Response:
        """A withdrawn story: 410 Gone, with the notice that replaced its page, so
        search engines and caches drop it; no validators, so no 304 revives it."""
        with open(notice, "rb") as file:
            body = file.read()
        return Response(body, 410, {"cache-control": self.cache_control}, f"text/html{CHARSET}")

    def _find(self, path: str) -> str | None:
        """The file or folder `path` names, None for anything not to be served.

        feeder writes no symbolic links, so none is followed (as nginx's
        `disable_symlinks on`): a link could name a hidden file or loop. What is
        refused for a reason other than absence gets one log line, naming it.
        """
        if path.startswith(("/", "\\")) or "\0" in path or is_hidden(path):
            return None
        full_path = os.path.normpath(os.path.join(self.root, path))
        if os.path.commonpath([full_path, self.root]) != self.root:
            return None  # `..`
        try:
            os.stat(full_path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as error:  # a link loop, a folder the server may not enter
            if error.errno != errno.ENAMETOOLONG:
                log.warning("%s: %s; answered 404", path, error.strerror or error)
            return None
        if os.path.realpath(full_path) != full_path:
            log.warning(
                "%s: is or passes through a symbolic link, never served; answered 404", path
            )
            return None
        return full_path

    def _file_response(self, full_path: str, path: str, request: Headers) -> Response:
        """Validators and bytes from one open file, so they always belong together, also
        for ranges: a publish may replace the file at any moment."""
        media_type = document_media_type(path) or _media_type(full_path, request)
        sealed = is_sealed_page(path)
        headers = {"cache-control": self.sealed_cache_control if sealed else self.cache_control}
        vary = []
        if FEED_FORMATS.for_path(full_path) is not None:
            vary.append("Accept")
            browser = wants_page(request.get("accept", ""))
            if browser:
                # What a browser is shown changes with the site, unlike an archive page.
                headers["cache-control"] = self.cache_control
            page = self._page_for(path) if browser else None
            if page is not None:
                full_path, media_type = page, f"{media_type_for(page)}{CHARSET}"
            elif self.config.websub.enabled and topic_path(self.config, self.config.url(path)):
                # The feed itself (not the page shown in its place) names its hubs.
                headers["link"] = link_header(self.config, self.config.url(path))
        gzip_wanted = "range" not in request and accepts_gzip(request.get("accept-encoding", ""))
        with open(full_path, "rb") as source, _gzip_copy(full_path, source) as copy:
            served: BinaryIO = source
            status = os.fstat(source.fileno())
            # Without a copy (article pages), compressed here, as nginx's `gzip on`.
            per_request = copy is None and compressible(media_type, status.st_size)
            if copy is not None or per_request:
                vary.append("Accept-Encoding")
            # Ranges are of the file as it is, as nginx serves them.
            if copy is not None and gzip_wanted:
                served = copy
                headers["content-encoding"] = "gzip"
                status = os.fstat(copy.fileno())
            compressing = per_request and gzip_wanted
            if served is source and not compressing:
                headers["accept-ranges"] = "bytes"
            tag = entity_tag(status)
            headers["etag"] = weak(tag) if compressing else tag
            headers["last-modified"] = formatdate(status.st_mtime, usegmt=True)
            if vary:
                headers["vary"] = ", ".join(vary)
            # If-None-Match compares weakly (RFC 9110 13.1.2): W/"x" matches "x".
            if self.is_not_modified(Headers({**headers, "etag": tag}), request):
                return NotModifiedResponse(Headers(headers))
            body = served.read()
        if compressing:
            headers["content-encoding"] = "gzip"
            return Response(compress(body), 200, headers, media_type)
        return _ranged(body, headers, media_type, request)

    def _page_for(self, feed: str) -> str | None:
        """The page that shows a person what feed file `feed` holds, if it exists."""
        page = page_for_feed(PurePosixPath(feed).as_posix())
        return self._find(page) if page is not None else None


@contextmanager
def _gzip_copy(full_path: str, source: BinaryIO) -> Iterator[BinaryIO | None]:
    """The gzip copy publishing wrote of the open source's version, or None.

    A copy whose mtime is not the source's belongs to another version (a publish
    in between) and is not used."""
    try:
        copy = open(full_path + GZIP_SUFFIX, "rb")  # noqa: SIM115 (closed below)
    except OSError:
        yield None
        return
    with copy:
        same = os.fstat(copy.fileno()).st_mtime_ns == os.fstat(source.fileno()).st_mtime_ns
        yield copy if same else None


def _ranged(
    body: bytes, headers: dict[str, str], media_type: str | None, request: Headers
) -> Response:
    """The whole body, or the one range asked for; several ranges, or an If-Range
    that no longer matches, get it whole."""
    asked = request.get("range")
    if_range = request.get("if-range")
    if asked is None or (
        if_range is not None and if_range not in (headers["etag"], headers["last-modified"])
    ):
        return Response(body, 200, headers, media_type)
    size = len(body)
    try:
        span = _single_range(asked, size)
    except _Unsatisfiable:
        return Response(b"", 416, {**headers, "content-range": f"bytes */{size}"})
    if span is None:
        return Response(body, 200, headers, media_type)
    start, end = span
    headers["content-range"] = f"bytes {start}-{end - 1}/{size}"
    return Response(body[start:end], 206, headers, media_type)


class _Unsatisfiable(Exception):
    """The range starts past the end."""


def _single_range(value: str, size: int) -> tuple[int, int] | None:
    """(start, end) of a one-range `bytes=` value, None to ignore it (RFC 9110 14.2)."""
    unit, _, spec = value.partition("=")
    first, dash, last = spec.strip().partition("-")
    if unit.strip().lower() != "bytes" or "," in spec or not dash:
        return None
    try:
        if not first:  # the last `last` bytes
            length = int(last)
            if length <= 0 or size == 0:
                raise _Unsatisfiable
            return max(size - length, 0), size
        start = int(first)
        end = int(last) + 1 if last else size
    except ValueError:
        return None
    if start >= size:
        raise _Unsatisfiable
    return (start, min(end, size)) if end > start else None


def _media_type(path: str, request: Headers) -> str | None:
    feed_format = FEED_FORMATS.for_path(path)
    if feed_format is not None and wants_page(request.get("accept", "")):
        return feed_format.browser_media_type + CHARSET
    served = media_type_for(path)
    return f"{served}{CHARSET}" if is_text(served) else served


def create_app(config: Config, resolver: Resolver = system_resolver) -> Starlette:
    """The ASGI application serving `config.output_dir`, for uvicorn or any ASGI server;
    the hub endpoint looks callback hosts up with `resolver`."""
    try:
        # The daemon may start serving before its first publish has made the folder.
        config.output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ServerError(
            f"cannot create {config.output_dir}: {error.strerror}; fix 'output_dir' in {config.source}"
        ) from error
    hub = [HubEndpoint(config, resolver).route()] if config.websub.enabled else []
    fediverse = (
        [*InboxEndpoint(config, resolver).routes(), *Discovery(config).routes()]
        if config.fediverse.enabled
        else []
    )
    search = SearchEndpoint(config).routes() if config.search.enabled else []
    return Starlette(routes=[*hub, *fediverse, *search, Mount("/", app=OutputFiles(config))])


class FeedServer:
    """uvicorn serving the output directory from a background thread.

    `feeder serve` runs one until a signal; the daemon runs one beside its
    scheduler. start() returns once the socket listens, so a taken port is an
    error at start-up rather than a log line later; stop() lets requests in
    flight finish. Also a context manager that does both. One start and one
    stop per instance: to serve again, make a new one.
    """

    def __init__(self, config: Config, resolver: Resolver = system_resolver) -> None:
        self.config = config
        self._server = uvicorn.Server(
            uvicorn.Config(
                create_app(config, resolver),
                log_config=None,  # uvicorn's records go to feeder's handlers, not its own
                lifespan="off",
                timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
                access_log=config.server.access_log,
            )
        )
        self._socket: socket.socket | None = None
        self._port: int | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Where it listens, with the real port when the config asked for any free one (0)."""
        if self._port is None:
            raise RuntimeError("the server is not listening; call start() first")
        host = self.config.server.host
        return f"http://[{host}]:{self._port}/" if ":" in host else f"http://{host}:{self._port}/"

    def start(self) -> None:
        self._socket = _listen(self.config)
        self._port = self._socket.getsockname()[1]
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name="feeder-server",
            daemon=True,  # never keeps a crashing process alive
        )
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise ServerError(f"the server at {self.url} did not start; see the log above")
            time.sleep(0.01)
        log.info("serving %s at %s", self.config.output_dir, self.url)

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(SHUTDOWN_GRACE_SECONDS + 5)  # uvicorn's grace, then a margin
        if self._socket is not None:
            self._socket.close()

    def __enter__(self) -> FeedServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _listen(config: Config) -> socket.socket:
    """Bind in the caller's thread, so a bad address raises here with the reason.

    The socket names its protocol, IPPROTO_TCP: asyncio turns Nagle's algorithm
    off only on such sockets (socket.create_server leaves it 0), and with Nagle
    on, every response after the first on a kept-alive connection waited 40 ms
    for the client's delayed ACK between its headers and its body.
    """
    host, port = config.server.host, config.server.port
    listener: socket.socket | None = None
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen()
    except OSError as error:
        if listener is not None:
            listener.close()
        raise ServerError(
            f"cannot listen on {host}:{port}: {error.strerror or error}; another server may "
            f"be using the port, or fix [server] host and port in {config.source}"
        ) from error
    return listener


def serve_until_signalled(config: Config, on_listening: Callable[[str], None]) -> signal.Signals:
    """Serve until SIGINT or SIGTERM, let requests in flight finish, and return the signal.

    The signals are blocked before the server thread starts (threads inherit
    the mask) and taken with sigwait, so no handler runs in the middle of
    anything and the process ends normally instead of by the signal.
    """
    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        with FeedServer(config) as server:
            on_listening(server.url)
            received = signal.sigwait(STOP_SIGNALS)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)
    log.info("stopped by %s", signal.Signals(received).name)
    return signal.Signals(received)
