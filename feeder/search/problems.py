"""What a reader is told when a search cannot be done as asked: catalogue msgids
(`feeder/messages/*.po`), with `%(name)d` placeholders, each saying what to change."""

from __future__ import annotations

from feeder.errors import FeederError

TOO_LONG = "The query is too long: shorten it to %(limit)d characters or fewer."
TOO_MANY_WORDS = "The query has too many words: use %(limit)d or fewer."
ONLY_EXCLUDED = "Add a word to look for: a query of exclusions alone finds nothing."
NO_WORDS = "Type a word to look for: the query has no letters or digits."
SHORT_PREFIX = (
    "A word before * needs at least %(limit)d letters: a shorter start matches too many words."
)
NOT_UTF8 = (
    "The address holds bytes that are not UTF-8 text; they are shown as �. "
    "Type the query into the search box again."
)
BAD_DATE = "Dates are written as YYYY-MM-DD, such as 2023-09-21; the wrong one was left out."
UNKNOWN_CATEGORY = "There is no such category; the search covers every category."
TOO_DEEP = "Only the first %(limit)d results can be paged through: narrow the search to see more."
TOO_COSTLY = (
    "The search was stopped because it took too long. Use fewer words, a longer start "
    "before *, or narrow it by category or dates."
)


class SearchProblem(FeederError):
    """One of the messages above, with its values."""

    def __init__(self, message: str, **values: int) -> None:
        super().__init__(message % values)
        self.message = message
        self.values = values
