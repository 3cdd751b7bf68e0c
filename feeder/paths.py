"""Where the site's pages live under the output directory (and the base URL).

Feeds link to their category's page, the server maps a feed to the page that
shows it, and the site renders them: one place says where each page is.
"""

from __future__ import annotations

from feeder.slugs import ALL_NEWS

FRONT_PAGE = "index.html"
# Where browsers look for a site's icon without being told (and pages tell them too).
FAVICON = "favicon.ico"


def category_page_path(slug: str) -> str:
    """All news has no category page of its own: the front page is it."""
    return FRONT_PAGE if slug == ALL_NEWS else f"categories/{slug}.html"


def month_page_path(slug: str, month: str) -> str:
    """`month` is YYYY-MM, a calendar month in the configured time zone."""
    return f"archive/{slug}/{month}.html"


def day_page_path(slug: str, day: str) -> str:
    """`day` is YYYY-MM-DD, a calendar day in the configured time zone."""
    return f"archive/{slug}/{day}.html"


def archive_index_path(slug: str) -> str:
    """Every month of `slug` that has stories, by year."""
    return f"archive/{slug}/index.html"


def article_path(page_key: str) -> str:
    return f"articles/{page_key}.html"


# Publishing writes a gzip copy of each polled file beside it, with the source's mtime.
GZIP_SUFFIX = ".gz"
