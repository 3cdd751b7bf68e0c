"""Shared fixtures: a temp inbox, database and output dir, and wire-format articles."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from feeder.config import Config, ServerConfig, parse_config
from feeder.pipeline import IngestOutcome, ingest_and_publish
from feeder.serve.server import FeedServer
from tests.client import Client

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "000_dac83acdb151354f.txt"


def wire_text(
    title: str = "Заголовок новости",
    date: str = "21.09.23",
    paragraphs: tuple[str, ...] = ("Первый абзац.", "Второй абзац."),
    category: str | None = "Политика",
    teasers: tuple[str, ...] = ("Чужая новость.",),
    place: str = "Баку",
    agency: str = "Turan",
    end_mark: str = " --0--",
) -> str:
    """An article in the agency's wire format, built from its parts."""
    first, *rest = paragraphs
    lines = [title, f"{place}/{date}/{agency}: {first}", *rest]
    lines[-1] += end_mark
    if category is not None:
        lines.append(category)
    for teaser in teasers:
        lines += ["-", teaser]
    lines.append("Написать отзыв")
    return "\n".join(lines)


def _config_values(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    (tmp_path / "inbox").mkdir(exist_ok=True)
    return {
        "inbox": "inbox",
        "database": "var/feeder.db",
        "output_dir": "public",
        "base_url": "http://feeds.example.org/news/",
        "site_title": "Тестовая лента",
        "id_prefix": "tag:example.org,2024:feeder",
        "settle_seconds": 0,
        **overrides,
    }


def config_for(tmp_path: Path, **overrides: Any) -> Config:
    return parse_config(_config_values(tmp_path, **overrides), tmp_path / "config.toml")


def write_config(tmp_path: Path, **overrides: Any) -> Path:
    """config_for's configuration as a config.toml, for `feeder` run as a command."""
    path = tmp_path / "config.toml"
    values = _config_values(tmp_path, **overrides)
    # JSON strings, numbers and booleans are valid TOML values; a dict is a [table].
    lines = [
        f"{key} = {json.dumps(value)}"
        for key, value in values.items()
        if not isinstance(value, dict)
    ]
    for name, table in values.items():
        if isinstance(table, dict):
            lines += [
                f"[{name}]",
                *(
                    f"{key} = {json.dumps(value)}"
                    for key, value in table.items()
                    if not isinstance(value, dict)
                ),
            ]
            for key, inner in table.items():
                if isinstance(inner, dict):
                    lines += [
                        f"[{name}.{key}]",
                        *(f"{k} = {json.dumps(v)}" for k, v in inner.items()),
                    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def file_tree(root: Path) -> dict[str, bytes]:
    """Every file under `root` by its relative path, with its bytes, to compare outputs whole."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return config_for(tmp_path)


# Files are dated an hour back by default so that none is still "settling".
DeliverFn = Callable[..., Path]


@pytest.fixture
def deliver(config: Config) -> DeliverFn:
    """Drop a file into the inbox as the agency would, with a chosen mtime."""

    def deliver(
        name: str, content: str | bytes, age_seconds: float = 3600, encoding: str = "utf-8"
    ) -> Path:
        path = config.inbox / name
        path.write_bytes(content.encode(encoding) if isinstance(content, str) else content)
        moment = time.time() - age_seconds
        os.utime(path, (moment, moment))
        return path

    return deliver


def deliver_day(deliver: DeliverFn, number: int, category: str = "Политика", **fields: Any) -> None:
    """Story `number` is dated September `number`, so newer numbers are newer stories."""
    deliver(
        f"{number:03d}_{number:016x}.txt",
        wire_text(date=f"{number:02d}.09.23", category=category, **fields),
    )


@pytest.fixture
def run_ingest(config: Config) -> Callable[[], IngestOutcome]:
    return lambda: ingest_and_publish(config)


@pytest.fixture
def server(config: Config) -> Iterator[FeedServer]:
    """The real HTTP server on a free loopback port, serving config's output directory."""
    with FeedServer(replace(config, server=ServerConfig(host="127.0.0.1", port=0))) as running:
        yield running


@pytest.fixture
def served_config(config: Config, server: FeedServer) -> Config:
    """config with base_url at the running server, so every absolute link can be followed."""
    return replace(config, base_url=server.url)


@pytest.fixture
def client(server: FeedServer) -> Iterator[Client]:
    """One kept-alive connection to the running server."""
    connection = Client(server.url)
    yield connection
    connection.close()


@pytest.fixture
def readable_root() -> Iterator[Path]:
    """A temp folder every user can read: pytest's own are private to their owner,
    and a server running as another user (nginx's workers, nobody) must read it."""
    root = Path(tempfile.mkdtemp(prefix="feeder-readable-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)
