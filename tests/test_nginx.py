"""Debian's nginx with the block `feeder nginx-config` prints, against `feeder serve`.

A reader or a CDN moved from one server to the other must see the same feed:
same status, type, validators (so no full refetch), caching, gzip and refusals.
"""

from __future__ import annotations

import gzip
import logging
import os
import time
from collections.abc import Callable, Iterator
from email.message import Message
from pathlib import Path

import httpx
import pytest

from bench.nginx import error_log, running_nginx
from feeder.channels.fediverse.accounts import ACTIVITY_JSON, JRD_JSON, NODEINFO_JSON
from feeder.channels.fediverse.state import FediverseState
from feeder.config import Config, load_config
from feeder.feeds.formats import FEED_FORMATS
from feeder.feeds.model import feed_path
from feeder.files import TEMP_FOLDER, TEMP_SUFFIX
from feeder.paths import article_path
from feeder.pipeline import ingest_and_publish, restore, withdraw
from feeder.publish.archives import PAGES_DIR
from feeder.serve.http_rules import cache_control
from feeder.serve.nginx import nginx_config
from feeder.serve.server import FeedServer
from feeder.site.withdrawals import gone_marker
from feeder.store import Store
from tests.client import Client, Reply
from tests.commands import feeder_cli, wait_for
from tests.conftest import config_for, wire_text, write_config
from tests.fediverse_actors import running_actors
from tests.feedcheck import XML_FORMATS
from tests.readers import newsboat_items
from tests.test_fediverse_peer import free_port

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
READER_ACCEPT = "application/rss+xml, application/atom+xml, */*"
REQUESTS = [
    {},
    {"Accept-Encoding": "gzip"},
    {"Accept": READER_ACCEPT, "Accept-Encoding": "gzip, deflate"},
    {"Accept": BROWSER_ACCEPT},
    {"Accept": BROWSER_ACCEPT, "Accept-Encoding": "gzip"},
]
# Where the two servers must agree; Date, Server, Connection differ by nature.
COMPARED = ["Content-Type", "Content-Length", "Content-Encoding", "ETag", "Last-Modified"]
COMPARED += ["Cache-Control"]


@pytest.fixture
def published(readable_root: Path) -> Config:
    """52 stories: all news has one archive page."""
    return _publish(config_for(readable_root, server={"host": "127.0.0.1", "port": 0}))


def _publish(config: Config) -> Config:
    for number in range(1, 53):
        _deliverer(config)(
            f"{number:03d}_{number:016x}.txt",
            wire_text(
                title=f"Новость {number}",
                date=f"{(number - 1) % 28 + 1:02d}.09.23",
                category="Политика" if number % 2 else "Экономика",
            ),
        )
    ingest_and_publish(config)
    return config


def _deliverer(config: Config) -> Callable[[str, str], None]:
    """Deliveries dated well before now, so none is still settling."""

    def deliver(name: str, content: str) -> None:
        path = config.inbox / name
        path.write_text(content)
        os.utime(path, (1_700_000_000, 1_700_000_000))

    return deliver


@pytest.fixture
def both(published: Config, readable_root: Path) -> Iterator[tuple[Client, Client]]:
    """(feeder serve, nginx) over the same output."""
    with (
        FeedServer(published) as feeder_server,
        running_nginx(published, readable_root / "nginx") as nginx_url,
    ):
        feeder_client, nginx_client = Client(feeder_server.url), Client(nginx_url)
        yield feeder_client, nginx_client
        feeder_client.close()
        nginx_client.close()


def _archive_pages(config: Config) -> list[str]:
    """The archive page of all news, in every format."""
    return sorted(
        f"/{path.relative_to(config.output_dir).as_posix()}"
        for feed_format in FEED_FORMATS
        for path in (config.output_dir / PAGES_DIR / "all").glob(f"*.{feed_format.suffix}")
    )


def _paths(config: Config) -> list[str]:
    feeds = [f"/{feed_path(slug, f)}" for slug in ("all", "politika") for f in FEED_FORMATS]
    pages = ["/", "/index.html", "/categories/politika.html", "/feeds.opml", "/feeds/feed.xsl"]
    archive = _archive_pages(config)
    assert len(archive) == len(FEED_FORMATS)
    return [*feeds, *archive, *pages, "/sitemap.xml", "/news-sitemap.xml", "/robots.txt"]


# Query strings that once broke nginx's map over "$request_uri|…" (issue 20).
HOSTILE_QUERIES = ["", "?|", "?|2023-09", "?x=%7C&y=|", "?/feeds/pages/all/0-1.atom", "?a=b#c"]


def test_archive_pages_are_immutable_in_both_by_their_path_alone(
    both: tuple[Client, Client], published: Config
) -> None:
    long, short = cache_control(published, sealed=True), cache_control(published)
    assert "immutable" in long and "immutable" not in short
    page = _archive_pages(published)[0]
    for client in both:
        for query in HOSTILE_QUERIES:
            assert client.get(page + query).headers["Cache-Control"] == long, query
            assert (
                client.get(f"/{feed_path('all', FEED_FORMATS.primary)}{query}").headers[
                    "Cache-Control"
                ]
                == short
            ), query
        # A browser shown the category's page in place of an archive page: that changes.
        shown = client.get(page, {"Accept": BROWSER_ACCEPT})
        assert shown.headers["Content-Type"].startswith("text/html")
        assert shown.headers["Cache-Control"] == short


def test_month_documents_of_earlier_releases_are_gone_from_both(
    both: tuple[Client, Client], published: Config
) -> None:
    for path in ["/feeds/archive/politika/2023-09.atom", "/feeds/archive/all/2023-09.json?|"]:
        feeder_reply, nginx_reply = (client.get(path) for client in both)
        assert feeder_reply.status == nginx_reply.status == 410, path
        assert feeder_reply.headers["Cache-Control"] == nginx_reply.headers["Cache-Control"]


def test_a_withdrawn_page_is_gone_from_both_until_it_is_restored(
    both: tuple[Client, Client], published: Config
) -> None:
    killed = "002_0000000000000002"
    path = f"/{article_path(killed)}"
    withdraw(published, killed, "ошибка", "editor")
    feeder_reply, nginx_reply = (client.get(path) for client in both)
    assert feeder_reply.status == nginx_reply.status == 410
    assert "Статья отозвана" in nginx_reply.body.decode()
    for name in ("Content-Type", "Cache-Control"):
        assert feeder_reply.headers[name] == nginx_reply.headers[name], name
    assert feeder_reply.body == nginx_reply.body
    # Its marker is hidden like every hidden name, and the other pages are unchanged.
    for client in both:
        assert client.get(f"/{gone_marker(killed)}").status == 404
        assert client.get(f"/{article_path('001_0000000000000001')}").status == 200
    restore(published, killed)
    for client in both:
        for request in ({}, {"Accept-Encoding": "gzip"}):
            restored = client.get(path, request)
            assert restored.status == 200
            # Never the notice's bytes, also not as a gzip copy left beside the page:
            # the page itself, compressed per request.
            assert restored.headers["ETag"].startswith("W/") == bool(request)
            body = gzip.decompress(restored.body) if request else restored.body
            assert "Новость 2" in body.decode(), request


def test_a_same_size_correction_within_one_second_is_new_to_both(
    both: tuple[Client, Client], published: Config
) -> None:
    """Both servers build ETag and Last-Modified from the mtime in whole seconds and
    the size: two same-length versions of a feed written within one second looked
    the same, and a reader holding the first got 304 for the second."""
    path = f"/{feed_path('all', FEED_FORMATS.primary)}"
    feed = published.output_dir / path.lstrip("/")
    held: dict[tuple[int, str], Reply] = {}
    sizes = []
    wait_for(lambda: time.time() % 1 < 0.3)  # early in a second: both land in it
    for title in ("Поправка 1", "Поправка 2"):
        _deliverer(published)(
            "028_000000000000001c.txt",
            wire_text(date="28.09.23", category="Экономика", title=title),
        )
        ingest_and_publish(published)
        sizes.append(feed.stat().st_size)
        if not held:
            held = {
                (number, encoding): client.get(path, {"Accept-Encoding": encoding})
                for number, client in enumerate(both)
                for encoding in ("identity", "gzip")
            }
    assert sizes[0] == sizes[1]
    for (number, encoding), first in held.items():
        for condition, validator in (
            ("If-None-Match", "ETag"),
            ("If-Modified-Since", "Last-Modified"),
        ):
            request = {"Accept-Encoding": encoding, condition: first.headers[validator]}
            reply = both[number].get(path, request)
            what = f"server {number}, {request}"
            assert reply.status == 200, what
            body = gzip.decompress(reply.body) if encoding == "gzip" else reply.body
            assert "Поправка 2" in body.decode(), what


def _vary(headers: Message) -> set[str]:
    """nginx sends one Vary line per header, feeder one list: the same to a cache."""
    return {token.strip() for line in headers.get_all("Vary") or [] for token in line.split(",")}


def _assert_same(feeder_reply: Reply, nginx_reply: Reply, what: str) -> None:
    assert feeder_reply.status == nginx_reply.status, what
    for name in COMPARED:
        assert feeder_reply.headers[name] == nginx_reply.headers[name], f"{name} of {what}"
    assert _vary(feeder_reply.headers) == _vary(nginx_reply.headers), what
    assert feeder_reply.body == nginx_reply.body, what


def test_nginx_serves_what_feeder_serves_header_for_header(
    both: tuple[Client, Client], published: Config
) -> None:
    feeder_client, nginx_client = both
    for path in _paths(published):
        for request in REQUESTS:
            what = f"GET {path} {request}"
            first = feeder_client.get(path, request)
            assert first.status == 200, what
            _assert_same(first, nginx_client.get(path, request), what)
            for condition, validator in (
                ("If-None-Match", "ETag"),
                ("If-Modified-Since", "Last-Modified"),
            ):
                again = {**request, condition: first.headers[validator]}
                from_feeder = feeder_client.get(path, again)
                from_nginx = nginx_client.get(path, again)
                assert (from_feeder.status, from_nginx.status) == (304, 304), what
                assert from_feeder.body == from_nginx.body == b""
                for name in ("ETag", "Cache-Control"):
                    assert from_feeder.headers[name] == from_nginx.headers[name], what
                assert _vary(from_feeder.headers) == _vary(from_nginx.headers), what


def test_gzip_is_the_copy_publishing_wrote_and_feeds_say_what_they_vary_on(
    both: tuple[Client, Client], published: Config
) -> None:
    for client in both:
        reply = client.get("/feeds/all.rss", {"Accept-Encoding": "gzip"})
        assert reply.headers["Content-Encoding"] == "gzip"
        assert reply.body == (published.output_dir / "feeds/all.rss.gz").read_bytes()
        assert _vary(reply.headers) == {"Accept", "Accept-Encoding"}
        page = client.get("/index.html", {"Accept-Encoding": "gzip"})
        assert _vary(page.headers) == {"Accept-Encoding"}


def test_a_browser_gets_the_page_of_a_feed_from_both_or_xml_without_one(
    both: tuple[Client, Client], published: Config
) -> None:
    (published.output_dir / "categories" / "ekonomika.html").unlink()
    for client in both:
        for feed_format in FEED_FORMATS:
            for slug, page in (("all", "index.html"), ("politika", "categories/politika.html")):
                reply = client.get(f"/{feed_path(slug, feed_format)}", {"Accept": BROWSER_ACCEPT})
                assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
                assert reply.body == (published.output_dir / page).read_bytes()
                assert "Accept" in _vary(reply.headers)
            pageless = client.get(
                f"/{feed_path('ekonomika', feed_format)}", {"Accept": BROWSER_ACCEPT}
            )
            assert (
                pageless.headers["Content-Type"]
                == f"{feed_format.browser_media_type}; charset=utf-8"
            )
            assert (
                pageless.body
                == (published.output_dir / feed_path("ekonomika", feed_format)).read_bytes()
            )
            reader = client.get(f"/{feed_path('all', feed_format)}", {"Accept": READER_ACCEPT})
            assert reader.headers["Content-Type"] == f"{feed_format.media_type}; charset=utf-8"


SECRET = "NOT FOR SUBSCRIBERS"


def test_both_refuse_hidden_temp_traversal_and_links(
    published: Config, readable_root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # An earlier test's `feeder --log-level error` leaves the root logger at ERROR.
    caplog.set_level(logging.WARNING, logger="feeder.serve.server")
    output = published.output_dir
    (output / ".secret").write_text(SECRET)
    (output / TEMP_FOLDER).mkdir(exist_ok=True)
    (output / TEMP_FOLDER / f"all.rss-0123{TEMP_SUFFIX}").write_text(SECRET)
    os.symlink(".secret", output / "notes.txt")  # an ordinary name for a hidden file
    os.symlink("loop", output / "loop")
    refused = [
        "/.secret",
        f"/{TEMP_FOLDER}/all.rss-0123{TEMP_SUFFIX}",
        "/notes.txt",
        "/loop",
        "/../config.toml",
        "/%2e%2e/config.toml",
        "/feeds/%2e%2e/%2e%2e/config.toml",
        "/feeds/missing.rss",
        "/.feeder-browser/feeds/all.rss",
    ]
    with (
        FeedServer(published) as feeder_server,
        running_nginx(published, readable_root / "ng") as nginx_url,
    ):
        for base_url in (feeder_server.url, nginx_url):
            client = Client(base_url)
            for path in refused:
                reply = client.get(path)
                assert reply.status == 404, (base_url, path)
                assert SECRET not in reply.body.decode(), (base_url, path)
            client.close()
    log = error_log(readable_root / "ng")
    for name in ("notes.txt", "loop"):
        assert f'"{output}/{name}" failed (40: Too many levels of symbolic links)' in log
    ours = [
        record.getMessage() for record in caplog.records if record.name == "feeder.serve.server"
    ]
    assert [line for line in ours if line.startswith("notes.txt:")] == [
        "notes.txt: is or passes through a symbolic link, never served; answered 404"
    ]
    assert [line for line in ours if line.startswith("loop:")] == [
        "loop: Too many levels of symbolic links; answered 404"
    ]


def test_nginx_answers_404_for_what_its_workers_cannot_read(
    published: Config, readable_root: Path
) -> None:
    """Run as root, nginx's workers are nobody; run as a user, chmod binds them too."""
    output = published.output_dir
    (output / "private.html").write_text(SECRET)
    (output / "private.html").chmod(0)
    (output / "locked").mkdir()
    (output / "locked" / "page.html").write_text(SECRET)
    (output / "locked").chmod(0)
    with running_nginx(published, readable_root / "ng") as nginx_url:
        client = Client(nginx_url)
        for path in ("/private.html", "/locked/page.html"):
            assert client.get(path).status == 404, path
        client.close()
    log = error_log(readable_root / "ng")
    assert 'private.html" failed (13: Permission denied)' in log
    assert 'page.html" failed (13: Permission denied)' in log


def test_newsboat_reads_the_feeds_through_nginx(
    published: Config, readable_root: Path, tmp_path: Path
) -> None:
    prefix = readable_root / "nginx"
    with running_nginx(published, prefix) as nginx_url:
        for feed_format in XML_FORMATS:  # newsboat reads no JSON Feed
            url = nginx_url + feed_path("all", feed_format)
            items = newsboat_items(url, tmp_path / feed_format.suffix)
            # The two no archive page holds, and the 48 filed last before them.
            assert {item["title"] for item in items} == {f"Новость {n}" for n in range(3, 53)}
            for _ in range(2):
                assert newsboat_items(url, tmp_path / feed_format.suffix) == items
    access = (prefix / "access.log").read_text().splitlines()
    polls = [line for line in access if '"GET /feeds/all.' in line]
    # newsboat keeps a feed's validators from its second fetch on, so the third is
    # conditional, and nginx answers it with a bodiless 304.
    statuses = [line.split('" ')[1].split()[0] for line in polls]
    assert statuses == ["200", "200", "304"] * len(XML_FORMATS)


def test_feeder_nginx_config_prints_the_block_for_the_config(readable_root: Path) -> None:
    config_path = write_config(readable_root, server={"port": 8090})
    result = feeder_cli(config_path, "nginx-config", "--listen", "127.0.0.1:8081")
    assert result.exit_code == 0, result.output
    assert result.output == nginx_config(load_config(config_path), "127.0.0.1:8081")
    assert f"root {(readable_root / 'public').resolve()};" in result.output
    assert "listen 127.0.0.1:8081;" in result.output


@pytest.fixture
def fediverse(readable_root: Path) -> Iterator[tuple[Config, Client, Client, str]]:
    """52 stories with the fediverse accounts on; feeder on the fixed port the block
    proxies to. Yields (config, feeder client, nginx client, nginx's URL)."""
    port = free_port()
    config = _publish(
        config_for(
            readable_root,
            base_url=f"http://127.0.0.1:{port}/",
            server={"host": "127.0.0.1", "port": port},
            fediverse={"enabled": True, "allow_private_addresses": True},
        )
    )
    with (
        FeedServer(config) as feeder_server,
        running_nginx(config, readable_root / "nginx") as nginx_url,
    ):
        feeder_client, nginx_client = Client(feeder_server.url), Client(nginx_url)
        yield config, feeder_client, nginx_client, nginx_url
        feeder_client.close()
        nginx_client.close()


def test_nginx_serves_the_fediverse_documents_as_feeder_does(
    fediverse: tuple[Config, Client, Client, str],
) -> None:
    config, feeder_client, nginx_client, _ = fediverse
    outbox = sorted((config.output_dir / "fediverse" / "outbox").iterdir())
    archived = [
        page for page in outbox if page.name.startswith("news-") and "current" not in page.name
    ]
    assert archived, "all news has an archive page, so an outbox page of it"
    documents = {
        "/fediverse/users/politika": ACTIVITY_JSON,
        "/fediverse/users/news": ACTIVITY_JSON,
        "/fediverse/outbox/politika": ACTIVITY_JSON,
        "/fediverse/outbox/politika-current": ACTIVITY_JSON,
        f"/fediverse/outbox/{archived[0].name}": ACTIVITY_JSON,
        "/fediverse/followers/politika": ACTIVITY_JSON,
        "/fediverse/webfinger/politika": JRD_JSON,
        "/fediverse/nodeinfo": NODEINFO_JSON,
    }
    for path, media_type in documents.items():
        for request in ({}, {"Accept": ACTIVITY_JSON, "Accept-Encoding": "gzip"}):
            what = f"GET {path} {request}"
            from_feeder = feeder_client.get(path, request)
            assert (from_feeder.status, from_feeder.headers["Content-Type"]) == (200, media_type)
            from_nginx = nginx_client.get(path, request)
            if from_nginx.headers["Content-Encoding"] == "gzip":
                # Compressed per request: nginx streams it, so no Content-Length.
                assert from_nginx.headers["Content-Length"] is None
                from_feeder, from_nginx = _unzipped(from_feeder), _unzipped(from_nginx)
            _assert_same(from_feeder, from_nginx, what)
            assert from_nginx.headers["Access-Control-Allow-Origin"] == "*", what
    host = f"127.0.0.1:{config.server.port}"
    answers = {
        f"/.well-known/webfinger?resource=acct:politika@{host}": JRD_JSON,
        f"/.well-known/webfinger?resource={config.url('fediverse/users/politika')}": JRD_JSON,
        "/.well-known/nodeinfo": "application/json",
    }
    for path, media_type in answers.items():
        from_feeder, from_nginx = feeder_client.get(path), nginx_client.get(path)
        assert (from_feeder.status, from_feeder.headers["Content-Type"]) == (200, media_type)
        assert (from_nginx.status, from_nginx.headers["Content-Type"]) == (200, media_type), path
        assert from_nginx.body == from_feeder.body, path
        assert from_nginx.headers["Access-Control-Allow-Origin"] == "*", path
    unknown = nginx_client.get(f"/.well-known/webfinger?resource=acct:nobody@{host}")
    assert unknown.status == 404


def _unzipped(reply: Reply) -> Reply:
    """The reply as it was before compression, but for the ETag (weak, as it should)."""
    headers = Message()
    for name, value in reply.headers.items():
        if name.lower() not in ("content-encoding", "content-length"):
            headers[name] = value
    return Reply(reply.status, headers, gzip.decompress(reply.body))


def test_nginx_passes_signed_inbox_posts_to_feeder(
    fediverse: tuple[Config, Client, Client, str],
) -> None:
    """The signature covers Host as the sender wrote it (port included): the proxy
    must hand it on unchanged, or every follow through nginx is a 401."""
    config, _, _, nginx_url = fediverse
    with running_actors() as actors, httpx.Client(timeout=30) as client:
        unsigned = client.post(nginx_url + "inbox", json={"type": "Follow"})
        assert unsigned.status_code == 401 and "not signed" in unsigned.text
        for inbox, name in (("inbox", "alice"), ("fediverse/inbox/politika", "bob")):
            follow = {
                "id": f"{actors.url}/follows/{name}",
                "type": "Follow",
                "actor": actors.actor(name),
                "object": config.url("fediverse/users/politika"),
            }
            answer = actors.signed_post(client, nginx_url + inbox, follow, name)
            assert answer.status_code == 202, (inbox, answer.text)
    with Store(config.database) as store:
        assert FediverseState(store).follower_count("politika") == 2
