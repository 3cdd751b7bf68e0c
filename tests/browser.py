"""A real browser, Debian's headless Chromium, driven from the command line."""

from __future__ import annotations

import shutil
import subprocess
import tempfile

import pytest
from lxml import html

# What lets Chromium run as root in a container without a display, and keeps it
# from calling out anywhere but the page it is given.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium(url: str, *action: str) -> str:
    if shutil.which("chromium") is None:
        pytest.fail("chromium is not installed: run `bash scripts/test.sh`, which installs it")
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        result = subprocess.run(
            ["chromium", *FLAGS, f"--user-data-dir={profile}", *action, url],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    return result.stdout


def rendered_page(url: str) -> html.HtmlElement:
    """The document as the browser built it: for a feed, the page its XSLT stylesheet made."""
    return html.fromstring(_chromium(url, "--dump-dom"))
