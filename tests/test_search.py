"""Search: morphology, the index following every story change, the page, its bad
input, the feeds of a search with real readers, and the commands."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote, urljoin

import feedparser
import html5lib
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from lxml import html as lxml_html
from starlette.testclient import TestClient

from feeder import pipeline
from feeder.config import Config, SearchConfig
from feeder.pipeline import ingest_and_publish
from feeder.search.query import parse
from feeder.search.snippets import marked
from feeder.search.words import fold, stems
from feeder.serve.server import FeedServer, create_app
from feeder.store import Store
from feeder.visible import INVISIBLE
from tests.commands import feeder_cli
from tests.conftest import DeliverFn, config_for, wire_text, write_config
from tests.readers import newsboat_items

STORIES = {
    "001_karabakh": ("Переговоры о Карабахе", "Стороны обсудили Карабах в Брюсселе."),
    "002_talks": (
        "Встреча министров",
        "Министры провели переговоры в Баку и договорились встретиться.",
    ),
    "003_vaccine": (
        "Вакцина от гриппа",
        "Вакцинация началась во всех регионах, вакцинами обеспечены больницы.",
    ),
    "004_yolka": ("Главная ёлка страны", "На площади установили ёлку высотой двадцать метров."),
    "005_english": ("Reuters: oil prices", "Negotiations on oil supplies continued in Geneva."),
    "006_carbine": ("Найден карабин", "Полиция изъяла карабин и патроны."),
    "007_peace": ("Мирный договор", "Мирные инициативы обсуждаются."),
}


def _deliver_stories(deliver: DeliverFn, stories: dict[str, tuple[str, str]]) -> None:
    for number, (name, (title, text)) in enumerate(stories.items(), start=1):
        deliver(
            f"{name}.txt",
            wire_text(title=title, date=f"{number:02d}.09.23", paragraphs=(text, "Второй абзац.")),
        )


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Config:
    """One archive of STORIES, searched by the read-only tests."""
    tmp_path = tmp_path_factory.mktemp("archive")
    config = config_for(tmp_path)
    for number, (name, (title, text)) in enumerate(STORIES.items(), start=1):
        path = config.inbox / f"{name}.txt"
        path.write_text(
            wire_text(title=title, date=f"{number:02d}.09.23", paragraphs=(text, "Второй абзац."))
        )
    for path in config.inbox.iterdir():
        os.utime(path, (1_600_000_000, 1_600_000_000))
    ingest_and_publish(config)
    return config


@pytest.fixture(scope="module")
def app(archive: Config) -> Iterator[TestClient]:
    with TestClient(create_app(archive), raise_server_exceptions=False) as client:
        yield client


def found(client: TestClient, query: str, **parameters: str) -> list[str]:
    """Story ids on the results page, in order."""
    response = client.get("/search", params={"q": query, **parameters})
    assert response.status_code == 200
    return re.findall(r'<h2><a href="articles/([^"]+)\.html"', response.text)


MUST_MATCH = [
    ("Карабаха", "001_karabakh"),  # Snowball stems «Карабах» as «караб»
    ("Карабах", "001_karabakh"),
    ("карабахе", "001_karabakh"),
    ("переговорах", "002_talks"),
    ("переговоры", "001_karabakh"),
    ("ПЕРЕГОВОРЫ", "002_talks"),
    ("елка", "004_yolka"),  # ё/е
    ("ёлки", "004_yolka"),
    ("вакцин*", "003_vaccine"),
    ("вакцинами", "003_vaccine"),
    ("вакцина", "003_vaccine"),
    ('"провели переговоры"', "002_talks"),
    ("negotiation", "005_english"),  # English rules for Latin words
    ("Reuters", "005_english"),
    ("price", "005_english"),
    ("мирные", "007_peace"),
]

MUST_NOT_MATCH = [
    ("Карабах", "006_carbine"),  # «карабин» is another word
    ("карабин", "001_karabakh"),
    ("мир", "007_peace"),  # «мирный» is not «мир»
    ("вакуум", "003_vaccine"),
    ('"переговоры провели"', "002_talks"),  # a phrase keeps its order
    ("переговоры -Брюссель", "001_karabakh"),
    ("елка -площади", "004_yolka"),
    ("oil -Geneva", "005_english"),
]


@pytest.mark.parametrize(("query", "story"), MUST_MATCH)
def test_every_form_of_a_word_is_found(app: TestClient, query: str, story: str) -> None:
    assert story in found(app, query)


@pytest.mark.parametrize(("query", "story"), MUST_NOT_MATCH)
def test_other_words_and_exclusions_are_not_found(app: TestClient, query: str, story: str) -> None:
    assert story not in found(app, query)


def test_results_are_newest_first_filtered_by_category_and_dates(app: TestClient) -> None:
    assert found(app, "переговоры") == ["002_talks", "001_karabakh"]
    assert found(app, "абзац", **{"from": "2023-09-03", "to": "2023-09-04"}) == [
        "004_yolka",
        "003_vaccine",
    ]
    assert found(app, "абзац", category="politika")[:1] == ["007_peace"]


def test_the_page_marks_matches_and_links_the_search_feeds(app: TestClient) -> None:
    page = app.get("/search", params={"q": "Карабаха"}).text
    assert "<mark>Карабахе</mark>" in page and "<mark>Карабах</mark>" in page
    document = lxml_html.fromstring(page)
    feeds = document.xpath("//link[@rel='alternate']/@href")
    assert any("search.atom?q=" in href for href in feeds)
    assert document.xpath("//section[@class='subscribe']//code")
    assert document.get("lang") == "ru"


def test_a_phrase_is_marked_as_a_whole_not_its_words_anywhere(app: TestClient) -> None:
    page = app.get("/search", params={"q": '"провели переговоры"'}).text
    assert "<mark>провели переговоры</mark>" in page
    assert "<mark>переговоры</mark>" not in page and "<mark>провели</mark>" not in page


BAD_QUERIES = [
    '"unbalanced',
    'a "b" "',
    "NEAR",
    "NEAR(a b)",
    "*",
    "**",
    "AND AND",
    "OR",
    "title: Карабах",
    "{title body}: x",
    "^Карабах",
    "a\x00b\x1f\x7f",
    "\u202eКарабах",
    "-",
    "--x",
    "x" * 10_000,
    "в*",
    "( ) : ; + ^ ~",
]


@pytest.mark.parametrize("query", BAD_QUERIES)
def test_bad_queries_get_a_page_saying_what_was_wrong(app: TestClient, query: str) -> None:
    response = app.get("/search", params={"q": query})
    assert response.status_code == 200
    document = lxml_html.fromstring(response.text)
    said = document.xpath("//p[@class='problem']") + document.xpath("//*[@id='found']")
    assert said, query


def test_invalid_utf8_and_bad_parameters_are_named(app: TestClient) -> None:
    page = app.get("/search?q=%FF%FEКарабах&from=2023-13-45&page=9999&category=nope").text
    problems = lxml_html.fromstring(page).xpath("//p[@class='problem']/text()")
    assert any("UTF-8" in problem for problem in problems)
    assert any("ГГГГ-ММ-ДД" in problem for problem in problems)
    assert any("Такой рубрики нет" in problem for problem in problems)
    assert any("первые 1000" in problem for problem in problems)


def test_matches_are_counted_only_as_far_as_they_can_be_shown(
    app: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("feeder.search.results.MAX_RESULTS", 5)
    monkeypatch.setattr("feeder.site.pages.MAX_RESULTS", 5)
    page = lxml_html.fromstring(app.get("/search", params={"q": "абзац"}).text)
    assert page.xpath("//*[@id='found']/text()") == ["Найдено больше 5 материалов"]
    few = lxml_html.fromstring(app.get("/search", params={"q": "Карабах"}).text)
    assert few.xpath("//*[@id='found']/text()") == ["Найден 1 материал"]


def test_a_too_costly_query_is_stopped_with_a_message(
    archive: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A budget spent before the first step, looked at on every step.
    monkeypatch.setattr("feeder.store.search._STEPS_PER_CHECK", 1)
    config = replace(archive, search=SearchConfig(time_budget_ms=0))
    with TestClient(create_app(config)) as client:
        page = client.get("/search", params={"q": "абзац"}).text
    assert "слишком много времени" in page


# Every element a results page may have: anything else came from the query.
PAGE_ELEMENTS = {
    "html", "head", "body", "meta", "title", "link", "style", "script", "a", "header",
    "form", "input", "button", "main", "h1", "h2", "h3", "p", "label", "select", "option",
    "span", "ol", "ul", "li", "time", "mark", "section", "code", "footer", "nav",
}  # fmt: skip


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(st.characters(codec="utf-8"), max_size=80) | st.sampled_from(BAD_QUERIES))
def test_fuzzed_queries_never_fail_and_are_shown_escaped(app: TestClient, query: str) -> None:
    response = app.get("/search", params={"q": query})
    assert response.status_code == 200
    document = html5lib.parse(response.text, namespaceHTMLElements=False)
    assert {element.tag for element in document.iter()} <= PAGE_ELEMENTS
    assert len(document.findall(".//script")) <= 1  # the copy buttons' own
    (box,) = document.findall(".//input[@id='search-q']")
    cleaned = " ".join(INVISIBLE.sub("", re.sub(r"[\x00-\x1f\x7f-\x9f]", " ", query)).split())
    assert (box.get("value") or "") == cleaned


def test_the_index_follows_corrections_moves_withdrawals_and_restores(
    config: Config, deliver: DeliverFn, run_ingest: Callable[[], object]
) -> None:
    _deliver_stories(deliver, {"001_story": ("Заголовок", "Текст про Карабах.")})
    run_ingest()
    client = TestClient(create_app(config))
    assert found(client, "Карабах") == ["001_story"]
    deliver(
        "001_story.txt",
        wire_text(title="Заголовок", date="01.09.23", paragraphs=("Текст про вакцину.", "Абзац.")),
        age_seconds=1800,
    )
    run_ingest()
    assert found(client, "Карабах") == []
    assert found(client, "вакцины") == ["001_story"]
    deliver(
        "001_story.txt",
        wire_text(
            title="Заголовок",
            date="01.09.23",
            paragraphs=("Текст про вакцину.", "Абзац."),
            category="Культура",
        ),
        age_seconds=900,
    )
    run_ingest()
    assert found(client, "вакцины", category="kultura") == ["001_story"]
    assert found(client, "вакцины", category="politika") == []
    pipeline.withdraw(config, "001_story", "legal", "editor")
    assert found(client, "вакцины") == []
    pipeline.restore(config, "001_story")
    assert found(client, "вакцины") == ["001_story"]


def test_a_failed_transaction_leaves_the_index_as_it_was(
    config: Config, deliver: DeliverFn, run_ingest: Callable[[], object]
) -> None:
    _deliver_stories(deliver, {"001_story": ("Заголовок", "Текст про Карабах.")})
    run_ingest()
    with Store(config.database) as store:
        with pytest.raises(RuntimeError), store.transaction():
            store.withdraw(
                "001_story", "editor", "legal", store.newest_entries(None, 1)[0].published
            )
            raise RuntimeError
        assert store.search_size().stories == 1
    assert found(TestClient(create_app(config)), "Карабах") == ["001_story"]


def test_regen_search_rebuilds_and_status_says_how_big(tmp_path: Path, deliver: DeliverFn) -> None:
    config_path = write_config(tmp_path, search={"enabled": False})
    config = config_for(tmp_path, search={"enabled": False})
    assert not config.search.enabled
    _deliver_stories(deliver, dict(list(STORIES.items())[:3]))
    ingest_and_publish(config)
    before = feeder_cli(config_path, "status").output.splitlines()
    assert any("0 articles indexed" in line and "regen --search" in line for line in before)
    rebuilt = feeder_cli(config_path, "regen", "--search").output
    assert rebuilt == "Search index rebuilt: 3 articles\n"
    status = feeder_cli(config_path, "status").output.splitlines()
    assert any(re.match(r"Search off .*: 3 articles indexed, \d+\.\d MB$", line) for line in status)
    page = (config.output_dir / "index.html").read_text()
    assert 'role="search"' not in page


def test_every_page_has_a_search_box_and_opensearch(archive: Config, app: TestClient) -> None:
    page = lxml_html.fromstring((archive.output_dir / "categories" / "politika.html").read_bytes())
    (form,) = page.xpath("//header//form[@role='search']")
    assert form.get("action") == "../search" and form.get("method") == "get"
    assert form.xpath(".//input[@name='q']")
    (link,) = page.xpath("//link[@rel='search']")
    assert link.get("href") == archive.url("opensearch.xml")
    description = app.get("/opensearch.xml")
    assert description.headers["content-type"].startswith("application/opensearchdescription+xml")
    assert f'template="{archive.url("search")}?q={{searchTerms}}"' in description.text


def test_nginx_proxies_the_search_paths(archive: Config) -> None:
    from feeder.serve.nginx import nginx_config

    block = nginx_config(archive)
    for path in ("/search", "/search.atom", "/search.rss", "/search.json", "/opensearch.xml"):
        assert f"location = {path} {{" in block


def test_search_feeds_have_validators_and_readers_see_new_matches(
    config: Config, deliver: DeliverFn, run_ingest: Callable[[], object], tmp_path: Path
) -> None:
    _deliver_stories(deliver, {"001_story": ("Переговоры о Карабахе", "Текст.")})
    run_ingest()
    with FeedServer(
        replace(config, server=replace(config.server, host="127.0.0.1", port=0))
    ) as server:
        url = f"{server.url}search.atom?q={quote('Карабах')}"
        first = feedparser.parse(url)
        assert not first.bozo and [e.title for e in first.entries] == ["Переговоры о Карабахе"]
        again = feedparser.parse(url, etag=first.etag, modified=first.modified)
        assert again.status == 304
        assert [item["title"] for item in newsboat_items(url, tmp_path / "newsboat")] == [
            "Переговоры о Карабахе"
        ]
        deliver(
            "002_story.txt",
            wire_text(title="Снова о Карабахе", date="02.09.23", paragraphs=("Текст.", "Ещё.")),
        )
        deliver(
            "003_story.txt",
            wire_text(title="О другом", date="03.09.23", paragraphs=("Текст.", "Ещё.")),
        )
        run_ingest()
        later = feedparser.parse(url, etag=first.etag, modified=first.modified)
        assert later.status == 200
        assert [e.title for e in later.entries] == ["Снова о Карабахе", "Переговоры о Карабахе"]
        titles = [item["title"] for item in newsboat_items(url, tmp_path / "newsboat")]
        assert sorted(titles) == ["Переговоры о Карабахе", "Снова о Карабахе"]
        assert len(feedparser.parse(f"{server.url}search.rss?q=Карабах").entries) == 2
        json_feed = httpx.get(f"{server.url}search.json", params={"q": "Карабах"}).json()
        assert [item["title"] for item in json_feed["items"]][:1] == ["Снова о Карабахе"]


@pytest.mark.parametrize("suffix", ["atom", "rss"])
def test_search_feeds_name_the_site_stylesheet(app: TestClient, suffix: str) -> None:
    url = f"http://testserver/search.{suffix}?q={quote('Карабах')}"
    document = etree.fromstring(app.get(url).content)
    (instruction,) = document.xpath("/processing-instruction('xml-stylesheet')")
    stylesheet = urljoin(url, instruction.get("href"))
    assert stylesheet == "http://testserver/feeds/feed.xsl"
    response = app.get(stylesheet)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xsl")


def test_marks_fall_on_words_whose_folding_moves_letters() -> None:
    """Stress marks and ß change a text's length when folded: marks are placed
    word by word, and still on the right words."""
    for text, query, word in [
        ("Нанесли уда́р по ценам", "удар", "уда́р"),
        ("Die Straße und Reuters", "Reuters", "Reuters"),
    ]:
        pieces = marked(text, stems(text), parse(query))
        assert [piece.text for piece in pieces if piece.marked] == [word]
        assert "".join(piece.text for piece in pieces) == text


def test_stems_fold_case_yo_and_stress() -> None:
    assert stems("Ёлка ЁЛКИ уда\u0301р") == "елк елк удар"
    assert fold("ЁЖ") == "еж"
    assert 'category : "k' in parse("x").match("k70")
