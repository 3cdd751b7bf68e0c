"""A real browser, Debian's headless Chromium, driven from the command line."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

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
# Chromium's switch for a browser without XSLT, as Chrome will be once it is removed.
WITHOUT_XSLT = "--disable-features=XSLT"
# Where screenshots are kept after the run, for a person to look at.
ARTIFACTS = Path(__file__).resolve().parent.parent / ".artifacts" / "browser"


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


def rendered_page(url: str, *flags: str) -> html.HtmlElement:
    """The document as the browser built it, after its scripts ran."""
    return html.fromstring(_chromium(url, *flags, "--virtual-time-budget=5000", "--dump-dom"))


def screenshot(url: str, name: str, width: int) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}-{width}.png"
    _chromium(url, f"--screenshot={path}", f"--window-size={width},1200")
    return path


# A same-origin page that opens `target` in a frame `width` pixels wide and writes
# what the browser built into its own DOM: the frame's serialised document and how
# wide its content is (wider than the frame means horizontal scrolling).
_PROBE = """<!DOCTYPE html>
<html><body>
<iframe id="frame" src="{target}" style="width: {width}px; height: 900px; border: 0"></iframe>
<script>
document.getElementById("frame").addEventListener("load", (event) => {{
  const framed = event.target.contentDocument;
  const width = document.createElement("p");
  width.id = "content-width";
  width.textContent = framed.documentElement.scrollWidth;
  const dom = document.createElement("textarea");
  dom.id = "framed-dom";
  dom.textContent = new XMLSerializer().serializeToString(framed);
  document.body.append(width, dom);
}});
</script>
</body></html>
"""


def framed_page(
    output_dir: Path, base_url: str, target: str, width: int, *flags: str
) -> tuple[html.HtmlElement, int]:
    """`target` (a path under `base_url`) as the browser built it in a frame `width`
    pixels wide, and the width of its content there."""
    probe = output_dir / f"probe-{width}.html"
    probe.write_text(_PROBE.format(target=base_url + target, width=width))
    try:
        dumped = rendered_page(base_url + probe.name, *flags)
    finally:
        probe.unlink()
    (content_width,) = dumped.xpath("//p[@id='content-width']/text()")
    (framed,) = dumped.xpath("//textarea[@id='framed-dom']")
    return html.fromstring(framed.text), int(content_width)
