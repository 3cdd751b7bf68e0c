"""The benchmark itself: a small run of every scenario, and the corpus it is built on."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bench.__main__ import main
from bench.corpus import CATEGORIES, CorpusWriter
from feeder.intake.wire import parse
from feeder.model import Article

SCENARIOS = [
    ("bulk ingest", "200"),
    ("one new article, scan", "200"),
    ("one new article, named", "200"),
    ("bulk ingest", "500"),
    ("one new article, scan", "500"),
    ("one new article, named", "500"),
    ("rescan, nothing new", "500"),
    ("stat of every inbox file", "500"),
    ("correction of one article, scan", "500"),
    ("correction of one article, named", "500"),
    ("regen: feeds + index", "500"),
    ("regen --all-pages", "500"),
]


def test_the_corpus_is_deterministic_valid_wire_format() -> None:
    writer, again = CorpusWriter(seed=7), CorpusWriter(seed=7)
    stories = [writer.story(number) for number in range(300)]
    assert stories == [again.story(number) for number in range(300)]
    articles = [parse(story.data, story.name) for story in stories]
    assert all(isinstance(article, Article) for article in articles)
    assert len({article.sha256 for article in articles}) == len(articles)
    assert {article.category for article in articles} <= set(CATEGORIES)
    assert 2_000 < sum(len(story.data) for story in stories) / len(stories) < 4_500
    correction = writer.story(5, revision=2)
    assert correction.name == stories[5].name and correction.data != stories[5].data


@pytest.mark.slow
def test_the_benchmark_runs_every_scenario_and_prints_a_table(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["--sizes", "200,500", "--repeat", "1", "--workdir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    rows = [line.split(" | ") for line in result.stdout.splitlines() if line.startswith("| ")]
    header, _separator, *measured = rows
    assert header[:3] == ["| scenario", "N", "wall s"]
    assert [(row[0].removeprefix("| "), row[1]) for row in measured] == SCENARIOS
    for row in measured:
        wall, work = float(row[2]), float(row[3])
        assert 0 <= work <= wall < 60
        if row[0] != "| stat of every inbox file":  # timed in the benchmark's own process
            assert 10 < float(row[5]) < 1_000
    bulk = measured[3]
    assert float(bulk[4].replace(",", "")) > 0 and float(bulk[7].replace(",", "")) > 0
    # A new story writes its page and its feeds: some bytes, far fewer than the bulk.
    new_story = measured[5]
    assert 0 < float(new_story[6]) < float(bulk[6])
    assert "Machine:" in result.stdout and "Command: python -m bench" in result.stdout
    assert list(tmp_path.iterdir()) == []  # the corpus and archives are removed
