"""`python -m bench.lighthouse`: Lighthouse's four scores on every kind of page.

Builds the demo output in a temp folder (the seed article of `seeds/` plus a
few stories of the benchmark corpus, so pages have neighbours and one story
can be withdrawn), serves it with `feeder serve` on a free loopback port,
and runs Lighthouse (pinned in package.json, installed with `npm ci` when
missing) headless in Debian's Chromium on the front page, a category page,
an article, a day page, a month calendar, the archive index, a search results
page and a withdrawal notice. Prints the table, each audit that kept a score below 100, the
machine and the command; docs/site.md records them.
"""

from __future__ import annotations

import http.client
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

import click

from bench.corpus import CorpusWriter
from bench.nginx import free_port
from bench.table import describe_machine

HERE = Path(__file__).resolve().parent
SEEDS = HERE.parent.parent / "seeds"
LIGHTHOUSE = HERE / "node_modules" / ".bin" / "lighthouse"
CATEGORIES = ["performance", "accessibility", "best-practices", "seo"]
# tests/browser.py's flags: Chromium as root in a container, calling out nowhere.
CHROME_FLAGS = (
    "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
    "--disable-background-networking --disable-component-update --disable-sync"
)
CORPUS_STORIES = 12
CONFIG = """\
inbox = "inbox"
database = "var/feeder.db"
output_dir = "public"
base_url = "http://127.0.0.1:{port}/"
site_title = "Turan: новости"
id_prefix = "tag:turan.az,2023:feeder"
settle_seconds = 0

[server]
port = {port}
access_log = false
"""


def install() -> None:
    """The locked Lighthouse, unless node_modules already has it."""
    if not LIGHTHOUSE.exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True)


def build(work: Path, port: int) -> dict[str, str]:
    """The demo output, and the path of each kind of page in it."""
    inbox = work / "inbox"
    inbox.mkdir()
    for seed in SEEDS.glob("*.txt"):
        shutil.copy2(seed, inbox)
    corpus = CorpusWriter()
    corpus.write(inbox, range(CORPUS_STORIES))
    config = work / "config.toml"
    config.write_text(CONFIG.format(port=port))
    feeder = [sys.executable, "-m", "feeder", "--config", str(config), "--log-level", "warning"]
    subprocess.run([*feeder, "ingest"], check=True)
    withdrawn = corpus.name(0).removesuffix(".txt")
    subprocess.run(
        [*feeder, "withdraw", withdrawn, "--reason", "demo", "--by", "bench"], check=True
    )
    output = work / "public"
    seed = next(SEEDS.glob("*.txt")).stem

    def first(pattern: str) -> str:
        return sorted(output.glob(pattern))[-1].relative_to(output).as_posix()

    return {
        "front": "",
        "category": first("categories/*.html"),
        "article": f"articles/{seed}.html",
        "day page": first("archive/all/????-??-??.html"),
        "month calendar": first("archive/all/????-??.html"),
        "archive index": "archive/all/index.html",
        "search results": "search?q=" + quote("переговоры"),
        GONE: f"articles/{withdrawn}.html",
    }


# The notice is answered 410 Gone on purpose (search engines must drop the story),
# and Lighthouse stops at a 4xx status unless told to go on.
GONE = "withdrawn notice"


def audit(url: str, report: Path, gone: bool) -> dict[str, object]:
    subprocess.run(
        [
            str(LIGHTHOUSE),
            url,
            "--chrome-path=/usr/bin/chromium",
            f"--chrome-flags={CHROME_FLAGS}",
            f"--only-categories={','.join(CATEGORIES)}",
            "--output=json",
            f"--output-path={report}",
            "--quiet",
            *(["--ignore-status-code"] if gone else []),
        ],
        check=True,
    )
    loaded: dict[str, object] = json.loads(report.read_text())
    return loaded


def _below_100(result: dict[str, object]) -> list[str]:
    """Each scored audit of the four categories short of a full score, by id and title."""
    audits: dict[str, dict[str, object]] = result["audits"]  # type: ignore[assignment]
    categories: dict[str, dict[str, object]] = result["categories"]  # type: ignore[assignment]
    weighted = {
        ref["id"]
        for category in categories.values()
        for ref in category["auditRefs"]  # type: ignore[attr-defined]
        if ref["weight"]
    }
    return [
        f"{name}: {audits[name]['title']}"
        for name in sorted(weighted)
        if audits[name]["score"] is not None and audits[name]["score"] < 1  # type: ignore[operator]
    ]


def _wait_for_server(url: str, server: subprocess.Popen[bytes]) -> None:
    address = urlsplit(url)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise click.ClickException("feeder serve exited")
        try:
            connection = http.client.HTTPConnection(address.hostname or "", address.port)
            connection.request("GET", "/")
            connection.getresponse().read()
            connection.close()
            return
        except OSError:
            time.sleep(0.1)
    raise click.ClickException(f"feeder serve did not answer at {url}")


@click.command()
@click.option("--keep", is_flag=True, help="Keep the demo output and the JSON reports.")
def main(keep: bool) -> None:
    """Lighthouse scores of every kind of page served by `feeder serve` (docs/site.md)."""
    install()
    work = Path(tempfile.mkdtemp(prefix="feeder-lighthouse-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    rows, notes = [], []
    try:
        pages = build(work, port)
        server = subprocess.Popen(
            [sys.executable, "-m", "feeder", "--config", str(work / "config.toml"), "serve"],
            stdout=subprocess.DEVNULL,
        )
        try:
            _wait_for_server(base, server)
            for kind, path in pages.items():
                click.echo(f"{kind}: {base}{path}", err=True)
                result = audit(base + path, work / f"{kind.replace(' ', '-')}.json", kind == GONE)
                categories: dict[str, dict[str, float]] = result["categories"]  # type: ignore[assignment]
                rows.append(
                    [kind, *(round(categories[name]["score"] * 100) for name in CATEGORIES)]
                )
                notes += [f"{kind}: {line}" for line in _below_100(result)]
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=20)
    finally:
        if keep:
            click.echo(f"kept {work}", err=True)
        else:
            shutil.rmtree(work)
    click.echo("| page | performance | accessibility | best practices | SEO |")
    click.echo("|---|---|---|---|---|")
    for row in rows:
        click.echo("| " + " | ".join(str(cell) for cell in row) + " |")
    click.echo()
    for note in notes:
        click.echo(f"below 100: {note}")
    click.echo(f"Machine: {describe_machine()}")
    click.echo(f"Command: python -m bench.lighthouse {' '.join(sys.argv[1:])}".rstrip())


if __name__ == "__main__":
    main()
