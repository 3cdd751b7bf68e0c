"""The pictures pages point to: the favicon, and the default link-preview image.

The wire carries no pictures, yet a browser asks every site for `/favicon.ico`
(a 404 otherwise, logged in its console) and a link preview (Open Graph,
Twitter card) shows one image per card. Both ship with feeder
(`feeder/site/assets`); publishing writes them like any file, so they are
replaced only when an upgrade changes their bytes.
"""

from __future__ import annotations

import functools
from importlib.resources import files

from feeder.config import DEFAULT_OG_IMAGE, Config
from feeder.paths import FAVICON


@functools.cache
def _bundled(name: str) -> bytes:
    return (files("feeder.site") / "assets" / name).read_bytes()


def assets(config: Config) -> list[tuple[str, bytes]]:
    """(path under output_dir, bytes); the preview image only where `og_image` is
    the default, since any other is the operator's own file or URL."""
    written = [(FAVICON, _bundled("favicon.ico"))]
    if config.og_image == DEFAULT_OG_IMAGE:
        written.append((DEFAULT_OG_IMAGE, _bundled("og-image.png")))
    return written
