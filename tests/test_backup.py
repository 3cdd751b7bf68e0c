"""`feeder backup`: a consistent copy while feeder writes, and a rebuild from it."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feeder.backup import BackupError, backup_database
from feeder.cli import backup as cli_backup
from feeder.store import Store
from tests.commands import feeder_cli
from tests.conftest import (
    SEED,
    config_for,
    file_tree,
    wire_text,
    write_config,
)


def _deliver(inbox: Path, count: int) -> None:
    for number in range(1, count + 1):
        (inbox / f"{number:03d}_{number:016x}.txt").write_text(
            wire_text(title=f"Новость {number}", date=f"{number:02d}.09.23")
        )


def test_a_backup_holds_what_was_committed_while_a_write_is_in_flight(tmp_path: Path) -> None:
    config_path = write_config(tmp_path)
    _deliver(tmp_path / "inbox", 3)
    assert feeder_cli(config_path, "ingest").exit_code == 0
    config = config_for(tmp_path)
    writer = sqlite3.connect(config.database, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("DELETE FROM articles")  # uncommitted: the backup must not see it
    try:
        made = backup_database(config.database, tmp_path / "backup.db")
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert made.articles == 3
    with Store(made.path) as copy:
        assert copy.article_count() == 3
        assert copy.integrity_check() == "ok"


def test_restoring_a_backup_and_regenerating_rebuilds_the_same_output(tmp_path: Path) -> None:
    """What docs/daemon.md tells an operator to do after losing the machine."""
    config_path = write_config(tmp_path)
    _deliver(tmp_path / "inbox", 3)
    (tmp_path / "inbox" / SEED.name).write_bytes(SEED.read_bytes())
    assert feeder_cli(config_path, "ingest").exit_code == 0
    (tmp_path / "backups").mkdir()
    result = feeder_cli(config_path, "backup", str(tmp_path / "backups"))
    assert result.exit_code == 0, result.output
    (made,) = (tmp_path / "backups").iterdir()
    assert f"to {made} (4 articles," in result.output
    published = file_tree(tmp_path / "public")

    shutil.rmtree(tmp_path / "public")
    shutil.rmtree(tmp_path / "var")
    shutil.rmtree(tmp_path / "inbox")  # the inbox is not needed to rebuild
    (tmp_path / "var").mkdir()
    shutil.copy(made, tmp_path / "var" / "feeder.db")
    assert feeder_cli(config_path, "regen", "--all-pages").exit_code == 0
    assert file_tree(tmp_path / "public") == published


def test_a_backup_over_an_old_one_replaces_it_whole(tmp_path: Path) -> None:
    config_path = write_config(tmp_path)
    _deliver(tmp_path / "inbox", 1)
    feeder_cli(config_path, "ingest")
    target = tmp_path / "feeder-backup.db"
    target.write_bytes(b"an old backup")
    assert feeder_cli(config_path, "backup", str(target)).exit_code == 0
    with Store(target) as copy:
        assert copy.article_count() == 1
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []


def test_backing_up_a_database_that_does_not_exist_says_so(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="there is no database at"):
        backup_database(tmp_path / "missing.db", tmp_path / "copy.db")
    assert not (tmp_path / "copy.db").exists()


def test_a_backup_into_a_missing_folder_says_so(tmp_path: Path) -> None:
    config_path = write_config(tmp_path)
    feeder_cli(config_path, "regen")
    result = feeder_cli(config_path, "backup", str(tmp_path / "nowhere" / "copy.db"))
    assert result.exit_code == 1
    assert f"Error: cannot write a backup in {tmp_path / 'nowhere'}: No such file" in result.output


def test_a_backup_into_a_folder_is_named_by_the_site_s_local_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nightly backups into one folder keep each night, named as operators read the time."""
    config_path = write_config(tmp_path)
    feeder_cli(config_path, "regen")
    folder = tmp_path / "backups"
    folder.mkdir()
    # 22:30 UTC on 1 December is 02:30 on 2 December in Baku, the config's time zone.
    monkeypatch.setattr(cli_backup, "utc_now", lambda: datetime(2026, 12, 1, 22, 30, tzinfo=UTC))
    assert feeder_cli(config_path, "backup", str(folder)).exit_code == 0
    assert [path.name for path in folder.iterdir()] == ["feeder-20261202-023000.db"]
