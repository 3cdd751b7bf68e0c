"""Link previews: Open Graph, Twitter card and description tags on every kind of page,
read back by extruct (as social sites read them) and by an HTML5 parser."""

from __future__ import annotations

import os
import re
import struct
from dataclasses import replace
from pathlib import Path
from typing import Any

import extruct
import html5lib
import pytest
from lxml import html

from feeder.config import Config, ConfigError
from feeder.feeds.budget import shortened
from feeder.pipeline import ingest_and_publish, withdraw
from feeder.site.pages import DESCRIPTION_MAX_CHARS
from tests.conftest import config_for, deliver_day, wire_text
from tests.site_pages import strict_parse

LEAD = "Правительство утвердило бюджет на следующий год после долгого обсуждения " * 5
ARTICLE = "articles/002_0000000000000002.html"
WITHDRAWN = "articles/001_0000000000000001.html"
# path → (og:type, og:title, a phrase of the description)
PAGES = {
    "index.html": ("website", "Тестовая лента", "Свежие новости, все рубрики"),
    "categories/politika.html": ("website", "Политика", "Новости рубрики «Политика»"),
    "archive/all/index.html": ("website", "Все новости: архив по месяцам", "Все месяцы архива"),
    "archive/all/2023-09.html": ("website", "Все новости: сентябрь 2023 г.", "дни с новостями"),
    "archive/politika/2023-09-02.html": (
        "website",
        "Политика: сб, 2 сентября 2023 г.",
        "все статьи за сб, 2 сентября 2023 г.",
    ),
    ARTICLE: ("article", "Бюджет утверждён", LEAD[:40]),
    WITHDRAWN: ("website", "Статья отозвана", "Агентство отозвало эту статью"),
}


def _open_graph(data: bytes, url: str) -> dict[str, str]:
    """The page's Open Graph properties as extruct reads them; each must appear once."""
    (item,) = extruct.extract(data, base_url=url, syntaxes=["opengraph"])["opengraph"]
    properties: list[tuple[str, str]] = item["properties"]
    found = dict(properties)
    assert len(found) == len(properties), properties
    return found


def _named_meta(data: bytes) -> dict[str, str]:
    """`<meta name>` tags (description, Twitter card) as a browser's HTML5 parser reads them."""
    document = html5lib.parse(data, treebuilder="lxml", namespaceHTMLElements=False)
    metas = document.xpath("/html/head/meta[@name]")
    found = {meta.get("name"): meta.get("content") for meta in metas}
    assert len(found) == len(metas)
    return found


@pytest.fixture
def published(config: Config, deliver) -> Config:
    deliver_day(deliver, 1, category="Политика", title="Отозванная новость")
    deliver_day(
        deliver, 2, category="Политика", title="Бюджет утверждён", paragraphs=(LEAD, "Второй.")
    )
    ingest_and_publish(config)
    withdraw(config, "001_0000000000000001", "ошибка", "editor")
    return config


@pytest.mark.parametrize("path", PAGES)
def test_every_kind_of_page_has_its_preview_for_extruct(published: Config, path: str) -> None:
    og_type, title, phrase = PAGES[path]
    data = (published.output_dir / path).read_bytes()
    url = published.url(path)
    og = _open_graph(data, url)
    named = _named_meta(data)
    image = published.url("og-image.png")
    assert og["og:type"] == og_type
    # CLDR dates hold no-break spaces: compared as a reader reads them.
    assert " ".join(og["og:title"].split()) == title
    assert og["og:url"] == url
    assert og["og:site_name"] == "Тестовая лента"
    assert og["og:locale"] == "ru_RU"
    assert (og["og:image"], og["og:image:width"], og["og:image:height"]) == (image, "1200", "630")
    assert og["og:image:alt"] == "Тестовая лента"
    assert phrase in " ".join(og["og:description"].split())
    assert named["description"] == og["og:description"]
    assert named["twitter:card"] == "summary_large_image"
    assert named["twitter:image"] == image
    document = html.fromstring(data)
    assert document.xpath("//link[@rel='canonical']/@href") == [url]
    (icon,) = document.xpath("//link[@rel='icon']/@href")
    assert (published.output_dir / path).parent.joinpath(icon).resolve() == (
        published.output_dir / "favicon.ico"
    ).resolve()


def test_an_article_preview_has_its_times_section_and_a_short_lead(published: Config) -> None:
    og = _open_graph((published.output_dir / ARTICLE).read_bytes(), published.url(ARTICLE))
    assert og["article:published_time"] == "2023-09-02T12:00:00+04:00"
    assert og["article:modified_time"] == "2023-09-02T12:00:00+04:00"
    assert og["article:section"] == "Политика"
    description = og["og:description"]
    assert description == shortened(LEAD, DESCRIPTION_MAX_CHARS)
    assert len(description) <= DESCRIPTION_MAX_CHARS + 1
    kept = description.removesuffix("…")
    assert LEAD.startswith(kept) and LEAD[len(kept)] == " "  # cut at a word


def test_english_pages_say_en_us(tmp_path: Path, deliver) -> None:
    config = config_for(tmp_path, language="en")
    deliver_day(deliver, 1)
    ingest_and_publish(config)
    data = (config.output_dir / "index.html").read_bytes()
    assert _open_graph(data, config.url("index.html"))["og:locale"] == "en_US"


HOSTILE = '"q" <b>&amp; </title>\'><script>alert(1)</script>\x01\x7f'


def _without_controls(text: str) -> str:
    return text.replace("\x01", "").replace("\x7f", "")


def _hostile_values(text: str) -> set[str]:
    """What a parser may read back: the text itself, or it without the control
    characters the wire parser drops, but never less of it."""
    return {text, _without_controls(text)}


def _site(root: Path, text: str) -> Config:
    """Two stories, the second's headline, lead and category holding `text`; the
    category's slug pinned, so a calm and a hostile site have the same paths."""
    category = f"Рубрика {text}"
    root.mkdir()
    # The wire parser drops control characters: the stored name has none.
    config = config_for(root, category_slugs={_without_controls(category): "rubrika"})
    for number, fields in (
        (1, {"category": "Политика", "title": "Спокойная", "paragraphs": ("Спокойно.",)}),
        (2, {"category": category, "title": f"Взрыв {text}", "paragraphs": (text,)}),
    ):
        name = config.inbox / f"{number:03d}_{number:016x}.txt"
        name.write_text(wire_text(date=f"{number:02d}.09.23", **fields))
        os.utime(name, (1_700_000_000, 1_700_000_000))
    ingest_and_publish(config)
    return config


def _tags(data: bytes) -> list[str]:
    document = html5lib.parse(data, treebuilder="lxml", namespaceHTMLElements=False)
    return [element.tag for element in document.iter() if isinstance(element.tag, str)]


def test_hostile_headline_lead_and_category_stay_text_in_every_tag(tmp_path: Path) -> None:
    calm = _site(tmp_path / "calm", "спокойно")
    hostile = _site(tmp_path / "hostile", HOSTILE)
    pages = sorted(
        path.relative_to(hostile.output_dir).as_posix()
        for path in hostile.output_dir.rglob("*.html")
        if "Рубрика" in path.read_text()
    )
    assert len(pages) >= 6  # the article, its category, day pages, month, front
    for path in pages:
        data = (hostile.output_dir / path).read_bytes()
        strict_parse(data)
        # Not one element more or less than the same page with calm text.
        assert _tags(data) == _tags((calm.output_dir / path).read_bytes()), path
        for value in [*_open_graph(data, hostile.url(path)).values(), *_named_meta(data).values()]:
            if "Рубрика" in value or "Взрыв" in value or "alert" in value:
                assert _without_controls(HOSTILE) in _without_controls(value), (path, value)
    article = (hostile.output_dir / "articles/002_0000000000000002.html").read_bytes()
    og = _open_graph(article, hostile.url("articles/002_0000000000000002.html"))
    assert og["og:title"] in _hostile_values(f"Взрыв {HOSTILE}")
    assert og["article:section"] in _hostile_values(f"Рубрика {HOSTILE}")
    assert og["og:description"] in _hostile_values(HOSTILE)
    assert _named_meta(article)["description"] == og["og:description"]
    category = (hostile.output_dir / "categories/rubrika.html").read_bytes()
    assert _open_graph(category, hostile.url("categories/rubrika.html"))["og:title"] in (
        _hostile_values(f"Рубрика {HOSTILE}")
    )


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_bundled_image_and_favicon_are_published_as_stated(published: Config) -> None:
    output = published.output_dir
    assert _png_size((output / "og-image.png").read_bytes()) == (1200, 630)
    icon = (output / "favicon.ico").read_bytes()
    assert icon[:4] == b"\x00\x00\x01\x00" and struct.unpack("<H", icon[4:6])[0] >= 1
    # Pictures are compressed already: no gzip copy beside them.
    assert not (output / "og-image.png.gz").exists()
    assert not (output / "favicon.ico.gz").exists()


def test_an_image_of_ones_own_is_named_and_not_overwritten(tmp_path: Path, deliver) -> None:
    options: dict[str, Any] = {"og_image_width": 800, "og_image_height": 418}
    for og_image, expected in (
        ("https://cdn.example.org/card.png", "https://cdn.example.org/card.png"),
        ("images/card.png", "http://feeds.example.org/news/images/card.png"),
    ):
        config = config_for(tmp_path, og_image=og_image, **options)
        deliver_day(deliver, 1)
        ingest_and_publish(config)
        data = (config.output_dir / "index.html").read_bytes()
        og = _open_graph(data, config.url("index.html"))
        assert (og["og:image"], og["og:image:width"], og["og:image:height"]) == (
            expected,
            "800",
            "418",
        )
        assert _named_meta(data)["twitter:image"] == expected
        assert not (config.output_dir / "images").exists()
        (config.output_dir / "og-image.png").unlink(missing_ok=True)
    assert not (config.output_dir / "og-image.png").exists()


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("og_image", "../secret.png", "must be an http(s) URL or a path under output_dir"),
        ("og_image", "/etc/card.png", "must be an http(s) URL or a path under output_dir"),
        ("og_image", ".hidden.png", "must be an http(s) URL or a path under output_dir"),
        ("og_image", "", "must be an http(s) URL or a path under output_dir"),
        ("og_image_width", 0, "must be greater than 0"),
        ("og_image_height", "630", "must be a whole number"),
    ],
)
def test_a_bad_image_setting_names_the_key(
    tmp_path: Path, key: str, value: object, problem: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"key '{key}' {problem}")):
        config_for(tmp_path, **{key: value})


def test_the_image_url_follows_base_url(tmp_path: Path) -> None:
    config = config_for(tmp_path)
    assert config.og_image_url == "http://feeds.example.org/news/og-image.png"
    moved = replace(config, base_url="https://news.example.com/")
    assert moved.og_image_url == "https://news.example.com/og-image.png"
