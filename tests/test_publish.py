"""The published feeds and pages, read the way subscribers' readers and browsers read them."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
from lxml import etree, html

from feeder.config import Config, load_config
from feeder.feeds.formats import FEED_FORMATS
from feeder.feeds.model import FeedFormat, feed_path
from feeder.feeds.xmlfeeds import STYLESHEET_PATH, Atom
from feeder.files import PublishError
from feeder.paths import article_path
from feeder.pipeline import ingest_and_publish, regenerate
from feeder.publish.archives import page_location
from feeder.store import Store
from feeder.visible import INVISIBLE
from tests.commands import feeder_cli
from tests.conftest import SEED, config_for, deliver_day, file_tree, wire_text, write_config
from tests.feedcheck import XML_FORMATS, parse_valid_feed

FORMATS = list(FEED_FORMATS)
# RSS 2.0 has only a category's text, the name; Atom has the slug as term, the name as label.
SEED_CATEGORY = {
    "rss": {"term": "Политика", "scheme": None, "label": None},
    "atom": {"term": "politika", "scheme": None, "label": "Политика"},
    # JSON Feed tags are names.
    "json": {"term": "Политика", "label": "Политика"},
}
HOSTILE_TITLE = "Взрыв <script>alert('x')</script> & «кавычки» ]]>"
HOSTILE_BODY = "Текст с <b>разметкой</b>, амперсандом & и\x0bвертикальной табуляцией."


def feed(config: Config, slug: str, feed_format: FeedFormat):
    relative = feed_path(slug, feed_format)
    return parse_valid_feed((config.output_dir / relative).read_bytes(), config.url(relative))


@pytest.mark.parametrize("feed_format", FORMATS, ids=lambda f: f.suffix)
def test_seed_feeds_are_valid_and_carry_the_article(
    config: Config, deliver, run_ingest, feed_format
) -> None:
    deliver(SEED.name, SEED.read_bytes())
    run_ingest()
    for slug in ("all", "politika"):
        parsed = feed(config, slug, feed_format)
        (entry,) = parsed.entries
        assert entry.title.startswith("Алиев выразил соболезнования")
        assert entry.id == "tag:example.org,2024:feeder/story/000_dac83acdb151354f"
        assert entry.link == "http://feeds.example.org/news/articles/000_dac83acdb151354f.html"
        assert entry.summary.startswith("Президент Азербайджана")
        assert "Скандал" not in str(entry)  # teasers are never published
        assert entry.tags == [SEED_CATEGORY[feed_format.suffix]]
        assert entry.author == "Turan"
        assert entry.published_parsed[:3] == (2023, 9, 21)
        assert parsed.feed.language == "ru"
    assert feed(config, "politika", feed_format).feed.title == "Тестовая лента — Политика"
    assert feed(config, "all", feed_format).feed.title == "Тестовая лента"


@pytest.mark.parametrize("feed_format", FORMATS, ids=lambda f: f.suffix)
def test_entries_are_newest_first_and_capped_at_max_items_beyond_the_unarchived(
    tmp_path: Path, deliver, feed_format
) -> None:
    """With no archive page yet, the subscription document holds every story; once
    50 are sealed into one, it holds the 2 newer ones and the newest other one."""
    config = config_for(tmp_path, max_items=3)
    for number in (3, 1, 5, 2, 4):
        deliver_day(deliver, number, title=f"Новость {number}")
    ingest_and_publish(config)
    titles = [entry.title for entry in feed(config, "all", feed_format).entries]
    assert titles == [f"Новость {number}" for number in (5, 4, 3, 2, 1)]
    for number in range(6, 53):
        deliver(
            f"{number:03d}_{number:016x}.txt", wire_text(title=f"Новость {number}", date="30.09.23")
        )
    ingest_and_publish(config)
    titles = [entry.title for entry in feed(config, "all", feed_format).entries]
    assert sorted(titles) == sorted(f"Новость {number}" for number in (50, 51, 52))


@pytest.mark.parametrize("feed_format", FORMATS, ids=lambda f: f.suffix)
def test_hostile_text_is_escaped_and_the_feed_still_parses(
    config: Config, deliver, run_ingest, feed_format
) -> None:
    deliver_day(deliver, 1, title=HOSTILE_TITLE, paragraphs=(HOSTILE_BODY,))
    run_ingest()
    (entry,) = feed(config, "all", feed_format).entries
    assert entry.title == HOSTILE_TITLE
    content = entry.content[0].value
    assert "&lt;b&gt;разметкой&lt;/b&gt;" in content and "<b>" not in content
    assert "\x0b" not in content and "ивертикальной" in content
    assert "<script>alert" not in (config.articles_dir / f"{1:03d}_{1:016x}.html").read_text()


@pytest.mark.parametrize("feed_format", XML_FORMATS, ids=lambda f: f.suffix)
def test_a_feed_names_a_stylesheet_beside_it_that_shows_it_as_a_page(
    config: Config, deliver, run_ingest, feed_format
) -> None:
    deliver_day(deliver, 1, title="Старая новость")
    deliver_day(deliver, 2, title=HOSTILE_TITLE)
    run_ingest()
    relative = feed_path("politika", feed_format)
    document = etree.parse(config.output_dir / relative)
    (instruction,) = document.xpath("/processing-instruction('xml-stylesheet')")
    assert instruction.get("type") == "text/xsl"
    stylesheet = (config.output_dir / relative).parent / instruction.get("href")
    assert stylesheet == config.output_dir / STYLESHEET_PATH
    page = html.fromstring(str(etree.XSLT(etree.parse(stylesheet))(document)))
    assert page.findtext("body/main/h1") == "Тестовая лента — Политика"
    subscribe = page.xpath("//section[@class='subscribe']")[0]
    assert "Скопируйте адрес" in subscribe.text_content()
    assert subscribe.xpath("p/code/text()") == [config.url(relative)]
    titles = [link.text_content() for link in page.xpath("//li/h3/a")]
    assert titles == [HOSTILE_TITLE, "Старая новость"]  # newest first, as text
    assert not page.xpath("//script")
    assert page.xpath("//li/h3/a/@href")[1] == config.url(f"articles/{1:03d}_{1:016x}.html")
    # The page it links to shows the dates, in the site's time zone: XSLT 1.0 cannot.
    assert subscribe.xpath("p/a/@href") == [config.url("categories/politika.html")]


def test_entry_ids_survive_a_correction(config: Config, deliver, run_ingest) -> None:
    deliver_day(deliver, 1, title="Было")
    run_ingest()
    before = feed(config, "all", Atom()).entries[0]  # RSS items have no updated date
    deliver_day(deliver, 1, title="Стало")
    run_ingest()
    after = feed(config, "all", Atom()).entries[0]
    assert (after.id, after.title) == (before.id, "Стало")
    assert after.updated_parsed > before.updated_parsed


def test_output_is_deterministic(tmp_path: Path, deliver) -> None:
    for number in (1, 2, 3):
        deliver_day(deliver, number, category=("Политика", "Экономика")[number % 2])
    first = config_for(tmp_path, output_dir="first")
    ingest_and_publish(first)
    second = config_for(tmp_path, output_dir="second")
    regenerate(second)
    assert file_tree(first.output_dir) == file_tree(second.output_dir)


def test_unchanged_feeds_are_not_rewritten(config: Config, deliver, run_ingest) -> None:
    deliver_day(deliver, 1)
    run_ingest()
    before = {path: path.stat().st_mtime_ns for path in config.output_dir.rglob("*")}
    report = regenerate(config, all_pages=True)
    assert report.feeds_written == [] and report.pages_written == 0
    assert {path: path.stat().st_mtime_ns for path in config.output_dir.rglob("*")} == before


def test_a_new_article_touches_only_its_category_and_all_news(
    config: Config, deliver, run_ingest
) -> None:
    deliver_day(deliver, 1, category="Политика")
    deliver_day(deliver, 2, category="Экономика")
    run_ingest()
    deliver_day(deliver, 3, category="Экономика")
    outcome = run_ingest()
    assert sorted(outcome.publish.feeds_written) == sorted(
        feed_path(slug, feed_format) for slug in ("all", "ekonomika") for feed_format in FORMATS
    )
    assert outcome.publish.archives_written == []  # no page has filled
    # The new story's page and its neighbour's, whose "next story" link it now is.
    assert outcome.publish.pages_written == 2


def test_regen_restores_deleted_output(config: Config, deliver, run_ingest) -> None:
    deliver_day(deliver, 1)
    run_ingest()
    expected = file_tree(config.output_dir)
    for path in sorted(config.output_dir.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    regenerate(config)
    assert file_tree(config.output_dir) == expected


def test_regen_of_one_category_writes_only_its_feeds(config: Config, deliver, run_ingest) -> None:
    deliver_day(deliver, 1, category="Политика")
    deliver_day(deliver, 2, category="Экономика")
    run_ingest()
    (config.feeds_dir / "politika.rss").unlink()
    (config.feeds_dir / "ekonomika.rss").unlink()
    report = regenerate(config, "politika")
    assert report.feeds_written == ["feeds/politika.rss"]
    assert not (config.feeds_dir / "ekonomika.rss").exists()


def test_a_failed_feed_write_leaves_the_feed_dirty_for_the_next_run(
    config: Config, deliver, run_ingest
) -> None:
    deliver_day(deliver, 1)
    # A plain file where the feeds folder belongs makes every feed write fail, even for root.
    config.output_dir.mkdir()
    config.feeds_dir.write_bytes(b"")
    with pytest.raises(
        PublishError,
        match=f"cannot write {config.feeds_dir}/[^:]+: .* that {config.feeds_dir} is a writable folder",
    ):
        run_ingest()
    config.feeds_dir.unlink()
    outcome = run_ingest()
    assert outcome.ingest.new == 0
    assert "feeds/politika.atom" in outcome.publish.feeds_written


def test_a_feed_that_cannot_be_written_stops_no_other_and_is_retried(tmp_path: Path) -> None:
    """A folder where one feed file belongs: the rest is published, `feeder status`
    names the file, the command exits 1, and the run after the fix writes it."""
    config_path = write_config(tmp_path)
    config = load_config(config_path)
    (config.inbox / "001_a.txt").write_text(wire_text(category="Политика"))
    (config.inbox / "002_b.txt").write_text(wire_text(title="Другая", category="Экономика"))
    blocked = config.feeds_dir / "politika.atom"
    blocked.mkdir(parents=True)
    result = feeder_cli(config_path, "ingest")
    assert result.exit_code == 1
    assert f"cannot write {blocked}" in result.output and "Traceback" not in result.output
    assert feed(config, "politika", FEED_FORMATS.primary).entries
    assert feed(config, "ekonomika", Atom).entries
    assert (config.output_dir / "index.html").exists()
    status = feeder_cli(config_path, "status").output
    assert "Files the last publish could not write: 1" in status
    assert f"  feeds/politika.atom: cannot write {blocked}" in status
    blocked.rmdir()
    assert feeder_cli(config_path, "ingest").exit_code == 0
    assert feed(config, "politika", Atom).entries
    assert "could not write" not in feeder_cli(config_path, "status").output


def test_index_lists_categories_with_autodiscovery_of_existing_feeds(
    config: Config, deliver, run_ingest
) -> None:
    deliver_day(deliver, 1, category="Политика")
    deliver_day(deliver, 2, category="Экономика")
    deliver_day(deliver, 3, category="Экономика")
    run_ingest()
    page = _Links.of((config.output_dir / "index.html").read_text())
    assert "Политика" in page.text and "Экономика" in page.text
    expected = {
        config.url(feed_path(slug, feed_format))
        for slug in ("all", "politika", "ekonomika")
        for feed_format in FORMATS
    }
    assert set(page.alternates) == expected
    for href in page.alternates:
        assert (config.output_dir / href.removeprefix(config.base_url)).is_file()
    for href in page.anchors:
        if not href.startswith("#"):
            assert (config.output_dir / href).is_file(), href


def test_article_pages_announce_their_category_feeds(config: Config, deliver, run_ingest) -> None:
    deliver_day(deliver, 1, category="Экономика", title="Цены на нефть")
    run_ingest()
    page = _Links.of((config.articles_dir / f"{1:03d}_{1:016x}.html").read_text())
    assert "Цены на нефть" in page.text
    assert set(page.alternates) == {config.url(feed_path("ekonomika", f)) for f in FORMATS}


def test_opml_lists_every_category_feed(config: Config, deliver, run_ingest) -> None:
    deliver_day(deliver, 1, category="Политика")
    deliver_day(deliver, 2, category="В мире")
    run_ingest()
    opml = ElementTree.parse(config.output_dir / "feeds.opml").getroot()
    urls = {outline.get("xmlUrl") for outline in opml.iter("outline")}
    assert urls == {
        config.url(feed_path(slug, FEED_FORMATS.primary)) for slug in ("all", "politika", "v-mire")
    }


def test_category_slugs_can_be_pinned_in_config(tmp_path: Path, deliver) -> None:
    config = config_for(tmp_path, category_slugs={"В мире": "world"})
    deliver_day(deliver, 1, category="В мире")
    ingest_and_publish(config)
    assert feed(config, "world", FEED_FORMATS.primary).entries


class _Links(HTMLParser):
    """The feed links, page links and text of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.alternates: list[str] = []
        self.anchors: list[str] = []
        self.text = ""

    @classmethod
    def of(cls, page: str) -> _Links:
        parser = cls()
        parser.feed(page)
        return parser

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "link" and attributes.get("rel") == "alternate":
            assert attributes.get("type") in {f.discovery_type for f in FEED_FORMATS}
            self.alternates.append(attributes["href"] or "")
        elif tag == "a":
            self.anchors.append(attributes["href"] or "")

    def handle_data(self, data: str) -> None:
        self.text += data


def test_a_feed_changed_while_it_is_published_is_published_again(
    config: Config, deliver, run_ingest, monkeypatch
) -> None:
    deliver(SEED.name, SEED.read_bytes())
    run_ingest()
    read_entries = Store.newest_entries

    def entries_then_a_change(store: Store, slug: str | None, limit: int):
        entries = read_entries(store, slug, limit)
        with Store(config.database) as other_process, other_process.transaction():
            other_process.mark_dirty(["politika"])
        return entries

    monkeypatch.setattr(Store, "newest_entries", entries_then_a_change)
    regenerate(config, "politika")
    monkeypatch.undo()
    with Store(config.database) as store:
        assert store.dirty_feeds() == ["politika"]
    run_ingest()
    with Store(config.database) as store:
        assert store.dirty_feeds() == []


def test_a_category_too_long_for_a_file_name_is_published_under_a_cut_slug(
    config: Config, deliver
) -> None:
    """60 ideographs transliterate to a slug of 300 letters: beyond the 255 bytes a
    file name may take, it once failed every publish."""
    long_name, other_name = "京" * 60, "京" * 59 + "北"
    deliver_day(deliver, 1, category=long_name)
    deliver_day(deliver, 2, category=other_name)
    deliver_day(deliver, 3)
    ingest_and_publish(config)
    with Store(config.database) as store:
        slugs = {category.name: category.slug for category in store.categories()}
    assert len({slugs[long_name], slugs[other_name], slugs["Политика"]}) == 3
    for name in (long_name, other_name):
        assert len(slugs[name].encode()) <= 120
        assert feed(config, slugs[name], FEED_FORMATS.primary).entries
    assert feed(config, "politika", FEED_FORMATS.primary).entries


def test_feeds_and_archive_pages_drop_bidi_controls_and_zero_width_characters_as_pages_do(
    config: Config, deliver
) -> None:
    """A right-to-left override in a headline shows the rest of it reversed, and a
    zero-width space hides a word's real spelling: in a reader as on a page. (Pages
    of one story here, so that the story is sealed into one at once.)"""
    config = replace(config, archive_page_size=1)
    hidden = "\u202eтсет\u202c за\u200bголовок\u2066"
    deliver(
        "001_0000000000000001.txt",
        wire_text(title=f"Заголовок {hidden}", paragraphs=(f"Абзац {hidden}.", "Второй.")),
    )
    ingest_and_publish(config)
    with Store(config.database) as store:
        archive_page = store.newest_page("politika")
    assert archive_page is not None
    documents = [
        config.output_dir / f"{location}.{feed_format.suffix}"
        for location in ("feeds/all", "feeds/politika", page_location(archive_page))
        for feed_format in FEED_FORMATS
    ]
    page = config.output_dir / article_path("001_0000000000000001")
    for path in [*documents, page]:
        text = path.read_text()
        assert "Заголовок тсет заголовок" in text, path
        assert not INVISIBLE.search(text), path
