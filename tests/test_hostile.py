"""Deliveries found by fuzzing and races: each once broke a run or published what
it must not; each must now be one file's rejection, or nothing at all."""

from __future__ import annotations

import ctypes
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feeder.config import Config
from feeder.intake.inbox import Delivery, InboxReader, Readiness
from feeder.model import Article
from feeder.pipeline import ingest_and_publish
from feeder.store import Store
from tests.conftest import config_for, wire_text
from tests.state import article_rows

TMPFS = Path("/dev/shm")
# Before year 1: tmpfs keeps 64-bit seconds, so `touch` can set it.
BEFORE_YEAR_ONE_NS = -70_000_000_000 * 10**9


def test_a_file_dated_before_year_one_is_rejected_and_the_rest_of_its_batch_stored(
    tmp_path: Path,
) -> None:
    if not TMPFS.is_dir():
        pytest.skip("needs a tmpfs at /dev/shm, which holds times before year 1")
    inbox = TMPFS / f"feeder-inbox-{os.getpid()}"
    inbox.mkdir()
    try:
        config = config_for(tmp_path, inbox=str(inbox))
        (inbox / "001_good.txt").write_text(wire_text(title="Первая"))
        poison = inbox / "002_poison.txt"
        poison.write_text(wire_text(title="Отравленная"))
        os.utime(poison, ns=(0, BEFORE_YEAR_ONE_NS))
        (inbox / "003_good.txt").write_text(wire_text(title="Третья", category="Экономика"))
        for good in ("001_good.txt", "003_good.txt"):
            os.utime(inbox / good, (1_700_000_000, 1_700_000_000))
        first = ingest_and_publish(config).ingest
        second = ingest_and_publish(config).ingest
    finally:
        for path in inbox.iterdir():
            path.unlink()
        inbox.rmdir()
    assert (first.new, first.rejected) == (2, 1)
    assert (second.new, second.rejected, second.unchanged) == (0, 1, 2)
    assert sorted(row["title"] for row in article_rows(config.database)) == ["Первая", "Третья"]
    with Store(config.database) as store:
        (reject,) = store.rejects()
    assert (reject.name, reject.reason) == ("002_poison.txt", "impossible-file-time")
    assert "modification time" in reject.message and "touch" in reject.message


def test_a_failure_on_one_file_is_its_rejection_and_undoes_only_its_writes(
    config: Config, deliver, monkeypatch: pytest.MonkeyPatch
) -> None:
    for number in range(1, 4):
        deliver(f"00{number}_story.txt", wire_text(title=f"Новость {number}"))
    real_record = Store.record_file

    def record_file(self: Store, name: str, *args: object) -> None:
        if name == "002_story.txt":  # after its article row was written
            raise ValueError("a bug feeder did not foresee")
        real_record(self, name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(Store, "record_file", record_file)
    report = ingest_and_publish(config).ingest
    assert (report.new, report.rejected) == (2, 1)
    titles = sorted(row["title"] for row in article_rows(config.database))
    assert titles == ["Новость 1", "Новость 3"]
    assert "Новость 2" not in (config.feeds_dir / "all.atom").read_text()
    with Store(config.database) as store:
        (reject,) = store.rejects()
        assert store.categories()[0].count == 2
    assert (reject.name, reject.reason) == ("002_story.txt", "failed")
    assert "ValueError: a bug feeder did not foresee" in reject.message
    monkeypatch.setattr(Store, "record_file", real_record)
    assert ingest_and_publish(config).ingest.new == 1  # retried, and now stored


_libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD = -100
RENAME_EXCHANGE = 2


def _exchange(first: Path, second: Path) -> None:
    """Swap two names atomically (renameat2 RENAME_EXCHANGE), as an attacker racing feeder."""
    if _libc.renameat2(AT_FDCWD, bytes(first), AT_FDCWD, bytes(second), RENAME_EXCHANGE) != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))


def test_a_folder_swapped_for_a_link_out_of_the_inbox_is_never_read(config: Config) -> None:
    """A link leads into a subfolder; the subfolder and a link to a folder outside
    are swapped over and over while feeder reads. Whatever it opened, it publishes
    only the inside file and never shows a word of the outside one."""
    inbox = config.inbox
    (inbox / "sub").mkdir()
    (inbox / "sub" / "story.txt").write_text(wire_text(title="Внутри"))
    outside = inbox.parent / "outside"
    outside.mkdir()
    (outside / "story.txt").write_text("SECRET first line\nSECRET second line\n")
    (inbox / "swap").symlink_to(outside)
    (inbox / "link.txt").symlink_to("sub/story.txt")
    reader = InboxReader(config)
    stop = threading.Event()

    def swap_forever() -> None:
        while not stop.is_set():
            _exchange(inbox / "sub", inbox / "swap")

    swapper = threading.Thread(target=swap_forever)
    swapper.start()
    try:
        results = [
            reader.read("link.txt", datetime.now(UTC), Readiness.DECLARED) for _ in range(2000)
        ]
    finally:
        stop.set()
        swapper.join()
    deliveries = [result for result in results if isinstance(result, Delivery)]
    articles = [d.result for d in deliveries if isinstance(d.result, Article)]
    refused = [d.result for d in deliveries if not isinstance(d.result, Article)]
    assert articles and refused, "the race never went both ways; the test proves nothing"
    assert {article.title for article in articles} == {"Внутри"}
    assert {rejection.reason.value for rejection in refused} <= {"outside-inbox", "unreadable"}
    assert not any("SECRET" in rejection.message for rejection in refused)


def test_a_headline_in_another_encoding_is_rejected_naming_its_line(
    config: Config, deliver, run_ingest
) -> None:
    text = wire_text(title="Скандал в парламенте")
    headline, rest = text.split("\n", 1)
    deliver("001_mixed.txt", headline.encode("koi8_r") + b"\n" + rest.encode("cp1251"))
    deliver("002_cp1251.txt", wire_text(title="ЗАГОЛОВОК ПРОПИСНЫМИ").encode("cp1251"))
    report = run_ingest().ingest
    assert (report.new, report.rejected) == (1, 1)
    with Store(config.database) as store:
        (reject,) = store.rejects()
    assert (reject.name, reject.reason) == ("001_mixed.txt", "mixed-encodings")
    assert reject.message.startswith("line 1 is in KOI8-R, the rest of the file in cp1251")
    assert [row["title"] for row in article_rows(config.database)] == ["ЗАГОЛОВОК ПРОПИСНЫМИ"]


@pytest.mark.parametrize("reverse", [False, True], ids=["in-order", "reversed"])
def test_look_alike_categories_share_one_feed_with_one_name_whatever_the_order(
    tmp_path: Path, reverse: bool
) -> None:
    config = config_for(tmp_path)
    names = ["ПОЛИТИКА", "Пoлитика", "По\u200bлитика", "Политика"]  # a Latin o in the second
    for age, name in enumerate(reversed(names) if reverse else names):
        path = config.inbox / f"00{age}_story.txt"
        path.write_text(wire_text(title=f"Новость {age}", category=name))
        os.utime(path, (1_700_000_000 + age, 1_700_000_000 + age))
    for path in sorted(config.inbox.iterdir()):
        ingest_and_publish(config, only=[path.name])  # one run each: names meet in the store
    with Store(config.database) as store:
        categories = store.categories()
    assert [(category.slug, category.name, category.count) for category in categories] == [
        ("politika", "Политика", 4)
    ]
    assert "Тестовая лента — Политика" in (config.feeds_dir / "politika.atom").read_text()
