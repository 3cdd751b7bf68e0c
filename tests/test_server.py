"""The served output as subscribers' readers and browsers fetch it, over real HTTP."""

from __future__ import annotations

import gzip
import logging
import os
import re
import signal
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

import pytest
from lxml import etree, html

from feeder.config import Config, ConfigError, ServerConfig
from feeder.files import TEMP_FOLDER, write_if_changed
from feeder.pipeline import ingest_and_publish, regenerate
from feeder.serve.compression import accepts_gzip
from feeder.serve.server import FeedServer
from tests.client import Client
from tests.conftest import config_for, deliver_day

STORY = f"{1:03d}_{1:016x}"
CACHE_CONTROL = "max-age=300, stale-while-revalidate=300, stale-if-error=86400"


@pytest.fixture
def published(served_config: Config, deliver) -> Config:
    """Two categories published with links at the running server."""
    deliver_day(deliver, 1, category="Политика", title="Первая новость")
    deliver_day(deliver, 2, category="Экономика", title="Вторая новость")
    ingest_and_publish(served_config)
    return served_config


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("/feeds/all.rss", "application/rss+xml; charset=utf-8"),
        ("/feeds/politika.atom", "application/atom+xml; charset=utf-8"),
        ("/feeds.opml", "text/x-opml; charset=utf-8"),
        ("/index.html", "text/html; charset=utf-8"),
        (f"/articles/{STORY}.html", "text/html; charset=utf-8"),
        ("/feeds/feed.xsl", "text/xsl; charset=utf-8"),
    ],
)
def test_every_file_comes_with_its_type_validators_and_max_age(
    published: Config, client: Client, path: str, media_type: str
) -> None:
    reply = client.get(path)
    assert reply.status == 200
    assert reply.headers["Content-Type"] == media_type
    assert reply.body == (published.output_dir / path.lstrip("/")).read_bytes()
    assert re.fullmatch(r'"[0-9a-f]+-[0-9a-f]+"', reply.headers["ETag"])  # nginx's form
    assert reply.headers["Last-Modified"].endswith(" GMT")
    assert reply.headers["Cache-Control"] == CACHE_CONTROL


# What Chromium and Firefox send when a person opens a URL.
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize("path", ["/feeds/all.rss", "/feeds/all.atom"])
def test_a_browser_opening_a_feed_gets_the_page_showing_it_and_a_reader_the_feed(
    published: Config, client: Client, path: str
) -> None:
    for_reader = client.get(path, {"Accept": "application/rss+xml, application/atom+xml, */*"})
    for_browser = client.get(path, {"Accept": BROWSER_ACCEPT})
    assert for_reader.headers["Content-Type"].startswith(
        ("application/rss+xml", "application/atom+xml")
    )
    assert for_reader.body == (published.output_dir / path.lstrip("/")).read_bytes()
    assert for_browser.headers["Content-Type"] == "text/html; charset=utf-8"
    assert for_browser.body == (published.output_dir / "index.html").read_bytes()
    for reply in (for_reader, for_browser):
        assert "Accept" in reply.headers["Vary"].split(", ")  # caches keep the two apart
    revalidated = client.get(
        path, {"Accept": BROWSER_ACCEPT, "If-None-Match": for_browser.headers["ETag"]}
    )
    assert revalidated.status == 304


@pytest.mark.parametrize(
    "accept",
    [
        "",
        "*/*",
        "application/rss+xml, application/atom+xml, text/html;q=0.5",
        "application/atom+xml,application/rdf+xml,application/rss+xml,application/xml;q=0.9,*/*;q=0.1",
    ],
)
def test_readers_keep_getting_the_feed_whatever_else_they_accept(
    published: Config, client: Client, accept: str
) -> None:
    reply = client.get("/feeds/politika.rss", {"Accept": accept} if accept else {})
    assert reply.headers["Content-Type"] == "application/rss+xml; charset=utf-8"


def test_a_browser_gets_the_feed_for_its_stylesheet_while_the_feed_has_no_page(
    published: Config, client: Client
) -> None:
    (published.output_dir / "categories" / "politika.html").unlink()
    reply = client.get("/feeds/politika.rss", {"Accept": BROWSER_ACCEPT})
    assert reply.headers["Content-Type"] == "application/xml; charset=utf-8"
    assert reply.body == (published.output_dir / "feeds" / "politika.rss").read_bytes()


def test_the_site_root_is_the_index_page(published: Config, client: Client) -> None:
    reply = client.get("/")
    assert reply.status == 200
    assert reply.body == (published.output_dir / "index.html").read_bytes()


def test_cache_max_age_comes_from_config(tmp_path: Path, deliver) -> None:
    config = config_for(tmp_path, server={"port": 0, "cache_max_age": 60})
    deliver_day(deliver, 1)
    ingest_and_publish(config)
    with FeedServer(config) as running:
        connection = Client(running.url)
        assert connection.get("/feeds/all.rss").headers["Cache-Control"] == (
            "max-age=60, stale-while-revalidate=60, stale-if-error=86400"
        )
        connection.close()


@pytest.mark.parametrize(
    ("validator", "condition"),
    [("ETag", "If-None-Match"), ("Last-Modified", "If-Modified-Since")],
)
def test_a_conditional_get_of_an_unchanged_feed_is_a_bodiless_304(
    published: Config, client: Client, validator: str, condition: str
) -> None:
    first = client.get("/feeds/all.rss")
    again = client.get("/feeds/all.rss", {condition: first.headers[validator]})
    assert again.status == 304
    assert again.body == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Cache-Control"] == CACHE_CONTROL
    # Any stray body would have garbled this next reply on the same connection.
    assert client.get("/feeds/all.atom").status == 200


@pytest.mark.parametrize(
    ("condition", "value"),
    [("If-None-Match", '"not-this-one"'), ("If-Modified-Since", "Mon, 01 Jan 2001 00:00:00 GMT")],
)
def test_a_stale_validator_gets_the_whole_feed(
    published: Config, client: Client, condition: str, value: str
) -> None:
    reply = client.get("/feeds/all.rss", {condition: value})
    assert reply.status == 200
    assert reply.body == (published.output_dir / "feeds/all.rss").read_bytes()


def test_validators_hold_across_a_regeneration_and_move_with_a_new_article(
    published: Config, client: Client, deliver
) -> None:
    def validators(path: str) -> tuple[str, str]:
        headers = client.get(path).headers
        return headers["ETag"], headers["Last-Modified"]

    before = {path: validators(path) for path in ("/feeds/all.rss", "/feeds/politika.rss")}
    regenerate(published, all_pages=True)
    assert {path: validators(path) for path in before} == before

    deliver_day(deliver, 3, category="Экономика", title="Третья новость")
    ingest_and_publish(published)
    old_etag = before["/feeds/all.rss"][0]
    changed = client.get("/feeds/all.rss", {"If-None-Match": old_etag})
    assert changed.status == 200 and "Третья новость" in changed.body.decode()
    assert changed.headers["ETag"] != old_etag
    unchanged = client.get(
        "/feeds/politika.rss", {"If-None-Match": before["/feeds/politika.rss"][0]}
    )
    assert unchanged.status == 304


def test_gzip_when_the_client_accepts_it(served_config: Config, client: Client, deliver) -> None:
    for number in range(1, 51):
        deliver_day(deliver, number % 28 + 1, title=f"Новость номер {number}")
    ingest_and_publish(served_config)
    identity = client.get("/feeds/all.rss")
    assert "Content-Encoding" not in identity.headers
    compressed = client.get("/feeds/all.rss", {"Accept-Encoding": "gzip"})
    assert compressed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in compressed.headers["Vary"]
    assert gzip.decompress(compressed.body) == identity.body
    assert len(compressed.body) * 4 < len(identity.body)
    # Two representations, two validators, each revalidating to 304.
    assert compressed.headers["ETag"] != identity.headers["ETag"]
    for reply, encoding in ((identity, "identity"), (compressed, "gzip")):
        again = client.get(
            "/feeds/all.rss", {"Accept-Encoding": encoding, "If-None-Match": reply.headers["ETag"]}
        )
        assert again.status == 304 and again.headers["ETag"] == reply.headers["ETag"]
    refused = client.get("/feeds/all.rss", {"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in refused.headers


def test_a_changed_feed_is_served_compressed_anew(
    served_config: Config, client: Client, deliver
) -> None:
    """Compressed bodies are kept between polls; a new version of the file must not get an old one."""
    gzipped = {"Accept-Encoding": "gzip"}
    deliver_day(deliver, 1, title="Первая новость")
    ingest_and_publish(served_config)
    first = client.get("/feeds/all.rss", gzipped)
    assert client.get("/feeds/all.rss", gzipped).body == first.body
    deliver_day(deliver, 2, title="Вторая новость")
    ingest_and_publish(served_config)
    second = client.get("/feeds/all.rss", gzipped)
    assert "Вторая новость" in gzip.decompress(second.body).decode()
    assert second.headers["ETag"] != first.headers["ETag"]


def test_a_kept_alive_connection_gets_each_response_without_a_delayed_ack_stall(
    served_config: Config, client: Client, deliver
) -> None:
    """With Nagle's algorithm on, each response after the first waited >= 40 ms for an ACK."""
    for number in range(1, 21):
        deliver_day(deliver, number, paragraphs=("Абзац новости. " * 200,))
    ingest_and_publish(served_config)
    durations = []
    for _ in range(10):
        started = time.perf_counter()
        assert client.get("/feeds/all.rss").status == 200
        durations.append(time.perf_counter() - started)
    assert statistics.median(durations) < 0.025, durations


def test_head_gives_the_headers_of_get_and_no_body(published: Config, client: Client) -> None:
    got = client.get("/feeds/politika.atom")
    head = client.request("HEAD", "/feeds/politika.atom")
    assert head.status == 200 and head.body == b""
    for name in ("Content-Type", "Content-Length", "ETag", "Last-Modified", "Cache-Control"):
        assert head.headers[name] == got.headers[name]
    assert client.get("/feeds/politika.rss").status == 200  # no stray body before this one
    gzipped = {"Accept-Encoding": "gzip"}
    got = client.get("/feeds/all.atom", gzipped)
    head = client.request("HEAD", "/feeds/all.atom", gzipped)
    assert head.status == 200 and head.body == b""
    for name in ("Content-Encoding", "Content-Length", "ETag", "Vary"):
        assert head.headers[name] == got.headers[name]
    assert client.get("/feeds/politika.rss").status == 200


SECRET = "NOT FOR SUBSCRIBERS"
HALF_WRITTEN = ".all.rss.0123456789abcdef.tmp"


@pytest.fixture
def secrets_beside_the_output(published: Config, tmp_path: Path) -> Path:
    """A file beside the output dir, links to it from inside, and a half-written temp file."""
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    os.symlink(secret, published.output_dir / "linked.txt")
    os.symlink(tmp_path, published.output_dir / "outside")
    published.output_temp_dir.mkdir(exist_ok=True)
    (published.output_temp_dir / HALF_WRITTEN).write_text(SECRET)
    (published.output_dir / ".hidden").mkdir()
    (published.output_dir / ".hidden" / "file.txt").write_text(SECRET)
    return secret


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.txt",
        "/feeds/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/feeds/%2E%2E/%2e%2e/secret.txt",
        "/%2e%2e%2fsecret.txt",
        "/..%5csecret.txt",
        "/linked.txt",
        "/outside/secret.txt",
        f"/{TEMP_FOLDER}/{HALF_WRITTEN}",
        "/.hidden/file.txt",
        "/feeds/all.rss%00",
        "/feeds/missing.rss",
    ],
)
def test_nothing_outside_the_output_or_hidden_is_served(
    secrets_beside_the_output: Path, client: Client, path: str
) -> None:
    reply = client.get(path)
    assert reply.status == 404
    assert SECRET not in reply.body.decode()


def test_absolute_paths_stay_inside_the_output(
    secrets_beside_the_output: Path, client: Client
) -> None:
    for path in (
        "/" + str(secrets_beside_the_output),
        "/" + quote(str(secrets_beside_the_output), safe=""),
    ):
        reply = client.get(path)
        assert reply.status == 404 and SECRET not in reply.body.decode(), path


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_are_refused(published: Config, client: Client, method: str) -> None:
    before = (published.output_dir / "feeds/all.rss").read_bytes()
    reply = client.request(method, "/feeds/all.rss")
    assert reply.status == 405
    assert reply.headers["Allow"] == "GET, HEAD"
    assert (published.output_dir / "feeds/all.rss").read_bytes() == before


def test_one_access_log_line_per_request(
    published: Config, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    etag = client.get("/feeds/all.rss").headers["ETag"]
    client.get("/feeds/all.rss", {"If-None-Match": etag})
    client.get("/nothing-here")
    client.request("POST", "/feeds/all.rss")
    lines = [record.getMessage() for record in caplog.records if record.name == "uvicorn.access"]
    assert len(lines) == 4
    for line, expected in zip(
        lines,
        [
            '"GET /feeds/all.rss HTTP/1.1" 200',
            '"GET /feeds/all.rss HTTP/1.1" 304',
            '"GET /nothing-here HTTP/1.1" 404',
            '"POST /feeds/all.rss HTTP/1.1" 405',
        ],
        strict=True,
    ):
        assert line.startswith("127.0.0.1:") and line.endswith(expected)


def test_the_access_log_can_be_switched_off(
    config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    """[server] access_log = false, for a server behind nginx, which logs requests itself."""
    caplog.set_level(logging.INFO)
    quiet = replace(config, server=ServerConfig(host="127.0.0.1", port=0, access_log=False))
    with FeedServer(quiet) as server:
        client = Client(server.url)
        assert client.get("/nothing-here").status == 404
        client.close()
    assert [record for record in caplog.records if record.name == "uvicorn.access"] == []


def test_opml_lists_every_category_feed_and_each_is_served(
    published: Config, client: Client
) -> None:
    opml = etree.fromstring(client.get("/feeds.opml").body)
    urls = {outline.get("xmlUrl") for outline in opml.iter("outline")}
    assert urls == {published.url(f"feeds/{slug}.rss") for slug in ("all", "politika", "ekonomika")}
    for url in urls:
        reply = client.get(url.removeprefix(published.base_url.rstrip("/")))
        assert reply.status == 200
        assert reply.headers["Content-Type"] == "application/rss+xml; charset=utf-8"


@pytest.mark.parametrize("page", ["/index.html", f"/articles/{STORY}.html"])
def test_autodiscovery_tags_point_at_served_feeds_of_their_type(
    published: Config, client: Client, page: str
) -> None:
    links = html.fromstring(client.get(page).body).xpath("//head/link[@rel='alternate']")
    assert links
    for link in links:
        reply = client.get(link.get("href").removeprefix(published.base_url.rstrip("/")))
        assert reply.status == 200
        assert reply.headers["Content-Type"] == f"{link.get('type')}; charset=utf-8"


def test_the_index_links_the_opml_file(published: Config, client: Client) -> None:
    anchors = html.fromstring(client.get("/index.html").body).xpath("//a/@href")
    assert "feeds.opml" in anchors


def test_the_server_config_has_defaults(tmp_path: Path) -> None:
    assert config_for(tmp_path).server == ServerConfig(
        host="127.0.0.1", port=8080, cache_max_age=300, archive_max_age=604800
    )


@pytest.mark.parametrize(
    ("server", "message"),
    [
        ({"port": 70000}, "key 'server.port' must be a port number from 0 to 65535, not 70000"),
        ({"port": "http"}, "key 'server.port' must be a whole number, not 'http'"),
        ({"host": " "}, "key 'server.host' must name an address to listen on"),
        ({"cache_max_age": -1}, "key 'server.cache_max_age' must be 0 or more, not -1"),
        ({"archive_max_age": -1}, "key 'server.archive_max_age' must be 0 or more, not -1"),
        ("127.0.0.1:8080", "key 'server' must be a table"),
    ],
)
def test_a_bad_server_table_names_the_key_and_the_file(
    tmp_path: Path, server: object, message: str
) -> None:
    with pytest.raises(ConfigError) as error:
        config_for(tmp_path, server=server)
    assert str(error.value).startswith(f"{tmp_path / 'config.toml'}: {message}")


@pytest.mark.parametrize(
    ("accept_encoding", "accepted"),
    [
        ("gzip", True),
        ("GZip", True),
        ("x-gzip", True),
        ("deflate, gzip", True),
        ("br;q=1.0, gzip;q=0.8, *;q=0.1", True),
        ("gzip;q=0.001", True),
        (" gzip ; q=1 ", True),
        ("", False),
        ("identity", False),
        ("br, deflate", False),
        ("gzipped", False),
        ("gzip;q=0", False),
        ("gzip; q=0.0", False),
        ("gzip;q=high", False),
    ],
)
def test_gzip_is_sent_only_when_accept_encoding_allows_it(
    accept_encoding: str, accepted: bool
) -> None:
    assert accepts_gzip(accept_encoding) is accepted


NOBODY = 65534


@contextmanager
def served_as_nobody(config: Config, log_path: Path) -> Iterator[str]:
    """feeder's server running as an unprivileged user, its log lines in `log_path`.

    Run as root (as CI is), the server is forked and drops to nobody once it
    listens and has answered once (every import done), since root reads any file."""
    handler = logging.FileHandler(log_path)
    handler.setLevel(logging.WARNING)  # the refusals, not the start-up line
    logger = logging.getLogger("feeder.serve.server")
    level = logger.level
    logger.setLevel(logging.WARNING)  # whatever level an earlier test left logging at
    logger.addHandler(handler)
    try:
        if os.geteuid() != 0:
            with FeedServer(config) as running:
                yield running.url
        else:
            yield from _forked_as_nobody(config)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _forked_as_nobody(config: Config) -> Iterator[str]:
    ready, told = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (the child's exit status is all the parent sees)
        try:
            running = FeedServer(config)
            running.start()
            Client(running.url).get("/index.html")
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            os.write(told, running.url.encode())
            time.sleep(120)
        finally:
            os._exit(0)
    try:
        yield os.read(ready, 200).decode()
    finally:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)


def test_what_the_server_cannot_read_is_404_with_one_log_line(
    readable_root: Path,
) -> None:
    config = config_for(readable_root, server={"host": "127.0.0.1", "port": 0})
    output = config.output_dir
    output.mkdir(parents=True)
    (output / "index.html").write_text("<p>index</p>")
    (output / "private.html").write_text(SECRET)
    (output / "private.html").chmod(0)
    (output / "locked").mkdir()
    (output / "locked" / "page.html").write_text(SECRET)
    (output / "locked").chmod(0)
    log_path = readable_root / "server.log"
    with served_as_nobody(config, log_path) as url:
        client = Client(url)
        for path in ("/private.html", "/locked/page.html", "/locked/"):
            reply = client.get(path)
            assert reply.status == 404, path
            assert SECRET not in reply.body.decode()
        assert client.get("/index.html").status == 200
        client.close()
    assert log_path.read_text().splitlines() == [
        "private.html: Permission denied; answered 404",
        "locked/page.html: Permission denied; answered 404",
        "locked/index.html: Permission denied; answered 404",
    ]


def test_every_range_is_a_slice_of_the_version_its_etag_names(
    published: Config, server: FeedServer
) -> None:
    """Publishing replaces a feed while readers ask for ranges of it: a 206 must never
    pair the new bytes with the old length or ETag."""
    path = published.feeds_dir / "all.rss"
    versions = [
        path.read_bytes(),
        path.read_bytes().replace(b"</channel>", b"<!-- x -->" * 400 + b"</channel>"),
    ]
    by_size = {len(version): version for version in versions}
    done = threading.Event()

    def publish_again_and_again() -> None:
        turn = 0
        while not done.is_set():
            turn += 1
            write_if_changed(
                path, versions[turn % 2], temp_dir=published.output_temp_dir, durable=False
            )

    writer = threading.Thread(target=publish_again_and_again)
    writer.start()
    checked = 0
    try:
        client = Client(server.url)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            for asked, start in (("bytes=100-", 100), ("bytes=0-499", 0), ("bytes=-300", None)):
                reply = client.get("/feeds/all.rss", {"Range": asked})
                assert reply.status == 206
                size = int(reply.headers["ETag"].strip('"').split("-")[1], 16)
                version = by_size[size]
                first, last = (
                    reply.headers["Content-Range"].removeprefix("bytes ").split("/")[0].split("-")
                )
                assert reply.headers["Content-Range"].endswith(f"/{size}")
                assert start is None or int(first) == start
                assert reply.body == version[int(first) : int(last) + 1]
                checked += 1
        client.close()
    finally:
        done.set()
        writer.join()
    assert checked > 100


def test_if_range_and_unsatisfiable_ranges(published: Config, client: Client) -> None:
    whole = client.get("/feeds/all.rss")
    size = len(whole.body)
    current = client.get(
        "/feeds/all.rss", {"Range": "bytes=0-9", "If-Range": whole.headers["ETag"]}
    )
    assert (current.status, current.body) == (206, whole.body[:10])
    stale = client.get("/feeds/all.rss", {"Range": "bytes=0-9", "If-Range": '"0-0"'})
    assert (stale.status, stale.body) == (200, whole.body)
    several = client.get("/feeds/all.rss", {"Range": "bytes=0-9,20-29"})
    assert (several.status, several.body) == (200, whole.body)
    beyond = client.get("/feeds/all.rss", {"Range": f"bytes={size}-"})
    assert beyond.status == 416 and beyond.headers["Content-Range"] == f"bytes */{size}"
    gzipped = client.get("/feeds/all.rss", {"Range": "bytes=0-9", "Accept-Encoding": "gzip"})
    assert (gzipped.status, gzipped.body) == (206, whole.body[:10])  # of the file as it is


def test_a_large_file_does_not_hold_up_other_requests(
    published: Config, server: FeedServer
) -> None:
    """Files are read in worker threads: two 100 MB downloads leave the loop free."""
    with open(published.output_dir / "big.html", "wb") as big:
        big.truncate(100_000_000)
    downloads = [Client(server.url) for _ in range(2)]
    for download in downloads:
        download.connection.request("GET", "/big.html")
    other = Client(server.url)
    started = time.perf_counter()
    assert other.get("/feeds/all.rss").status == 200
    elapsed = time.perf_counter() - started
    for download in downloads:
        assert len(download.connection.getresponse().read()) == 100_000_000
        download.close()
    other.close()
    assert elapsed < 0.1, elapsed
