"""Which article pages are withdrawal notices, answered 410 Gone by both servers.

Publishing marks each with an empty file of the same name in the hidden folder
`articles/.gone/` (never served itself). feeder's server and nginx (an `-f` test
in the block `feeder nginx-config` prints) both look for that file, so a
withdrawal is answered as gone from the next request, and nothing is reloaded.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from feeder.paths import article_path

ARTICLES_FOLDER = PurePosixPath(article_path("-")).parent
# Under the output directory, as every path here.
GONE_FOLDER = ARTICLES_FOLDER / ".gone"


def gone_marker(page_key: str) -> str:
    return (GONE_FOLDER / PurePosixPath(article_path(page_key)).name).as_posix()


def is_withdrawn(output_dir: str | Path, relative: str) -> bool:
    """Whether `relative` is a withdrawn story's page."""
    page = PurePosixPath(relative)
    if page.parent != ARTICLES_FOLDER:
        return False
    return os.path.isfile(os.path.join(output_dir, GONE_FOLDER, page.name))
