"""A real browser, Debian's headless Chromium, driven from the command line."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
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
# The document once its scripts ran (in virtual time, so no test waits on the clock).
DUMP = ["--virtual-time-budget=5000", "--dump-dom"]
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


def console_messages(url: str) -> list[str]:
    """What the page wrote to the browser's console (errors, warnings, logs) while it
    loaded, as Chromium logs each: `"text", source: url (line)`."""
    if shutil.which("chromium") is None:
        pytest.fail("chromium is not installed: run `bash scripts/test.sh`, which installs it")
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        logging = ["--enable-logging=stderr", "--v=0"]
        result = subprocess.run(
            ["chromium", *FLAGS, f"--user-data-dir={profile}", *logging, *DUMP, url],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    return [line.split("] ", 1)[1] for line in result.stderr.splitlines() if ":CONSOLE" in line]


def rendered_page(url: str, *flags: str) -> html.HtmlElement:
    """The document as the browser built it, after its scripts ran."""
    return html.fromstring(_chromium(url, *flags, *DUMP))


def screenshot(url: str, name: str, width: int) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}-{width}.png"
    _chromium(url, f"--screenshot={path}", f"--window-size={width},1200")
    return path


# A same-origin page that opens `target` in a frame `width` pixels wide and writes
# what the browser built into its own DOM: the frame's serialised document, how
# wide its content is (wider than the frame means horizontal scrolling), and each
# visible text whose contrast with what is behind it is below WCAG 2.1 AA (1.4.3:
# 4.5:1, or 3:1 for large text, 24 px or bold 18.66 px), from computed styles.
_PROBE = """<!DOCTYPE html>
<html><body>
<iframe id="frame" src="{target}" style="width: {width}px; height: 900px; border: 0"></iframe>
<script>
function channels(color) {{
  return color.match(/[\\d.]+/g).map(Number);
}}
function luminance(color) {{
  const [r, g, b] = channels(color).slice(0, 3).map((value) => {{
    value /= 255;
    return value <= 0.03928 ? value / 12.92 : Math.pow((value + 0.055) / 1.055, 2.4);
  }});
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}}
function background(element, view) {{
  for (; element; element = element.parentElement) {{
    const color = view.getComputedStyle(element).backgroundColor;
    const alpha = channels(color)[3];
    if (alpha === undefined || alpha > 0) return color;
  }}
  return "rgb(255, 255, 255)";
}}
function lowContrast(framed) {{
  const view = framed.defaultView;
  const walker = framed.createTreeWalker(framed.body, NodeFilter.SHOW_TEXT);
  const failures = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {{
    const element = node.parentElement;
    const style = view.getComputedStyle(element);
    if (!node.textContent.trim() || !element.getClientRects().length) continue;
    if (style.visibility !== "visible") continue;
    const [fore, back] = [luminance(style.color), luminance(background(element, view))];
    const ratio = (Math.max(fore, back) + 0.05) / (Math.min(fore, back) + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) {{
      failures.push(`${{node.textContent.trim().slice(0, 40)}}: ${{ratio.toFixed(2)}}`);
    }}
  }}
  return failures;
}}
document.getElementById("frame").addEventListener("load", (event) => {{
  const framed = event.target.contentDocument;
  const width = document.createElement("p");
  width.id = "content-width";
  width.textContent = framed.documentElement.scrollWidth;
  const dom = document.createElement("textarea");
  dom.id = "framed-dom";
  dom.textContent = new XMLSerializer().serializeToString(framed);
  const contrast = document.createElement("textarea");
  contrast.id = "low-contrast";
  contrast.textContent = JSON.stringify(lowContrast(framed));
  document.body.append(width, dom, contrast);
}});
</script>
</body></html>
"""


@dataclass(frozen=True)
class Framed:
    page: html.HtmlElement
    content_width: int
    """Wider than the frame means horizontal scrolling."""
    low_contrast: list[str]
    """Each visible text below WCAG AA contrast, with its ratio."""


def framed_page(output_dir: Path, base_url: str, target: str, width: int, *flags: str) -> Framed:
    """`target` (a path under `base_url`) as the browser built it in a frame `width`
    pixels wide."""
    probe = output_dir / f"probe-{width}.html"
    probe.write_text(_PROBE.format(target=base_url + target, width=width))
    try:
        dumped = rendered_page(base_url + probe.name, *flags)
    finally:
        probe.unlink()
    (content_width,) = dumped.xpath("//p[@id='content-width']/text()")
    (framed,) = dumped.xpath("//textarea[@id='framed-dom']")
    (contrast,) = dumped.xpath("//textarea[@id='low-contrast']")
    return Framed(html.fromstring(framed.text), int(content_width), json.loads(contrast.text))
