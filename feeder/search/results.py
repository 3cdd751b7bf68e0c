"""A search request answered from the store: the stories of one page, as plain data.

The query is parsed (`feeder.search.query`), the store's index is asked for a
page of story ids within the time budget, and the stories are read as
`articles` holds them now; the renderers (`feeder.site.pages.Site.search`,
`feeder.search.feed`) take what this returns and never the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta

from feeder.config import Config
from feeder.model import Category, Entry
from feeder.search import problems
from feeder.search.problems import SearchProblem
from feeder.search.query import Query, parse
from feeder.search.request import MAX_RESULTS, PAGE_SIZE, SearchRequest
from feeder.search.snippets import Piece, marked, snippet
from feeder.store import Hits, SearchTooCostly, Store
from feeder.store.search import category_token, rowid_range


@dataclass(frozen=True)
class Result:
    entry: Entry
    title: list[Piece]
    snippet: list[Piece]


@dataclass(frozen=True)
class Results:
    request: SearchRequest
    categories: list[Category]
    problems: list[SearchProblem] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)
    total: int = 0
    # False when no search was run: no query yet, or one that could not be searched.
    searched: bool = False

    @property
    def more(self) -> bool:
        """More results than are counted and shown (MAX_RESULTS)."""
        return self.total > MAX_RESULTS

    @property
    def pages(self) -> int:
        return -(-min(self.total, MAX_RESULTS) // PAGE_SIZE)


def search(
    config: Config,
    store: Store,
    request: SearchRequest,
    found: list[SearchProblem],
    limit: int = PAGE_SIZE,
    marks: bool = True,
) -> Results:
    """One page of results for `request`; `found` are the problems reading it had.
    `marks` False leaves each result's title and snippet empty, for a feed,
    which shows the stories whole."""
    categories = store.search_categories()
    if request.category and request.category not in {c.slug for c in categories}:
        found = [*found, SearchProblem(problems.UNKNOWN_CATEGORY)]
        request = replace(request, category="")
    empty = Results(request, categories, found)
    if not request.text:
        return empty
    try:
        query = parse(request.text)
        # The stories as the index had them: marks are placed by the index's stems.
        with store.snapshot():
            hits = store.search(
                query.match(category_token(request.category) if request.category else None),
                rowid_range(*_bounds(config, request)),
                request.by_rank,
                (request.page - 1) * limit,
                limit,
                config.search.time_budget_ms / 1000,
                MAX_RESULTS + 1,
            )
            entries = store.entries_by_story_ids(hits.story_ids)
    except SearchProblem as problem:
        return Results(request, categories, [*found, problem])
    except SearchTooCostly:
        return Results(request, categories, [*found, SearchProblem(problems.TOO_COSTLY)])
    return Results(
        request,
        categories,
        found,
        [_result(entry, hits, query) if marks else Result(entry, [], []) for entry in entries],
        hits.total,
        searched=True,
    )


def _result(entry: Entry, hits: Hits, query: Query) -> Result:
    title = marked(entry.title, hits.title_stems[entry.story_id], query)
    # The first line of the body's stems is the place's.
    return Result(
        entry, title, snippet(entry.paragraphs, hits.body_stems[entry.story_id][1:], query)
    )


def _bounds(config: Config, request: SearchRequest) -> tuple[datetime | None, datetime | None]:
    """The request's days, from the start of the first to the end of the last, local time."""
    zone = config.timezone
    start = datetime.combine(request.since, time(), zone) if request.since else None
    end = (
        datetime.combine(request.until + timedelta(days=1), time(), zone) if request.until else None
    )
    return start, end
