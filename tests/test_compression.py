"""Article pages compressed per request by both servers, and the pictures served as such.

Article pages have no gzip copy (one file per story, docs/serving.md): feeder's
server and nginx compress them on the way out, with a weak ETag, and answer
304 to either form of it.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.nginx import running_nginx
from feeder.config import Config
from feeder.pipeline import ingest_and_publish
from feeder.serve.server import FeedServer
from tests.client import Client, Reply
from tests.conftest import config_for, deliver_day

ARTICLE = "/articles/002_0000000000000002.html"
LEAD = "Длинный первый абзац, чтобы страница была больше порога сжатия. " * 20


def _vary(reply: Reply) -> set[str]:
    lines = reply.headers.get_all("Vary") or []
    return {token.strip() for line in lines for token in line.split(",")}


@pytest.fixture
def published(readable_root: Path) -> Config:
    config = config_for(readable_root, server={"host": "127.0.0.1", "port": 0})
    for number in (1, 2, 3):
        deliver_day(_Deliver(config), number, paragraphs=(LEAD, "Второй абзац."))
    ingest_and_publish(config)
    return config


class _Deliver:
    """`deliver_day`'s delivery, into a config that is not the fixture's."""

    def __init__(self, config: Config) -> None:
        self.config = config

    def __call__(self, name: str, content: str) -> Path:
        path = self.config.inbox / name
        path.write_text(content)
        return path


@pytest.fixture
def both(published: Config, readable_root: Path) -> Iterator[list[Client]]:
    with (
        FeedServer(published) as server,
        running_nginx(published, readable_root / "nginx") as nginx_url,
    ):
        clients = [Client(server.url), Client(nginx_url)]
        yield clients
        for client in clients:
            client.close()


def test_an_article_page_is_compressed_per_request_with_a_weak_etag(
    published: Config, both: list[Client]
) -> None:
    source = (published.output_dir / ARTICLE.lstrip("/")).read_bytes()
    assert not (published.output_dir / (ARTICLE.lstrip("/") + ".gz")).exists()
    replies = []
    for client in both:
        plain = client.get(ARTICLE)
        packed = client.get(ARTICLE, {"Accept-Encoding": "gzip"})
        assert plain.body == source and "Content-Encoding" not in plain.headers
        assert packed.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(packed.body) == source
        assert len(packed.body) < len(source) / 2
        assert packed.headers["ETag"] == f"W/{plain.headers['ETag']}"
        assert packed.headers["Content-Type"] == "text/html; charset=utf-8"
        assert _vary(plain) == _vary(packed) == {"Accept-Encoding"}
        # If-None-Match compares weakly: either form of the tag is a 304 for either.
        for tag in (packed.headers["ETag"], plain.headers["ETag"]):
            for encoding in ("gzip", "identity"):
                again = client.get(ARTICLE, {"Accept-Encoding": encoding, "If-None-Match": tag})
                assert (again.status, again.body) == (304, b""), (client, tag, encoding)
        since = {"Accept-Encoding": "gzip", "If-Modified-Since": packed.headers["Last-Modified"]}
        assert client.get(ARTICLE, since).status == 304
        replies.append(packed)
    for name in ("Content-Type", "Content-Encoding", "ETag", "Last-Modified", "Cache-Control"):
        assert replies[0].headers[name] == replies[1].headers[name], name


def test_pictures_are_served_as_pictures_and_never_compressed(
    published: Config, both: list[Client]
) -> None:
    for client in both:
        for path, media_type in (("/favicon.ico", "image/x-icon"), ("/og-image.png", "image/png")):
            reply = client.get(path, {"Accept-Encoding": "gzip"})
            assert reply.status == 200
            assert reply.headers["Content-Type"] == media_type  # no charset
            assert "Content-Encoding" not in reply.headers
            assert reply.body == (published.output_dir / path.lstrip("/")).read_bytes()


def test_a_range_of_an_article_is_of_the_page_as_it_is(published: Config) -> None:
    with FeedServer(published) as server:
        client = Client(server.url)
        reply = client.get(ARTICLE, {"Accept-Encoding": "gzip", "Range": "bytes=0-9"})
        client.close()
    assert reply.status == 206
    assert "Content-Encoding" not in reply.headers
    assert reply.body == (published.output_dir / ARTICLE.lstrip("/")).read_bytes()[:10]
