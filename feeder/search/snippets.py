"""A result's headline and snippet, cut into plain pieces with the matches marked.

Pure. The pieces are text, never markup: the template escapes each and wraps
the marked ones in `<mark>`, so agency text and the reader's query can never
become markup. A word is marked when its stem is one the query looked for,
and a phrase when its words come in order (`Query.marks`), by the stems the
index holds for the text, so what is marked is what matched.
"""

from __future__ import annotations

from dataclasses import dataclass

from feeder.search.query import Query
from feeder.search.words import stemmed_spans
from feeder.visible import visible

# About two lines of a result; the snippet is cut at words.
SNIPPET_CHARS = 240
# Of which this much may come before the first match.
LEAD_IN_CHARS = 60
ELLIPSIS = "…"


@dataclass(frozen=True)
class Piece:
    text: str
    marked: bool


def marked(text: str, indexed: str, query: Query) -> list[Piece]:
    """All of `text`, its matches marked; `indexed`: its stems, as the index holds them."""
    text = visible(text)
    return _pieces(text, _marks(text, indexed, query), 0, len(text))


def snippet(paragraphs: tuple[str, ...], stemmed: list[str], query: Query) -> list[Piece]:
    """The paragraph with the most matches (the lead when none matches), cut to
    about SNIPPET_CHARS around its first match. `stemmed` holds each
    paragraph's stems as the index holds them (`Hits.body_stems`, the place
    dropped), so neither weighing the paragraphs nor marking one stems a word."""
    weights = [len(query.marks(line.split())) if query.may_match(line) else 0 for line in stemmed]
    chosen = weights.index(max(weights)) if paragraphs else 0
    best = visible(paragraphs[chosen]) if paragraphs else ""
    best_marks = _marks(best, stemmed[chosen] if paragraphs else "", query)
    start = max(best_marks[0][0] - LEAD_IN_CHARS, 0) if best_marks else 0
    if start:
        start = min(_word_start(best, start), best_marks[0][0])
    end = min(start + SNIPPET_CHARS, len(best))
    if end < len(best):
        end = _word_end(best, end)
    pieces = _pieces(best, best_marks, start, end)
    if start:
        pieces.insert(0, Piece(ELLIPSIS, False))
    if end < len(best):
        pieces.append(Piece(ELLIPSIS, False))
    return pieces


def _marks(text: str, indexed: str, query: Query) -> list[tuple[int, int]]:
    """(start, end) of each match in `text`: a word, or a phrase as a whole. The
    words are found only in a text whose stems may match: most headlines of a
    results page have no match."""
    if not query.may_match(indexed):
        return []
    positions, stemmed = stemmed_spans(text, indexed)
    return [(positions[first][0], positions[last][1]) for first, last in query.marks(stemmed)]


def _pieces(text: str, marks: list[tuple[int, int]], start: int, end: int) -> list[Piece]:
    pieces: list[Piece] = []
    at = start
    for mark_start, mark_end in marks:
        if mark_start < at or mark_end > end:
            continue
        if mark_start > at:
            pieces.append(Piece(text[at:mark_start], False))
        pieces.append(Piece(text[mark_start:mark_end], True))
        at = mark_end
    if at < end:
        pieces.append(Piece(text[at:end], False))
    return pieces


def _word_start(text: str, at: int) -> int:
    """The start of the word after the space at or after `at`."""
    space = text.find(" ", at)
    return space + 1 if 0 <= space < len(text) - 1 else at


def _word_end(text: str, at: int) -> int:
    """The end of the last word that ends at or before `at`."""
    space = text.rfind(" ", 0, at)
    return space if space > 0 else at
