"""A search request's parameters, read from the raw query string.

Pure. Nothing a reader can put in the address is an error page: bytes that
are not UTF-8, control characters, a date or page that makes no sense each
become a problem the results page names, and the search goes on with what
could be read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from urllib.parse import parse_qsl, urlencode

from feeder.search import problems
from feeder.search.problems import SearchProblem
from feeder.visible import INVISIBLE

# Results on a page; the feeds hold as many as the site's feeds (`max_items`).
PAGE_SIZE = 20
# Deeper pages read and skip every result before them.
MAX_PAGE = 50
# So no more results than this are shown, nor counted: past it a page says "more than".
MAX_RESULTS = MAX_PAGE * PAGE_SIZE
# The query text loses these before it is searched or shown: C0 and C1 controls,
# and the invisible characters no output shows (`feeder.visible`).
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class SearchRequest:
    text: str = ""
    # A category's slug; "" for every category.
    category: str = ""
    since: date | None = None
    until: date | None = None
    by_rank: bool = False
    page: int = 1

    def query_string(self, **changes: object) -> str:
        """The parameters of this request (with `changes`), for links; defaults left out."""
        request = replace(self, **changes)  # type: ignore[arg-type]
        parameters = {
            "q": request.text,
            "category": request.category,
            "from": request.since.isoformat() if request.since else "",
            "to": request.until.isoformat() if request.until else "",
            "sort": "rank" if request.by_rank else "",
            "page": str(request.page) if request.page > 1 else "",
        }
        return urlencode({key: value for key, value in parameters.items() if value})


def read_request(raw: bytes) -> tuple[SearchRequest, list[SearchProblem]]:
    """The request, and what in it could not be used."""
    found: list[SearchProblem] = []
    text = raw.decode("latin-1")
    try:
        pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        found.append(SearchProblem(problems.NOT_UTF8))
        pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="replace")
    values = dict(pairs)  # the last of a repeated parameter
    query = " ".join(INVISIBLE.sub("", _CONTROLS.sub(" ", values.get("q", ""))).split())
    since, until = _day(values.get("from", ""), found), _day(values.get("to", ""), found)
    page = values.get("page", "1")
    number = int(page) if page.isascii() and page.isdigit() and len(page) < 6 else 1
    if number > MAX_PAGE:
        found.append(SearchProblem(problems.TOO_DEEP, limit=MAX_RESULTS))
        number = MAX_PAGE
    request = SearchRequest(
        text=query,
        category=values.get("category", ""),
        since=since,
        until=until,
        by_rank=values.get("sort") == "rank",
        page=max(number, 1),
    )
    return request, found


def _day(value: str, found: list[SearchProblem]) -> date | None:
    if not value:
        return None
    if _DAY.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    if not any(problem.message == problems.BAD_DATE for problem in found):
        found.append(SearchProblem(problems.BAD_DATE))
    return None
