"""HTTP for subscribers: the output directory, served the way feed readers poll it.

Starlette's StaticFiles does the file serving (ETag and Last-Modified from each
file's mtime and size, 304 answers, HEAD, ranges, 405, no escape from the
folder through `..` or symlinks) and uvicorn speaks HTTP. Publishing rewrites
a file only when its bytes change, so an unchanged feed keeps its validators
and a reader's poll costs a bodiless 304. What this module adds is particular
to feeds: their content types, Cache-Control, gzip, hidden temp files kept
hidden, and a server that `feeder serve` and the daemon both run in a thread.

A feed is compressed once per change, not once per poll: compressed bodies are
kept by file identity (inode, mtime, size), which publishing's atomic replace
changes with every new version. The gzip response has an ETag of its own, as
a different representation must (RFC 9110 8.8.3), and is built from the same
open file it was read from, so its validators always match its bytes.
"""

from __future__ import annotations

import gzip
import logging
import os
import signal
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import BinaryIO

import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.responses import FileResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import NotModifiedResponse, PathLike, StaticFiles
from starlette.types import Scope

from feeder.config import Config
from feeder.errors import FeederError
from feeder.formats import FEED_FORMATS, media_type_for
from feeder.site import page_for_feed

log = logging.getLogger(__name__)

# Every file publishing writes is text in UTF-8.
CHARSET = "; charset=utf-8"


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


# Below this many bytes gzip saves less than it costs.
GZIP_MINIMUM_SIZE = 500
# zlib's default level. On a 200 KB, 50-item feed it compresses 11.3-fold in 6 ms;
# level 9 (Starlette's default) 11.6-fold in 12 ms.
GZIP_LEVEL = 6
# Compressed bodies kept: every feed twice over, and the article pages polled most.
GZIP_CACHE_ENTRIES = 256
STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})
STARTUP_TIMEOUT_SECONDS = 10.0
# How long stop() lets requests in flight finish before dropping their connections.
SHUTDOWN_GRACE_SECONDS = 5


class ServerError(FeederError):
    """The server could not start; the message names the address and what to check."""


class OutputFiles(StaticFiles):
    """StaticFiles with feed content types and Cache-Control, never showing hidden files."""

    def __init__(self, config: Config) -> None:
        super().__init__(directory=config.output_dir, html=True)
        self.cache_control = f"max-age={config.server.cache_max_age}"
        # (path, inode, mtime, size) → gzip body, least recently used first.
        self._compressed: OrderedDict[tuple[str, int, int, int], bytes] = OrderedDict()

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        # publish writes every file through a hidden temp file: a half-written one is never served.
        if any(part.startswith(".") for part in PurePosixPath(path).parts):
            return "", None
        return super().lookup_path(path)

    def file_response(
        self, full_path: PathLike, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        """StaticFiles' own, plus our content types, gzip, and headers that the 304 repeats."""
        request = Headers(scope=scope)
        headers = {"cache-control": self.cache_control}
        media_type = _media_type(str(full_path), request)
        vary = []
        if FEED_FORMATS.for_path(str(full_path)) is not None:
            vary.append("Accept")
            if wants_page(request.get("accept", "")):
                page = self._page_for(full_path)
                if page is not None:
                    full_path, stat_result = page
                    media_type = f"{media_type_for(str(full_path))}{CHARSET}"
        compressible = media_type is not None and stat_result.st_size >= GZIP_MINIMUM_SIZE
        if compressible:
            vary.append("Accept-Encoding")
        if vary:
            headers["vary"] = ", ".join(vary)
        if "range" in request:  # of the file as it is, uncompressed
            response = FileResponse(
                full_path, status_code, headers, media_type, stat_result=stat_result
            )
            if self.is_not_modified(response.headers, request):
                return NotModifiedResponse(response.headers)
            return response
        gzipped = compressible and _accepts_gzip(request.get("accept-encoding", ""))
        return self._from_open_file(full_path, status_code, headers, media_type, gzipped, request)

    def _page_for(self, feed: PathLike) -> tuple[str, os.stat_result] | None:
        """The page that shows a person what feed file `feed` holds, if it exists."""
        relative = os.path.relpath(feed, self.directory)
        page = page_for_feed(PurePosixPath(*PurePosixPath(relative).parts).as_posix())
        if page is None:
            return None
        full_path, stat_result = self.lookup_path(page)
        return (full_path, stat_result) if stat_result is not None else None

    def _from_open_file(
        self,
        full_path: PathLike,
        status_code: int,
        headers: dict[str, str],
        media_type: str | None,
        gzipped: bool,
        request: Headers,
    ) -> Response:
        """Validators and bytes from one open file, so they always belong together: a
        publish may replace the file between StaticFiles' stat and a later open.

        HEAD gets the headers GET would (uvicorn drops the body), so a reader
        checking with HEAD sees the validators it will be sent.
        """
        with open(full_path, "rb") as file:
            status = os.fstat(file.fileno())
            # Starlette's validators, from this open file's status.
            stat_headers = FileResponse(
                full_path, status_code, headers, media_type, stat_result=status
            ).headers
            response_headers = {
                name: value
                for name, value in stat_headers.items()
                if name not in {"content-length", "content-type"}
            }
            if gzipped:
                response_headers["etag"] = stat_headers["etag"].removesuffix('"') + '-gzip"'
                response_headers["content-encoding"] = "gzip"
            validators = Headers(response_headers)
            if self.is_not_modified(validators, request):
                return NotModifiedResponse(validators)
            body = self._compressed_body(file, status) if gzipped else file.read()
        return Response(body, status_code, response_headers, media_type)

    def _compressed_body(self, file: BinaryIO, status: os.stat_result) -> bytes:
        key = (file.name, status.st_ino, status.st_mtime_ns, status.st_size)
        body = self._compressed.get(key)
        if body is None:
            body = gzip.compress(file.read(), GZIP_LEVEL, mtime=0)
            self._compressed[key] = body
            if len(self._compressed) > GZIP_CACHE_ENTRIES:
                self._compressed.popitem(last=False)
        else:
            self._compressed.move_to_end(key)
        return body


def _media_type(path: str, request: Headers) -> str | None:
    feed_format = FEED_FORMATS.for_path(path)
    if feed_format is not None and wants_page(request.get("accept", "")):
        return feed_format.browser_media_type + CHARSET
    served = media_type_for(path)
    return served + CHARSET if served else None


def _accepts_gzip(accept_encoding: str) -> bool:
    """`gzip` listed, and not with q=0."""
    for coding in accept_encoding.split(","):
        name, _, parameters = coding.partition(";")
        if name.strip().lower() in {"gzip", "x-gzip"}:
            quality = parameters.strip().removeprefix("q=").strip() or "1"
            try:
                return float(quality) > 0
            except ValueError:
                return False
    return False


def create_app(config: Config) -> Starlette:
    """The ASGI application serving `config.output_dir`, for uvicorn or any ASGI server."""
    try:
        # The daemon may start serving before its first publish has made the folder.
        config.output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ServerError(
            f"cannot create {config.output_dir}: {error.strerror}; fix 'output_dir' in {config.source}"
        ) from error
    return Starlette(routes=[Mount("/", app=OutputFiles(config))])


class FeedServer:
    """uvicorn serving the output directory from a background thread.

    `feeder serve` runs one until a signal; the daemon runs one beside its
    scheduler. start() returns once the socket listens, so a taken port is an
    error at start-up rather than a log line later; stop() lets requests in
    flight finish. Also a context manager that does both. One start and one
    stop per instance: to serve again, make a new one.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self._server = uvicorn.Server(
            uvicorn.Config(
                create_app(config),
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
