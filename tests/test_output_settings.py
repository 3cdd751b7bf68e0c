"""A changed setting reaches every file it is baked into, without a manual regen."""

from __future__ import annotations

from pathlib import Path

import pytest

from feeder.files import PublishError
from feeder.publish.publisher import Publisher
from tests.commands import feeder_cli
from tests.conftest import SEED, file_tree, wire_text, write_config

OLD_URL = "http://old.example.org/news/"
NEW_URL = "https://feeds.example.org/"


@pytest.fixture
def published(tmp_path: Path) -> Path:
    """An archive of two stories published with OLD_URL; returns the config path."""
    config = write_config(tmp_path, base_url=OLD_URL)
    (tmp_path / "inbox" / SEED.name).write_bytes(SEED.read_bytes())
    (tmp_path / "inbox" / "002_0000000000000002.txt").write_text(wire_text(category="Спорт"))
    assert feeder_cli(config, "ingest").exit_code == 0
    return config


def _texts(output: Path) -> dict[str, str]:
    return {
        name: data.decode()
        for name, data in file_tree(output).items()
        if not name.startswith(".") and not name.endswith((".xsl", ".gz", ".png", ".ico"))
    }


@pytest.mark.parametrize("command", ["ingest", "regen"])
def test_a_new_base_url_reaches_every_feed_page_and_opml(
    tmp_path: Path, published: Path, command: str
) -> None:
    write_config(tmp_path, base_url=NEW_URL)
    result = feeder_cli(published, command, log_level="info")
    assert result.exit_code == 0
    texts = _texts(tmp_path / "public")
    assert {name for name, text in texts.items() if OLD_URL in text} == set()
    # The news sitemap lists no URL: no story is from the last two days.
    assert {name for name, text in texts.items() if NEW_URL not in text} == {"news-sitemap.xml"}
    assert any(name.startswith("articles/") for name in texts)
    # The hub's URL follows base_url, so it changed too.
    assert (
        f"(base_url was '{OLD_URL}', is '{NEW_URL}'; websub_hubs was '{OLD_URL}websub', "
        f"is '{NEW_URL}websub'); rewriting every feed and page" in result.stderr
    )


def test_unchanged_settings_rewrite_nothing(tmp_path: Path, published: Path) -> None:
    files = [path for path in (tmp_path / "public").rglob("*") if path.is_file()]
    before = [path.stat().st_mtime_ns for path in files]
    assert "other settings" not in feeder_cli(published, "ingest", log_level="info").stderr
    assert [path.stat().st_mtime_ns for path in files] == before


def test_a_setting_only_feeds_carry_rewrites_only_the_feeds(
    tmp_path: Path, published: Path
) -> None:
    pages = sorted((tmp_path / "public" / "articles").iterdir())
    before = [page.stat().st_mtime_ns for page in pages]
    write_config(tmp_path, base_url=OLD_URL, id_prefix="tag:example.org,2025:renamed")
    assert feeder_cli(published, "ingest").exit_code == 0
    assert "tag:example.org,2025:renamed" in (tmp_path / "public/feeds/all.atom").read_text()
    assert [page.stat().st_mtime_ns for page in pages] == before


def test_a_refresh_cut_short_is_redone_by_the_next_run(
    tmp_path: Path, published: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(tmp_path, base_url=NEW_URL)
    real_publish = Publisher.publish_dirty

    def failing(self, *args, **kwargs):
        raise PublishError("disk full, say")

    monkeypatch.setattr(Publisher, "publish_dirty", failing)
    assert feeder_cli(published, "ingest").exit_code == 1
    monkeypatch.setattr(Publisher, "publish_dirty", real_publish)
    assert feeder_cli(published, "ingest").exit_code == 0
    texts = _texts(tmp_path / "public")
    assert {name for name, text in texts.items() if OLD_URL in text} == set()


def test_an_output_made_without_a_record_is_rebuilt_once(tmp_path: Path, published: Path) -> None:
    """An output written by a feeder that kept no record: its settings are unknown."""
    (tmp_path / "public" / ".feeder-output.json").unlink()
    page = next((tmp_path / "public" / "articles").iterdir())
    page.write_text("written with settings nobody knows")
    logs = [feeder_cli(published, "ingest", log_level="info").stderr for _ in range(2)]
    assert ["rewriting every feed and page" in log for log in logs] == [True, False]
    assert "written with settings nobody knows" not in page.read_text()
