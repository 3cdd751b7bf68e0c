"""`python -m bench.hugo`: feeder's bulk publishing against Hugo's build of the same stories.

The product owner timed both by hand ("5,000 stories took 12.7 s of work, 8x
Hugo's build of the same corpus"); this makes the comparison repeatable. Both
tools get the same deterministic corpus (bench/corpus.py). feeder ingests it
into a fresh installation, as `python -m bench` does. For Hugo each story is
parsed with feeder's own parser and written as one Markdown file; that
conversion is set-up, off the clock, as delivering the files is for feeder.
Hugo then builds it with a minimal layout set that publishes what feeder
publishes: a page per story, a page per category and a home page (each listing
the newest stories), an RSS feed per category and one for all news (the newest
entries, full text). It has no JS/CSS pipeline and none of feeder's extras: no
Atom or JSON Feed, no gzip copies, no archive pages or sitemaps.

Both run in a child process measured from outside by bench/launch.py (wall
time, peak RSS); CPU time is the benchmark's children's rusage around the run,
which counts Hugo's threads on every core, feeder's helper processes and the
launcher's own start-up. Files and bytes written are what the output folder
holds afterwards, not what was written on the way (feeder rewrites some files
within a run).
"""

from __future__ import annotations

import functools
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import click

from bench.corpus import AGENCY_ZONE, CorpusWriter
from bench.table import describe_machine
from bench.workspace import CommandFailed, Workspace, benchmark_folder, launch
from feeder.intake.story import publish_time
from feeder.intake.wire import parse
from feeder.model import Article, Rejection

# What feeder's pages list and its feeds carry (config.toml's max_items).
PAGE_ENTRIES = 30
FEED_ENTRIES = 50

HUGO_CONFIG = """\
baseURL = "https://news.example.org/"
languageCode = "ru"
title = "Turan: новости"
uglyURLs = true
# Only what feeder publishes: no section or taxonomy lists, sitemap, robots.txt, 404.
disableKinds = ["section", "taxonomy", "sitemap", "robotsTXT", "404"]
# Hugo warns that "taxonomy" meant terms before 0.73; here it means the list of categories.
ignoreErrors = ["error-disable-taxonomy"]

[taxonomies]
category = "categories"

[outputs]
home = ["HTML", "RSS"]
term = ["HTML", "RSS"]
page = ["HTML"]
"""

_HEAD = """\
<!DOCTYPE html>
<html lang="ru">
<head>
<meta charset="utf-8">
<title>{{ .Title }} — {{ site.Title }}</title>
<link rel="canonical" href="{{ .Permalink }}">
{{ with .OutputFormats.Get "rss" }}<link rel="alternate" type="application/rss+xml" \
href="{{ .Permalink }}">{{ else }}{{ range .GetTerms "categories" }}\
{{ with .OutputFormats.Get "rss" }}<link rel="alternate" type="application/rss+xml" \
href="{{ .Permalink }}">{{ end }}{{ end }}{{ end }}
</head>
<body>
"""

_LIST = """\
<ul>
{{ range first PAGE_ENTRIES $pages }}<li><a href="{{ .Permalink }}">{{ .Title }}</a> \
<time datetime="{{ .Date.Format "2006-01-02T15:04:05Z07:00" }}">{{ .Date.Format "02.01.2006 15:04" }}</time></li>
{{ end }}</ul>
</body>
</html>
""".replace("PAGE_ENTRIES", str(PAGE_ENTRIES))

LAYOUTS = {
    "_default/single.html": _HEAD
    + """\
<article>
<h1>{{ .Title }}</h1>
<p><time datetime="{{ .Date.Format "2006-01-02T15:04:05Z07:00" }}">{{ .Date.Format "02.01.2006 15:04" }}</time>, \
{{ .Params.place }}
{{ range .GetTerms "categories" }} · <a href="{{ .Permalink }}">{{ .LinkTitle }}</a>{{ end }}</p>
{{ .Content }}
</article>
</body>
</html>
""",
    "index.html": _HEAD + "<h1>{{ site.Title }}</h1>\n{{ $pages := site.RegularPages }}\n" + _LIST,
    "_default/term.html": _HEAD + "<h1>{{ .Title }}</h1>\n{{ $pages := .Pages }}\n" + _LIST,
    "_default/rss.xml": """\
{{- $pages := .Pages -}}
{{- if .IsHome }}{{ $pages = site.RegularPages }}{{ end -}}
{{- printf "<?xml version=\\"1.0\\" encoding=\\"utf-8\\"?>" | safeHTML }}
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" \
xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel>
<title>{{ site.Title }}{{ if not .IsHome }} — {{ .Title }}{{ end }}</title>
<link>{{ .Permalink }}</link>
<description>{{ site.Title }}</description>
<language>ru</language>
{{ with .OutputFormats.Get "rss" }}<atom:link href="{{ .Permalink }}" rel="self" \
type="application/rss+xml"/>{{ end }}
{{ range first FEED_ENTRIES $pages }}<item>
<title>{{ .Title }}</title>
<link>{{ .Permalink }}</link>
<guid>{{ .Permalink }}</guid>
<pubDate>{{ .Date.Format "Mon, 02 Jan 2006 15:04:05 -0700" | safeHTML }}</pubDate>
<description>{{ .Summary | html }}</description>
<content:encoded>{{ .Content | html }}</content:encoded>
</item>
{{ end }}</channel>
</rss>
""".replace("FEED_ENTRIES", str(FEED_ENTRIES)),
}

# Characters that would make Markdown of a wire paragraph; the agency's text is plain.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#|!])")
T = TypeVar("T")
HEADER = ("tool", "N", "wall s", "work s", "CPU s", "peak RSS MB", "files written", "MB written")


class HugoMissing(click.ClickException):
    """Debian's hugo package is not installed; the benchmark installs nothing itself."""


@dataclass(frozen=True)
class Row:
    """One line of the table; `work_seconds` only for feeder, which records its own."""

    tool: str
    size: int
    wall_seconds: float
    work_seconds: float | None
    cpu_seconds: float
    peak_rss_mb: float
    files: int
    bytes_written: int


@click.command()
@click.option(
    "--size",
    default=5_000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Stories in the corpus (100 a day, about 3 KB each); 5,000 is the product owner's figure.",
)
@click.option(
    "--repeat",
    default=3,
    show_default=True,
    type=click.IntRange(min=1),
    help="Hugo builds, each into an empty folder; the table shows the median. feeder's bulk "
    "ingest runs once: a second one would find nothing new.",
)
@click.option("--seed", default=2023, show_default=True, help="Seed of the article corpus.")
@click.option(
    "--workdir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path(tempfile.gettempdir()),
    show_default=True,
    help="Where the corpus, the Hugo site and feeder's archive are written (about 5 GB at 100,000).",
)
@click.option("--keep", is_flag=True, help="Keep the corpus, the site and the archive afterwards.")
def main(size: int, repeat: int, seed: int, workdir: Path, keep: bool) -> None:
    """Compare feeder's bulk ingest with Hugo's build of the same corpus."""
    hugo = shutil.which("hugo")
    if hugo is None:
        raise HugoMissing("hugo is not installed: run `apt-get install hugo` (Debian's 0.111.3)")
    version = subprocess.run([hugo, "version"], capture_output=True, text=True, check=True)
    started = time.monotonic()
    with benchmark_folder(workdir, "feeder-hugo-", keep) as root:
        writer = CorpusWriter(seed)
        corpus = root / "corpus"
        writer.write(corpus, range(size))
        names = [writer.name(number) for number in range(size)]
        site = write_site(root / "site", corpus, names)
        rows = [feeder_bulk_ingest(Workspace.create(root / "archive", corpus, names), size)]
        click.echo(f"feeder, {size:,}: {rows[0].wall_seconds:.3f} s", err=True)
        rows.append(hugo_build(hugo, site, size, repeat))
    click.echo(format_table(rows))
    click.echo()
    feeder_row, hugo_row = rows
    work = feeder_row.work_seconds or 0.0
    click.echo(
        f"feeder's work is {work / hugo_row.wall_seconds:.1f}x Hugo's build, "
        f"its wall time {feeder_row.wall_seconds / hugo_row.wall_seconds:.1f}x."
    )
    click.echo(f"Machine: {describe_machine()}")
    click.echo(f"Hugo: {version.stdout.strip()}")
    click.echo(f"Command: python -m bench.hugo {' '.join(sys.argv[1:])}".rstrip())
    click.echo(f"Took {time.monotonic() - started:.0f} s")


def write_site(site: Path, corpus: Path, names: Sequence[str]) -> Path:
    """The Hugo site of the corpus: the config, the layouts and one Markdown file per story."""
    for name, text in {"config.toml": HUGO_CONFIG, **_layout_files()}.items():
        path = site / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    content = site / "content" / "articles"
    content.mkdir(parents=True)
    for name in names:
        source = corpus / name
        article = parse(source.read_bytes(), name)
        if isinstance(article, Rejection):
            raise CommandFailed(f"feeder rejects the corpus's {name}: {article.message}")
        mtime = datetime.fromtimestamp(source.stat().st_mtime, UTC)
        published = publish_time(article.date, mtime, AGENCY_ZONE)
        (content / f"{article.story_id}.md").write_text(markdown(article, published))
    return site


def _layout_files() -> dict[str, str]:
    return {f"layouts/{name}": text for name, text in LAYOUTS.items()}


def markdown(article: Article, published: datetime) -> str:
    """TOML front matter (a JSON string is a valid TOML basic string) and the paragraphs."""
    front = [
        "+++",
        f"title = {json.dumps(article.title, ensure_ascii=False)}",
        f"date = {published.isoformat()}",
        f"categories = [{json.dumps(article.category, ensure_ascii=False)}]",
        f"place = {json.dumps(article.place, ensure_ascii=False)}",
        "+++",
    ]
    body = [_MARKDOWN_SPECIAL.sub(r"\\\1", paragraph) for paragraph in article.paragraphs]
    return "\n".join(front) + "\n\n" + "\n\n".join(body) + "\n"


def feeder_bulk_ingest(workspace: Workspace, size: int) -> Row:
    """One run: a second ingest of the same inbox would find nothing new."""
    for path in workspace.inbox.iterdir():
        path.read_bytes()  # a warm page cache, as for Hugo's content just written
    run, cpu = _with_cpu(lambda: workspace.feeder("ingest"))
    if run.counts.get("new") != size:
        raise CommandFailed(f"expected {size} new stories, the run reported {run.counts}")
    files, _ = _files_and_bytes(workspace.output)
    return Row(
        "feeder ingest",
        size,
        run.wall_seconds,
        run.work_seconds,
        cpu,
        run.peak_rss_mb,
        files,
        run.bytes_rewritten,
    )


def hugo_build(hugo: str, site: Path, size: int, repeat: int) -> Row:
    """`hugo --quiet --destination` into an empty folder each time, through bench/launch.py
    so the peak RSS is Hugo's own and not the benchmark's carried across exec."""
    log = site.parent / "hugo.log"
    runs = []
    for number in range(repeat):
        destination = site.parent / f"hugo-public-{number}"
        command = [hugo, "--quiet", "--source", str(site), "--destination", str(destination)]
        os.sync()  # the site's files are not flushed on Hugo's clock
        report, cpu = _with_cpu(functools.partial(launch, command, log))
        click.echo(f"hugo, {size:,}, run {number + 1}: {report['wall_seconds']:.3f} s", err=True)
        files, written = _files_and_bytes(destination)
        runs.append(
            Row(
                "hugo",
                size,
                report["wall_seconds"],
                None,
                cpu,
                report["peak_rss_mb"],
                files,
                written,
            )
        )
        if number:
            shutil.rmtree(destination)  # the first build is kept to look at
    median = statistics.median
    return Row(
        "hugo",
        size,
        median(run.wall_seconds for run in runs),
        None,
        median(run.cpu_seconds for run in runs),
        max(run.peak_rss_mb for run in runs),
        runs[0].files,
        runs[0].bytes_written,
    )


def format_table(rows: Sequence[Row]) -> str:
    lines = [_line(HEADER), _line(["---"] * len(HEADER))]
    lines += [
        _line(
            [
                row.tool,
                f"{row.size:,}",
                f"{row.wall_seconds:.3f}",
                f"{row.work_seconds:.3f}" if row.work_seconds is not None else "",
                f"{row.cpu_seconds:.2f}",
                f"{row.peak_rss_mb:.0f}",
                f"{row.files:,}",
                f"{row.bytes_written / 1e6:.1f}",
            ]
        )
        for row in rows
    ]
    return "\n".join(lines)


def _with_cpu(run: Callable[[], T]) -> tuple[T, float]:
    """The result and the user + system seconds of the children waited for meanwhile."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = run()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return result, cpu


def _files_and_bytes(folder: Path) -> tuple[int, int]:
    files = written = 0
    for directory, _folders, names in os.walk(folder):
        for name in names:
            files += 1
            written += os.stat(os.path.join(directory, name)).st_size
    return files, written


def _line(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


if __name__ == "__main__":
    main()
