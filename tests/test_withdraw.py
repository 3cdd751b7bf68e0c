"""`feeder withdraw` and `feeder restore`: a killed story leaves every output at once,
its page says it was withdrawn (410 Gone), Atom feeds announce the deletion, and
only a restore brings it back."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from feeder.config import Config, ServerConfig
from feeder.feeds.entries import entry_id
from feeder.feeds.formats import FEED_FORMATS
from feeder.feeds.model import feed_path
from feeder.pipeline import WithdrawalError, ingest_and_publish, regenerate, restore, withdraw
from feeder.publish.publisher import Publisher
from feeder.serve.server import FeedServer
from feeder.site.withdrawals import gone_marker
from tests.client import Client
from tests.commands import feeder_cli
from tests.conftest import deliver_day, wire_text, write_config
from tests.feedcheck import feed_files, parse_feed_file, parse_valid_feed
from tests.site_pages import output_files, page, text

KILLED = "002_0000000000000002"
TITLE = "Отозванная новость"
TOMBSTONES = "{http://purl.org/atompub/tombstones/1.0}deleted-entry"


@pytest.fixture
def three_stories(config: Config, deliver) -> Config:
    """Three stories in one category and month; the middle one is to be killed."""
    deliver_day(deliver, 1, title="Первая")
    deliver_day(deliver, 2, title=TITLE)
    deliver_day(deliver, 3, title="Третья")
    ingest_and_publish(config)
    return config


def files_naming_the_story(config: Config) -> set[str]:
    """Every output file that shows the killed story's title or links to its page."""
    return {
        path
        for path, (data, _) in output_files(config.output_dir).items()
        if TITLE.encode() in data or f"{KILLED}.html".encode() in data
    }


def deleted_entries(feed: Path) -> list[str]:
    return [
        element.get("ref", "") for element in ElementTree.parse(feed).getroot().iter(TOMBSTONES)
    ]


def test_a_withdrawn_story_leaves_every_feed_page_archive_and_sitemap(three_stories) -> None:
    config = three_stories
    before = files_naming_the_story(config)
    for expected in (
        "feeds/all.atom",
        "feeds/politika.rss",
        "index.html",
        f"articles/{KILLED}.html",
    ):
        assert expected in before
    assert any(path.startswith("archive/") for path in before)
    assert any(path.startswith("sitemaps/") for path in before)

    withdraw(config, KILLED, "иск о защите чести", "editor")

    notice = f"articles/{KILLED}.html"
    assert files_naming_the_story(config) == {notice}
    document = page(config, notice)
    assert text(document.find(".//h1")) == "Статья отозвана"
    assert "Агентство отозвало эту статью" in text(document.find(".//main"))
    assert TITLE not in text(document.find(".//main")) and "иск" not in text(document)
    assert document.find(".//meta[@name='robots']").get("content") == "noindex"
    for feed in feed_files(config.feeds_dir):  # month documents too
        parse_feed_file(config, feed)
    story = entry_id(config, KILLED)
    for slug in ("all", "politika"):
        assert deleted_entries(config.output_dir / f"feeds/{slug}.atom") == [story]
    assert story not in (config.feeds_dir / "all.rss").read_text()


def test_the_server_answers_a_withdrawn_page_with_410_gone(three_stories) -> None:
    config = replace(three_stories, server=ServerConfig(host="127.0.0.1", port=0))
    withdraw(config, KILLED, "ошибка", "editor")
    with FeedServer(config) as server:
        client = Client(server.url)
        gone = client.get(f"/articles/{KILLED}.html")
        assert gone.status == 410 and "Статья отозвана" in gone.body.decode()
        assert client.get("/articles/001_0000000000000001.html").status == 200
        restore(config, KILLED)
        assert client.get(f"/articles/{KILLED}.html").status == 200
        client.close()


def test_a_redelivery_does_not_bring_it_back_and_a_restore_does(three_stories, deliver) -> None:
    config = three_stories
    published = output_files(config.output_dir)
    withdraw(config, KILLED, "ошибка", "editor")
    deliver_day(deliver, 2, title=TITLE, paragraphs=("Исправленный текст.",))
    report = ingest_and_publish(config).ingest
    assert (report.new, report.updated) == (0, 0)
    assert files_naming_the_story(config) == {f"articles/{KILLED}.html"}

    restore(config, KILLED)
    assert deleted_entries(config.feeds_dir / "all.atom") == []
    restored = output_files(config.output_dir)
    for path in ("feeds/politika.rss", f"articles/{KILLED}.html", "index.html"):
        assert TITLE.encode() in restored[path][0], path
    assert not (config.output_dir / gone_marker(KILLED)).exists()
    # The correction delivered while it was withdrawn is read by the next ingest.
    assert ingest_and_publish(config).ingest.updated == 1
    assert "Исправленный текст." in (config.feeds_dir / "politika.atom").read_text()
    assert set(published) <= set(output_files(config.output_dir))


def test_a_withdrawal_cut_short_before_its_rewrite_is_finished_by_the_next_run(
    three_stories, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = three_stories

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError("killed mid-publish")

    with monkeypatch.context() as patched:
        patched.setattr(Publisher, "publish_dirty", crash)
        with pytest.raises(OSError):
            withdraw(config, KILLED, "ошибка", "editor")
    assert "feeds/all.atom" in files_naming_the_story(config)  # not yet rewritten
    ingest_and_publish(config)
    assert files_naming_the_story(config) == {f"articles/{KILLED}.html"}


def test_a_plain_regen_restores_a_missing_notice(three_stories) -> None:
    config = three_stories
    withdraw(config, KILLED, "ошибка", "editor")
    notice = config.articles_dir / f"{KILLED}.html"
    written = notice.read_bytes()
    notice.unlink()
    regenerate(config)
    assert notice.read_bytes() == written


def test_tombstones_last_tombstone_days(three_stories) -> None:
    config = replace(three_stories, tombstone_days=2)
    withdrawn_at = datetime(2026, 12, 1, 12, tzinfo=UTC)
    withdraw(config, KILLED, "ошибка", "editor", clock=lambda: withdrawn_at)
    assert deleted_entries(config.feeds_dir / "all.atom") == [entry_id(config, KILLED)]
    later = withdrawn_at + timedelta(days=3)
    regenerate(config, clock=lambda: later)
    assert deleted_entries(config.feeds_dir / "all.atom") == []
    for feed_format in FEED_FORMATS:
        parse_valid_feed(
            (config.output_dir / feed_path("all", feed_format)).read_bytes(),
            config.url(feed_path("all", feed_format)),
        )


def test_withdraw_and_restore_from_the_command_line(tmp_path: Path, deliver) -> None:
    config_path = write_config(tmp_path)
    (tmp_path / "inbox" / f"{KILLED}.txt").write_text(wire_text(title=TITLE))
    assert feeder_cli(config_path, "ingest").exit_code == 0
    killed = feeder_cli(
        config_path, "withdraw", f"{KILLED}.txt", "--reason", "иск", "--by", "Редактор"
    )
    assert killed.exit_code == 0, killed.output
    assert f"Withdrew story {KILLED}" in killed.stdout
    status = feeder_cli(config_path, "status").stdout
    assert "Withdrawn stories: 1" in status
    assert f"  {KILLED}: '{TITLE}', withdrawn " in status and "by Редактор: иск" in status
    again = feeder_cli(config_path, "withdraw", KILLED, "--reason", "x")
    assert again.exit_code == 1 and "already withdrawn" in again.stderr
    assert feeder_cli(config_path, "restore", KILLED).exit_code == 0
    assert "Withdrawn stories" not in feeder_cli(config_path, "status").stdout
    missing = feeder_cli(config_path, "restore", "no-such-story")
    assert missing.exit_code == 1 and "no story 'no-such-story'" in missing.stderr


def test_an_unknown_story_cannot_be_withdrawn(config: Config) -> None:
    with pytest.raises(WithdrawalError, match="no story 'x'"):
        withdraw(config, "x", "ошибка", "editor")
